package org.orpo4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An index from the internet cannot make the reader open files outside the model folder. */
class ShardPathTest {

    @TempDir
    Path tmp;

    @Test
    void shardNamesThatLeaveTheModelFolderAreRefused() throws Exception {
        Path model = Files.createDirectories(tmp.resolve("model"));
        Path outside = safetensors(tmp.resolve("outside.safetensors"));
        safetensors(model.resolve("model-00001-of-00001.safetensors"));
        Files.createSymbolicLink(model.resolve("link.safetensors"), outside);
        try (CheckpointReader plain = CheckpointReader.open(index(model, "model-00001-of-00001.safetensors"))) {
            assertEquals(1.5f, plain.readFloats("w")[0], "a plain shard name loads");
        }
        for (String[] c : new String[][] {
                {"../outside.safetensors", "is not a file of the model folder"},
                {outside.toString(), "is not a file of the model folder"},
                {"sub/../../outside.safetensors", "is not a file of the model folder"},
                {"link.safetensors", "links outside the model folder"}}) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> CheckpointReader.open(index(model,
                    c[0])), c[0]);
            assertEquals(model.resolve("model.safetensors.index.json") + ": shard '" + c[0] + "' (holding tensor 'w') "
                    + c[1], e.getMessage());
        }
    }

    private static Path index(Path model, String shard) throws Exception {
        Files.writeString(model.resolve("model.safetensors.index.json"), "{\"metadata\": {}, \"weight_map\": "
                + "{\"w\": \"" + shard.replace("\\", "\\\\") + "\"}}");
        return model;
    }

    /** One F32 tensor "w" of shape [1]. */
    private static Path safetensors(Path file) throws Exception {
        byte[] header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
        out.write(header);
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).array());
        return Files.write(file, out.toByteArray());
    }
}
