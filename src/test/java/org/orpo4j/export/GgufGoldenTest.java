package org.orpo4j.export;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.orpo4j.runtime.Json;
import org.orpo4j.runtime.WithCpuManager;

/**
 * Acceptance: for the same checkpoint, orpo4j's GGUF file lists the metadata and tensors llama.cpp's
 * convert_hf_to_gguf.py writes (read back by the gguf package's reader: golden/gguf/*.json), key by key, tensor by
 * tensor, bytes included, for every out type. The differences docs/export.md lists are the only ones allowed.
 */
class GgufGoldenTest extends WithCpuManager {

    private static final String[] OUTTYPES = {"f32", "f16", "bf16", "q8_0"};

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral", "qwen2", "qwen3", "smollm3", "llama_spm", "gemma", "gemma2", "gemma3",
        "phi3"})
    void matchesLlamaCppConverter(String model) throws Exception {
        JsonNode golden = Json.untrusted().readTree(Path.of("src/test/resources/golden/gguf", model + ".json").toFile());
        Path dir = tmp.resolve(model);
        GgufCheckpoints.write(dir, (ObjectNode) golden.get("config"), golden.get("tokenizer").asText(), root);
        for (String outtype : OUTTYPES) {
            Path out = tmp.resolve(model + "-" + outtype + ".gguf");
            GgufExport.export(dir, null, dir, OutType.parse(outtype), out, model); // the converter's name: its folder
            compare(model + " " + outtype, golden.get("outtypes").get(outtype), GgufFile.read(out), dir);
        }
    }

    private static void compare(String what, JsonNode expected, GgufFile actual, Path dir) throws Exception {
        List<String> keys = new ArrayList<>();
        for (JsonNode e : expected.get("kv")) {
            String key = e.get("key").asText();
            keys.add(key);
            GgufFile.Kv kv = actual.kv.get(key);
            if (kv == null) {
                throw new AssertionError(what + ": missing key " + key);
            }
            assertEquals(e.get("type").get(0).asText(), typeName(kv.type()), what + ": type of " + key);
            if (kv.type() == 9) {
                assertEquals(e.get("type").get(1).asText(), typeName(kv.elementType()), what + ": element type of " + key);
                List<?> values = (List<?>) kv.value();
                if (key.equals("tokenizer.ggml.scores") && isConstant(e, -1000)) {
                    // the documented difference: the converter scores every token of a tokenizer.json-only
                    // SentencePiece vocabulary -1000; orpo4j scores merged tokens by their merge rank
                    assertEquals(e.get("length").asInt(), values.size(), what + ": length of " + key);
                    assertEquals(expectedScores(dir, values.size()), values, what + ": merge-rank scores");
                } else if (e.has("sha256")) {
                    assertEquals(e.get("length").asInt(), values.size(), what + ": length of " + key);
                    assertEquals(e.get("head").toString(), Json.untrusted().valueToTree(values.subList(0, 8)).toString(),
                            what + ": first elements of " + key);
                    assertEquals(e.get("sha256").asText(), arraySha(values, kv.elementType()), what + ": " + key);
                } else {
                    assertEquals(e.get("value").toString(), Json.untrusted().valueToTree(values).toString(),
                            what + ": " + key);
                }
            } else if (kv.type() == 6) {
                assertEquals((float) e.get("value").asDouble(), (Float) kv.value(), what + ": " + key);
            } else {
                assertEquals(e.get("value").toString(), Json.untrusted().valueToTree(kv.value()).toString(),
                        what + ": " + key);
            }
        }
        assertEquals(keys, new ArrayList<>(actual.kv.keySet()), what + ": the keys and their order");
        JsonNode tensors = expected.get("tensors");
        assertEquals(tensors.size(), actual.tensors.size(), what + ": tensor count");
        for (int i = 0; i < tensors.size(); i++) {
            JsonNode t = tensors.get(i);
            GgufFile.Tensor a = actual.tensors.get(i);
            String name = t.get("name").asText();
            assertEquals(name, a.name(), what + ": tensor " + i);
            assertEquals(t.get("shape").toString(), Json.untrusted().valueToTree(a.ggmlShape()).toString(), what + ": " + name);
            assertEquals(t.get("type").asText(), GgmlType.values()[typeIndex(a.type())].name(), what + ": type of " + name);
            assertEquals(t.get("offset").asLong(), actual.dataStart + a.offset(), what + ": offset of " + name);
            long next = i + 1 < actual.tensors.size() ? actual.tensors.get(i + 1).offset() : actual.fileSize - actual.dataStart;
            long bytes = bytesOf(a);
            assertEquals(t.get("sha256").asText(), sha(actual.data(a, bytes)), what + ": data of " + name);
            if (next - a.offset() < bytes) {
                throw new AssertionError(what + ": " + name + " overlaps the next tensor");
            }
        }
        assertEquals(expected.get("file_size").asLong(), actual.fileSize, what + ": file size");
    }

    private static long bytesOf(GgufFile.Tensor t) {
        long n = 1;
        for (long d : t.ggmlShape()) {
            n *= d;
        }
        return GgmlType.values()[typeIndex(t.type())].bytes(n);
    }

    private static int typeIndex(int id) {
        for (GgmlType g : GgmlType.values()) {
            if (g.id == id) {
                return g.ordinal();
            }
        }
        throw new AssertionError("ggml type " + id);
    }

    private static String typeName(int id) {
        return GgufMetadata.Type.values()[id].name();
    }

    private static String arraySha(List<?> values, int elementType) throws Exception {
        if (elementType == 8) {
            return sha(String.join("\n", values.stream().map(String.class::cast).toList()).getBytes(StandardCharsets.UTF_8));
        }
        ByteBuffer b = ByteBuffer.allocate(values.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (Object v : values) {
            if (elementType == 6) {
                b.putFloat((Float) v);
            } else {
                b.putLong((Long) v);
            }
        }
        byte[] bytes = new byte[b.position()];
        b.flip().get(bytes);
        return sha(bytes);
    }

    private static String sha(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private static boolean isConstant(JsonNode e, double v) {
        for (JsonNode x : e.get("head")) {
            if (x.asDouble() != v) {
                return false;
            }
        }
        return true;
    }

    /** Minus the rank of the first merge that makes each token, -1000 for tokens no merge makes. */
    private static List<Float> expectedScores(Path dir, int n) throws IOException {
        JsonNode model = Json.untrusted().readTree(dir.resolve("tokenizer.json").toFile()).get("model");
        java.util.Map<String, Integer> rank = new java.util.HashMap<>();
        int r = 0;
        for (JsonNode m : model.get("merges")) {
            String merged = m.isTextual() ? m.asText().replaceFirst(" ", "") : m.get(0).asText() + m.get(1).asText();
            rank.putIfAbsent(merged, r++);
        }
        String[] byId = new String[n];
        model.get("vocab").fields().forEachRemaining(f -> byId[f.getValue().asInt()] = f.getKey());
        List<Float> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Integer k = byId[i] == null ? null : rank.get(byId[i]);
            out.add(k == null ? -1000f : -(float) k);
        }
        return out;
    }
}
