package org.orpo4j.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Pre-tokenized pairs for trainer tests (no tokenizer): JSON lines {"prompt":[ids],"chosen":[ids],"rejected":[ids]}
 * collated as TRL does (chosen rows then rejected rows, right-padded with {@code padId}, labels -100 on prompts).
 * Shuffling is a seeded Fisher-Yates per (seed, epoch).
 */
final class TokenPairs implements PairSource {

    record Pair(long[] prompt, long[] chosen, long[] rejected) {}

    private final List<Pair> pairs;
    private final long padId;

    TokenPairs(List<Pair> pairs, long padId) {
        this.pairs = pairs;
        this.padId = padId;
    }

    static TokenPairs resource(String name, long padId) {
        List<Pair> pairs = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        try (InputStream in = TokenPairs.class.getResourceAsStream(name)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    JsonNode n = json.readTree(line);
                    pairs.add(new Pair(json.convertValue(n.get("prompt"), long[].class),
                            json.convertValue(n.get("chosen"), long[].class),
                            json.convertValue(n.get("rejected"), long[].class)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TokenPairs(pairs, padId);
    }

    @Override
    public int size() {
        return pairs.size();
    }

    @Override
    public List<int[]> batches(int batchSize, int epoch, long seed, boolean shuffle, boolean groupByLength) {
        if (groupByLength) {
            throw new UnsupportedOperationException("TokenPairs does not group by length");
        }
        int[] order = new int[pairs.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (shuffle) {
            Random r = new Random(seed * 1_000_003L + epoch);
            for (int i = order.length - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < order.length; i += batchSize) {
            out.add(java.util.Arrays.copyOfRange(order, i, Math.min(order.length, i + batchSize)));
        }
        return out;
    }

    @Override
    public MicroBatch collate(int[] rows, NDManager manager) {
        int b = rows.length;
        int t = 0;
        for (int r : rows) {
            Pair p = pairs.get(r);
            t = Math.max(t, p.prompt.length + Math.max(p.chosen.length, p.rejected.length));
        }
        long[] ids = new long[2 * b * t];
        long[] mask = new long[2 * b * t];
        long[] labels = new long[2 * b * t];
        java.util.Arrays.fill(ids, padId);
        java.util.Arrays.fill(labels, -100);
        long tokens = 0;
        for (int side = 0; side < 2; side++) {
            for (int i = 0; i < b; i++) {
                Pair p = pairs.get(rows[i]);
                long[] answer = side == 0 ? p.chosen : p.rejected;
                int base = (side * b + i) * t;
                for (int k = 0; k < p.prompt.length; k++) {
                    ids[base + k] = p.prompt[k];
                    mask[base + k] = 1;
                }
                for (int k = 0; k < answer.length; k++) {
                    ids[base + p.prompt.length + k] = answer[k];
                    mask[base + p.prompt.length + k] = 1;
                    labels[base + p.prompt.length + k] = answer[k];
                }
                tokens += p.prompt.length + answer.length;
            }
        }
        Shape shape = new Shape(2L * b, t);
        return new MicroBatch(manager.create(ids, shape), manager.create(mask, shape), manager.create(labels, shape),
                b, tokens);
    }
}
