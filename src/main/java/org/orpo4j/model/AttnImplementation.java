package org.orpo4j.model;

import java.util.Locale;

/**
 * How attention is computed, by transformers' {@code attn_implementation} names. Both give the same values up to
 * rounding; they differ in what they keep.
 */
public enum AttnImplementation {
    /**
     * {@code eager}: scores, softmax and weighted values as separate ops, the probabilities [N, H, T, S] kept for
     * backward (transformers' eager path, which orpo4j's goldens come from).
     */
    EAGER,
    /**
     * {@code sdpa}: torch's fused {@code scaled_dot_product_attention} (flash attention), keeping only the output and
     * a row statistic, so attention memory grows with T instead of T². Needs orpo4j's native library. Layers with a
     * score soft-cap (gemma2) keep the eager kernel, which alone applies it.
     */
    SDPA;

    /** transformers' name: {@code eager} or {@code sdpa}. */
    public String hfName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** From transformers' name. */
    public static AttnImplementation parse(String name) {
        for (AttnImplementation a : values()) {
            if (a.hfName().equals(name.strip().toLowerCase(Locale.ROOT))) {
                return a;
            }
        }
        throw new IllegalArgumentException("attn_implementation '" + name + "': expected eager or sdpa");
    }
}
