package org.orpo4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.runtime.DjlRuntime;

/** Every way a file or index can be broken gives one line naming the file (and the tensor where there is one). */
class CorruptCheckpointTest {

    @TempDir Path dir;

    private Path raw(String name, long headerLength, String json, int dataBytes) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(h);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private Path raw(String name, String json, int dataBytes) throws IOException {
        return raw(name, json.getBytes(StandardCharsets.UTF_8).length, json, dataBytes);
    }

    private static String message(Class<? extends Throwable> type, Executable action) {
        String m = assertThrows(type, action).getMessage();
        assertFalse(m.contains("\n"), "one line: " + m);
        return m;
    }

    private static String openFails(Path p) {
        return message(SafetensorsException.class, () -> SafetensorsFile.open(p).close());
    }

    private static final String A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    @Test
    void tooShortForTheLength() throws IOException {
        Path p = dir.resolve("tiny.safetensors");
        Files.write(p, new byte[5]);
        assertEquals(p + ": truncated: 5 bytes, too short for the 8-byte header length", openFails(p));
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        Path p = raw("x.safetensors", 1000, "{" + A + "}", 8);
        long size = Files.size(p);
        assertEquals(p + ": header length 1000 exceeds the file size " + size
                + " (truncated or not a safetensors file)", openFails(p));
        Path q = raw("y.safetensors", -1, "{}", 0); // u64 max
        assertTrue(openFails(q).startsWith(q + ": header length 18446744073709551615 exceeds the file size"));
    }

    @Test
    void badJson() throws IOException {
        Path p = raw("x.safetensors", "{\"a\":{\"dtype\":", 0);
        assertTrue(openFails(p).startsWith(p + ": header is not valid JSON: "));
        Path q = raw("y.safetensors", "[1,2]", 0);
        assertEquals(q + ": header is not a JSON object", openFails(q));
        Path d = raw("dup.safetensors", "{" + A + "," + A + "}", 8);
        assertTrue(openFails(d).startsWith(d + ": header is not valid JSON: Duplicate field 'a'"), openFails(d));
        Path m = raw("meta.safetensors", "{\"__metadata__\":{\"format\":1}}", 0);
        assertEquals(m + ": __metadata__ value 'format' is not a string", openFails(m));
    }

