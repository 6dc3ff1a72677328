package org.orpo4j.train;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;

/**
 * Token-id data for trainer tests (no tokenizer). The synthetic task: prompts of "topic" ids 19..31 after BOS (1);
 * chosen answers use "polite" ids 3..10, rejected answers "curt" ids 11..18; both end with EOS (2). Pad id 0.
 */
final class Synthetic {

    static final int VOCAB = 32;

    private Synthetic() {}

    static PreferenceDataset pairs(int n, long seed) {
        Random r = new Random(seed);
        List<TokenizedPair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new TokenizedPair(sequence(r, 1, 19, 31, 1 + r.nextInt(3), false),
                    sequence(r, -1, 3, 10, 1 + r.nextInt(3), true), sequence(r, -1, 11, 18, 1 + r.nextInt(3), true),
                    0));
        }
        return PreferenceDataset.of(out, 0);
    }

    /** Pre-tokenized pairs from a JSON-lines resource {"prompt":[ids],"chosen":[ids],"rejected":[ids]}. */
    static PreferenceDataset resource(String name, long padId) {
        List<TokenizedPair> pairs = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        try (InputStream in = Synthetic.class.getResourceAsStream(name)) {
            int line = 0;
            for (String text : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                line++;
                if (!text.isBlank()) {
                    JsonNode n = json.readTree(text);
                    pairs.add(new TokenizedPair(json.convertValue(n.get("prompt"), long[].class),
                            json.convertValue(n.get("chosen"), long[].class),
                            json.convertValue(n.get("rejected"), long[].class), line));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return PreferenceDataset.of(pairs, padId);
    }

    private static long[] sequence(Random r, long first, int lo, int hi, int len, boolean eos) {
        List<Long> ids = new ArrayList<>();
        if (first >= 0) {
            ids.add(first);
        }
        for (int i = 0; i < len; i++) {
            ids.add((long) (lo + r.nextInt(hi - lo + 1)));
        }
        if (eos) {
            ids.add(2L);
        }
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    /** A tiny random llama over the synthetic vocabulary. */
    static CausalLm model(NDManager manager, int hidden, int layers, long seed) {
        ModelConfig config = ModelConfig.builder("llama").vocabSize(VOCAB).hiddenSize(hidden)
                .intermediateSize(2 * hidden).numHiddenLayers(layers).numAttentionHeads(4).numKeyValueHeads(2)
                .padTokenId(0).build();
        return CausalLm.random(config, manager, seed);
    }
}
