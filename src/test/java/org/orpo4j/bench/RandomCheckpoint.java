package org.orpo4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.FloatFormats;

/**
 * A llama/mistral-layout HF checkpoint of random BF16 weights written straight to disk, shard by shard and a few
 * megabytes at a time, so a model far larger than memory (a 7B one: 14.5 GB) can be made on this machine: matrices
 * about N(0, 0.02) (a sum of four uniforms, cheap and near enough to normal for quantization), norms 1.
 */
final class RandomCheckpoint {

    private static final int CHUNK = 1 << 22; // values per write: 8 MB of BF16

    private RandomCheckpoint() {}

    /** Writes config.json and the BF16 weights of {@code config} into {@code dir}, shards of about 2 GB. */
    static void write(Path dir, ModelConfig config, long seed) throws IOException {
        Files.createDirectories(dir);
        config.save(dir.resolve("config.json"), "bfloat16");
        Map<String, long[]> tensors = shapes(config);
        List<List<String>> shards = new ArrayList<>();
        long shardBytes = 0;
        for (Map.Entry<String, long[]> t : tensors.entrySet()) {
            long bytes = 2 * numel(t.getValue());
            if (shards.isEmpty() || shardBytes + bytes > 2_000_000_000L) {
                shards.add(new ArrayList<>());
                shardBytes = 0;
            }
            shards.get(shards.size() - 1).add(t.getKey());
            shardBytes += bytes;
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", tensors.values().stream().mapToLong(s -> 2 * numel(s)).sum());
        ObjectNode weightMap = index.putObject("weight_map");
        long[] state = {seed * 0x9E3779B97F4A7C15L + 1};
        for (int i = 0; i < shards.size(); i++) {
            String name = CheckpointWriter.shardName(i + 1, shards.size());
            writeShard(dir.resolve(name), shards.get(i), tensors, state);
            shards.get(i).forEach(t -> weightMap.put(t, name));
            System.out.printf(Locale.ROOT, "wrote %s (%d tensors)%n", name, shards.get(i).size());
        }
        Files.write(dir.resolve(CheckpointReader.INDEX_FILE), json.writeValueAsBytes(index));
    }

    /** Every weight of a llama/mistral-layout model with its shape, in HF's order. */
    static Map<String, long[]> shapes(ModelConfig config) {
        Map<String, long[]> out = new LinkedHashMap<>();
        long h = config.hiddenSize();
        out.put("model.embed_tokens.weight", new long[] {config.vocabSize(), h});
        Map<String, long[]> linears = CausalLm.linearShapes(config);
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            linears.forEach((name, shape) -> {
                if (name.startsWith(p)) {
                    out.put(name + ".weight", shape);
                }
            });
            out.put(p + "input_layernorm.weight", new long[] {h});
            out.put(p + "post_attention_layernorm.weight", new long[] {h});
        }
        out.put("model.norm.weight", new long[] {h});
        if (linears.containsKey("lm_head")) {
            out.put("lm_head.weight", linears.get("lm_head"));
        }
        return out;
    }

    private static void writeShard(Path file, List<String> names, Map<String, long[]> shapes, long[] state)
            throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (String n : names) {
            ObjectNode t = header.putObject(n);
            t.put("dtype", "BF16");
            var shape = t.putArray("shape");
            for (long d : shapes.get(n)) {
                shape.add(d);
            }
            long end = offset + 2 * numel(shapes.get(n));
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] text = json.writeValueAsBytes(header);
        int padded = (text.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(text);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(2 * CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(out, head.flip());
            for (String n : names) {
                boolean norm = n.endsWith("norm.weight");
                long count = numel(shapes.get(n));
                for (long done = 0; done < count; done += CHUNK) {
                    int len = (int) Math.min(CHUNK, count - done);
                    buffer.clear();
                    for (int i = 0; i < len; i++) {
                        buffer.putShort(FloatFormats.f32ToBf16(norm ? 1f : 0.02f * normal(state)));
                    }
                    writeFully(out, buffer.flip());
                }
            }
        }
    }

    /** About N(0, 1): the sum of four uniforms of xorshift64*, centred and scaled to unit variance. */
    private static float normal(long[] state) {
        float sum = 0;
        for (int k = 0; k < 4; k++) {
            long x = state[0];
            x ^= x >>> 12;
            x ^= x << 25;
            x ^= x >>> 27;
            state[0] = x;
            sum += ((x * 0x2545F4914F6CDD1DL) >>> 40) * 0x1p-24f;
        }
        return (sum - 2f) * 1.7320508f;
    }

    private static void writeFully(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
