package org.orpo4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.runtime.DjlRuntime;

/** Writer -> reader round trips, sharding, BF16 output and the written header checked with an independent parser. */
class CheckpointWriterReaderTest {

    @TempDir Path dir;
    NDManager manager;

    @BeforeEach
    void start() {
        manager = DjlRuntime.newManager(Device.cpu());
    }

    @AfterEach
    void stop() {
        manager.close();
    }

    /** Random normals plus the awkward values: +-0, +-inf, NaN, subnormals, extremes. */
    private static float[] values(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        float[] special = {0.0f, -0.0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, 1e-40f, Float.intBitsToFloat(0x3F808000)};
        System.arraycopy(special, 0, v, 0, Math.min(n, special.length));
        return v;
    }

    private static int[] bits(float[] f) {
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Float.floatToRawIntBits(f[i]);
        }
        return out;
    }

    /** A small model-like set of tensors in HF order, shapes from scalar to 3-D (and one empty). */
    private Map<String, NDArray> tensors() {
        Map<String, NDArray> t = new LinkedHashMap<>();
        t.put("model.embed_tokens.weight", manager.create(values(40 * 16, 1), new Shape(40, 16)));
        t.put("model.layers.0.self_attn.q_proj.weight", manager.create(values(16 * 16, 2), new Shape(16, 16)));
        t.put("model.layers.0.self_attn.q_proj.bias", manager.create(values(16, 3), new Shape(16)));
        t.put("model.layers.0.mlp.up_proj.weight", manager.create(values(2 * 24 * 16, 4), new Shape(2, 24, 16)));
        t.put("model.norm.weight", manager.create(values(16, 5), new Shape(16)));
        t.put("scalar", manager.create(values(1, 6), new Shape()));
        t.put("empty", manager.create(new float[0], new Shape(0, 16)));
        t.put("positions", manager.create(new long[] {0, 1, 2, Long.MAX_VALUE, -5}));
        return t;
    }

    private void assertSameTensors(Map<String, NDArray> expected, CheckpointReader reader) {
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(reader.names()));
        for (Map.Entry<String, NDArray> e : expected.entrySet()) {
            try (NDArray back = reader.load(e.getKey(), manager)) {
                assertEquals(e.getValue().getShape(), back.getShape(), e.getKey());
                assertEquals(e.getValue().getDataType(), back.getDataType(), e.getKey());
                assertArrayEquals(e.getValue().toByteArray(), back.toByteArray(), e.getKey()); // bit-identical
            }
        }
    }

    @Test
    void f32RoundTripIsBitIdentical() {
        Map<String, NDArray> t = tensors();
        CheckpointWriter.write(dir, t, SaveOptions.defaults());
        assertTrue(Files.exists(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(dir.resolve("model.safetensors.index.json")));
        try (CheckpointReader r = CheckpointReader.open(dir)) {
            assertSameTensors(t, r);
            assertEquals(DType.F32, r.info("model.norm.weight").dtype());
            assertEquals(DType.I64, r.info("positions").dtype());
            assertArrayEquals(bits(values(16, 5)), bits(r.readFloats("model.norm.weight")));
        }
    }

    /** F16 output rounds as torch does: ties to even, 65520 to infinity, subnormals kept, the sign of zero kept. */
    @Test
    void float16IsRoundedToNearestEven() {
        float[] in = {1f, 1f + 0x1p-11f, 1f + 3 * 0x1p-11f, 65504f, 65520f, 0x1p-24f, -0f};
        float[] want = {1f, 1f, 1f + 0x1p-9f, 65504f, Float.POSITIVE_INFINITY, 0x1p-24f, -0f};
        Map<String, NDArray> t = new LinkedHashMap<>();
        t.put("half", manager.create(in));
        CheckpointWriter.write(dir, t, SaveOptions.defaults().withDtype(DType.F16));
        try (CheckpointReader r = CheckpointReader.open(dir)) {
            assertEquals(DType.F16, r.info("half").dtype());
            assertArrayEquals(bits(want), bits(r.readFloats("half")));
        }
        assertEquals("float16", SaveOptions.defaults().withDtype(DType.F16).torchDtype());
    }

    @Test
    void nonContiguousArraysAreWrittenInLogicalOrder() {
        NDArray base = manager.arange(6f).reshape(2, 3);
        Map<String, NDArray> t = new LinkedHashMap<>();
        t.put("transposed", base.transpose()); // [3, 2] view: 0 3 / 1 4 / 2 5
        CheckpointWriter.write(dir, t, SaveOptions.bf16());
        try (CheckpointReader r = CheckpointReader.open(dir)) {
            assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, r.readFloats("transposed"));
            assertArrayEquals(new long[] {3, 2}, r.info("transposed").shape());
        }
    }

    @Test
    void loadOwnsItsMemoryAndLeavesNoTemporariesInTheManager() {
        CheckpointWriter.write(dir, tensors(), SaveOptions.defaults());
        try (CheckpointReader r = CheckpointReader.open(dir); NDManager sub = manager.newSubManager()) {
            NDArray a = r.load("model.layers.0.mlp.up_proj.weight", sub);
            assertEquals(1, ((BaseNDManager) sub).getManagedArrays().size());
            a.addi(1f); // writable: not an alias of the read-only mapping
            assertEquals(values(1, 4)[0] + 1f, a.toFloatArray()[0]);
        }
    }

    @Test
    void chunkedLoadEqualsWholeLoadForEveryDtype() throws IOException {
        Map<String, NDArray> t = tensors();
        CheckpointWriter.write(dir.resolve("f32"), t, SaveOptions.defaults());
        CheckpointWriter.write(dir.resolve("bf16"), t, SaveOptions.bf16());
        for (String d : List.of("f32", "bf16")) {
            Path file = dir.resolve(d).resolve("model.safetensors");
            try (SafetensorsFile whole = SafetensorsFile.open(file);
                    SafetensorsFile chunked = SafetensorsFile.open(file, 7)) { // 7 splits rows and F16/BF16 pairs
                for (String name : whole.tensors().keySet()) {
                    assertArrayEquals(whole.load(name, manager).toByteArray(),
                            chunked.load(name, manager).toByteArray(), d + " " + name);
                }
                assertArrayEquals(bits(whole.readFloats("model.embed_tokens.weight")),
                        bits(chunked.readFloats("model.embed_tokens.weight")));
            }
        }
    }

    @Test
    void bf16SaveLoadsAsTheExactWideningOfTorchRounding() {
        Map<String, NDArray> t = tensors();
        CheckpointWriter.write(dir, t, SaveOptions.bf16());
        try (CheckpointReader r = CheckpointReader.open(dir)) {
            assertEquals(DType.BF16, r.info("model.embed_tokens.weight").dtype());
            assertEquals(40 * 16 * 2, r.info("model.embed_tokens.weight").byteLength());
            assertEquals(DType.I64, r.info("positions").dtype()); // integer tensors keep their type
            float[] source = values(40 * 16, 1);
            float[] loaded = r.load("model.embed_tokens.weight", manager).toFloatArray();
            for (int i = 0; i < source.length; i++) {
                int expected = (FloatFormats.f32ToBf16(source[i]) & 0xFFFF) << 16;
                assertEquals(expected, Float.floatToRawIntBits(loaded[i]), "element " + i);
            }
            // A second BF16 save of the widened values is lossless.
            Map<String, NDArray> again = new LinkedHashMap<>();
            for (String name : r.names()) {
                again.put(name, r.load(name, manager));
            }
            Path dir2 = dir.resolve("again");
            CheckpointWriter.write(dir2, again, SaveOptions.bf16());
            try (CheckpointReader r2 = CheckpointReader.open(dir2)) {
                assertSameTensors(again, r2);
            }
        }
    }

    @Test
    void shardedSaveLoadsEqualToSingleFile() throws IOException {
        Map<String, NDArray> t = tensors();
        CheckpointWriter.write(dir.resolve("single"), t, SaveOptions.defaults());
        // embed 2560 B, q 1024, bias 64, up 3072, norm 64, scalar 4, empty 0, positions 40 -> limit 3000 gives
        // [embed] [q, bias] [up] [norm, scalar, empty, positions]
        Path sharded = dir.resolve("sharded");
        CheckpointWriter.write(sharded, t, SaveOptions.defaults().withMaxShardBytes(3000));
        try (Stream<Path> files = Files.list(sharded)) {
            assertEquals(List.of("model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                    "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors",
                    "model.safetensors.index.json"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        JsonNode index = new ObjectMapper().readTree(sharded.resolve("model.safetensors.index.json").toFile());
        assertEquals(2560 + 1024 + 64 + 3072 + 64 + 4 + 0 + 40, index.get("metadata").get("total_size").asLong());
        JsonNode wm = index.get("weight_map");
        assertEquals("model-00001-of-00004.safetensors", wm.get("model.embed_tokens.weight").asText());
        assertEquals("model-00002-of-00004.safetensors", wm.get("model.layers.0.self_attn.q_proj.bias").asText());
        assertEquals("model-00003-of-00004.safetensors", wm.get("model.layers.0.mlp.up_proj.weight").asText());
        assertEquals("model-00004-of-00004.safetensors", wm.get("positions").asText());
        assertEquals(t.size(), wm.size());
        try (CheckpointReader single = CheckpointReader.open(dir.resolve("single"));
                CheckpointReader shards = CheckpointReader.open(sharded)) {
            assertSameTensors(t, shards);
            for (String name : single.names()) {
                assertArrayEquals(single.load(name, manager).toByteArray(), shards.load(name, manager).toByteArray());
            }
            assertEquals(sharded.resolve("model-00003-of-00004.safetensors"),
                    shards.fileOf("model.layers.0.mlp.up_proj.weight"));
        }
    }

    @Test
    void resavingReplacesStaleWeightFilesAndLeavesNoTempFiles() throws IOException {
        Map<String, NDArray> t = tensors();
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        CheckpointWriter.write(dir, t, SaveOptions.defaults().withMaxShardBytes(3000));
        CheckpointWriter.write(dir, t, SaveOptions.defaults());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("model.safetensors", "tokenizer.json"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        CheckpointWriter.write(dir, t, SaveOptions.defaults().withMaxShardBytes(5000));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                    "model.safetensors.index.json", "tokenizer.json"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        try (CheckpointReader r = CheckpointReader.open(dir)) {
            assertSameTensors(t, r);
        }
    }

    @Test
    void shardPlanFollowsTransformers() {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        long[] sizes = {10, 10, 25, 5, 5, 1};
        for (int i = 0; i < sizes.length; i++) {
            entries.add(new SafetensorsWriter.Entry("t" + i, manager.zeros(new Shape(sizes[i])), DType.I8));
        }
        List<List<String>> plan = CheckpointWriter.plan(entries, 20).stream()
                .map(s -> s.stream().map(SafetensorsWriter.Entry::name).toList()).toList();
        // oversize t2 alone; a shard is closed only when the next tensor would overflow it
        assertEquals(List.of(List.of("t0", "t1"), List.of("t2"), List.of("t3", "t4", "t5")), plan);
        assertEquals("model-00002-of-00011.safetensors", CheckpointWriter.shardName(2, 11));
    }

    @Test
    void writtenHeaderIsValidForAnyReader() throws IOException {
        CheckpointWriter.write(dir, tensors(), SaveOptions.bf16());
        byte[] file = Files.readAllBytes(dir.resolve("model.safetensors"));
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + n) % 8, "data must start 8-byte aligned");
        String json = new String(file, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(json.startsWith("{\"__metadata__\":{\"format\":\"pt\"}"), json);
        assertTrue(json.stripTrailing().endsWith("}"));
        assertTrue(json.substring(json.stripTrailing().length()).chars().allMatch(c -> c == ' '));
        JsonNode header = new ObjectMapper().readTree(json);
        assertEquals("pt", header.get("__metadata__").get("format").asText());
        long expectedBegin = 0;
        Iterator<Map.Entry<String, JsonNode>> it = header.fields();
        it.next(); // __metadata__
        List<String> names = new ArrayList<>();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            names.add(e.getKey());
            JsonNode off = e.getValue().get("data_offsets");
            assertEquals(expectedBegin, off.get(0).asLong(), e.getKey() + " contiguous");
            long numel = 1;
            for (JsonNode d : e.getValue().get("shape")) {
                numel *= d.asLong();
            }
            int size = e.getValue().get("dtype").asText().equals("BF16") ? 2 : 8;
            assertEquals(numel * size, off.get(1).asLong() - off.get(0).asLong(), e.getKey());
            expectedBegin = off.get(1).asLong();
        }
        assertEquals(List.copyOf(tensors().keySet()), names);
        assertEquals(file.length, 8 + n + expectedBegin, "data section ends with the last tensor");
        assertEquals("[]", header.get("scalar").get("shape").toString());
    }

    @Test
    void offsetsBeyond2GiBAreMappedPerTensor() throws IOException {
        long pad = (5L << 30) / 2; // 2.5 GiB hole before the tensor: a sparse file, no disk used
        String json = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + pad + "],\"data_offsets\":[0," + pad + "]},"
                + "\"tail\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[" + pad + "," + (pad + 8) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("big.safetensors");
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(header.length).put(header);
            raf.write(head.array());
            raf.seek(8 + header.length + pad);
            raf.write(new byte[] {(byte) 0x80, 0x3F, 0x40, (byte) 0xC0, 0x01, 0x00, (byte) 0x80, 0x7F});
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(pad, f.info("tail").begin());
            assertArrayEquals(new float[] {1.0f, -3.0f, 0x1p-133f, Float.POSITIVE_INFINITY},
                    f.load("tail", manager).toFloatArray());
        }
    }
}
