package org.orpo4j.model;

/**
 * What one decoder layer's attention does differently from the others: its sliding window (null: full causal
 * attention) and its rotary embedding (null: the layer skips RoPE, as smollm3's no-RoPE layers).
 */
record LayerSpec(Integer window, RopeSpec rope) {}