    @Test
    void malformedEntriesNameTheTensor() throws IOException {
        Path p = raw("a.safetensors", "{\"w\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        assertEquals(p + ": tensor 'w': unknown dtype 'Q7'", openFails(p));
        Path q = raw("b.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8);
        assertEquals(q + ": tensor 'w': missing or malformed 'shape'", openFails(q));
        Path r = raw("c.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8);
        assertEquals(r + ": tensor 'w': missing or malformed 'data_offsets' (expected 2 integers)", openFails(r));
        Path s = raw("d.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8);
        assertEquals(s + ": tensor 'w': 'shape' holds -2, not a non-negative integer", openFails(s));
        Path t = raw("e.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.5]}}", 8);
        assertEquals(t + ": tensor 'w': 'data_offsets' holds 8.5, not a non-negative integer", openFails(t));
        Path u = raw("f.safetensors", "{\"w\":[]}", 0);
        assertEquals(u + ": tensor 'w': entry is not a JSON object", openFails(u));
    }

    @Test
    void truncatedDataNamesTheTensorCut() throws IOException {
        Path p = raw("x.safetensors", "{" + A + ",\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[8,14]}}",
                12);
        assertEquals(p + ": tensor 'b': data_offsets [8, 14] out of range (data section is 12 bytes)", openFails(p));
    }

    @Test
    void shapeTimesDtypeMustMatchTheByteLength() throws IOException {
        Path p = raw("x.safetensors", "{\"w\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", 8);
        assertEquals(p + ": tensor 'w': shape [2, 3] x F16 is 12 bytes but data_offsets span 8", openFails(p));
    }

    @Test
    void offsetsMustTileTheDataSection() throws IOException {
        Path overlap = raw("o.safetensors",
                "{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertEquals(overlap + ": tensor 'b': data_offsets begin 4 overlaps tensor 'a' (expected 8)",
                openFails(overlap));
        Path gap = raw("g.safetensors",
                "{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16);
        assertEquals(gap + ": tensor 'b': data_offsets begin 12 leaves a gap after tensor 'a' (expected 8)",
                openFails(gap));
        Path late = raw("l.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        assertEquals(late + ": tensor 'a': data_offsets begin 4 leaves a gap after the data start (expected 0)",
                openFails(late));
        Path trailing = raw("t.safetensors", "{" + A + "}", 12);
        assertEquals(trailing + ": 4 trailing bytes after the last tensor 'a' (data section is 12 bytes)",
                openFails(trailing));
    }

    @Test
    void missingFileAndUnknownTensor() throws IOException {
        Path absent = dir.resolve("absent.safetensors");
        assertEquals(absent + ": no such file", openFails(absent));
        Path p = raw("x.safetensors", "{" + A + "}", 8);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(p + ": no tensor 'nope'", message(IllegalArgumentException.class, () -> f.info("nope")));
        }
    }

    @Test
    void unsupportedDtypesAreRefusedOnLoadNamingTheTensor() throws IOException {
        Path p = raw("x.safetensors", "{\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
        try (SafetensorsFile f = SafetensorsFile.open(p); NDManager m = DjlRuntime.newManager(Device.cpu())) {
            assertEquals(DType.F64, f.info("d").dtype()); // the header itself is fine
            assertEquals(p + ": tensor 'd': dtype F64 is not supported (supported: F32, F16, BF16, I64, I32, U8)",
                    message(SafetensorsException.class, () -> f.load("d", m)));
            assertTrue(message(SafetensorsException.class, () -> f.readFloats("d"))
                    .startsWith(p + ": tensor 'd': dtype F64 is not a floating-point type"));
        }
    }

    @Test
    void fileTruncatedAfterWritingIsCaught() throws IOException {
        try (NDManager m = DjlRuntime.newManager(Device.cpu())) {
            Map<String, NDArray> t = new LinkedHashMap<>();
            t.put("w1", m.create(new float[] {1, 2, 3, 4}));
            t.put("w2", m.create(new float[] {5, 6}));
            CheckpointWriter.write(dir, t, SaveOptions.defaults());
        }
        Path file = dir.resolve("model.safetensors");
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE)) {
            c.truncate(c.size() - 1);
        }
        String msg = message(SafetensorsException.class, () -> CheckpointReader.open(dir).close());
        assertTrue(msg.startsWith(file + ": tensor 'w2': data_offsets [16, 24] out of range"), msg);
    }

    private Path shard(String name, String tensor) throws IOException {
        return raw(name, "{\"" + tensor + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    }

    @Test
    void brokenIndexes() throws IOException {
        shard("model-00001-of-00002.safetensors", "a");
        Path index = dir.resolve(CheckpointReader.INDEX_FILE);
        Files.writeString(index, "{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                + "\"b\":\"model-00002-of-00002.safetensors\"}}");
        assertEquals(index + ": shard 'model-00002-of-00002.safetensors' (holding tensor 'b') is missing",
                message(SafetensorsException.class, () -> CheckpointReader.open(dir).close()));

        shard("model-00002-of-00002.safetensors", "c");
        assertEquals(index + ": tensor 'b' is mapped to 'model-00002-of-00002.safetensors' but that shard has no "
                + "such tensor", message(SafetensorsException.class, () -> CheckpointReader.open(dir).close()));

        Files.writeString(index, "{\"metadata\":{}}");
        assertEquals(index + ": missing 'weight_map' object",
                message(SafetensorsException.class, () -> CheckpointReader.open(dir).close()));
        Files.writeString(index, "{\"weight_map\":");
        assertTrue(message(SafetensorsException.class, () -> CheckpointReader.open(dir).close())
                .startsWith(index + ": not valid JSON"));

        Files.writeString(index, "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                + "\"c\":\"model-00002-of-00002.safetensors\"}}");
        try (CheckpointReader r = CheckpointReader.open(dir)) {
            assertEquals(java.util.List.of("a", "c"), java.util.List.copyOf(r.names()));
            assertEquals(index + ": no tensor 'zz'", message(IllegalArgumentException.class, () -> r.info("zz")));
        }
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertEquals(empty + ": no model.safetensors or model.safetensors.index.json",
                message(SafetensorsException.class, () -> CheckpointReader.open(empty).close()));
    }

    @Test
    void corruptShardIsNamedThroughTheIndex() throws IOException {
        Path bad = raw("model-00001-of-00001.safetensors", 1000, "{}", 0);
        Files.writeString(dir.resolve(CheckpointReader.INDEX_FILE),
                "{\"weight_map\":{\"a\":\"model-00001-of-00001.safetensors\"}}");
        assertTrue(message(SafetensorsException.class, () -> CheckpointReader.open(dir).close())
                .startsWith(bad + ": header length 1000 exceeds the file size"));
    }

    @Test
    void writerRefusesTypesItCannotStore() {
        try (NDManager m = DjlRuntime.newManager(Device.cpu())) {
            Map<String, NDArray> t = Map.of("flags", m.create(new boolean[] {true}));
            assertEquals(dir + ": tensor 'flags': cannot save an NDArray of type boolean"
                    + " (FLOAT32, BFLOAT16, INT64, INT32 or UINT8)", message(IllegalArgumentException.class,
                            () -> CheckpointWriter.write(dir, t, SaveOptions.defaults())));
        }
        assertEquals("SaveOptions: dtype F64 is not supported (F32, BF16 or F16)",
                message(IllegalArgumentException.class, () -> new SaveOptions(DType.F64, 1)));
    }
}
