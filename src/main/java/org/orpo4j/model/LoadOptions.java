package org.orpo4j.model;

import org.orpo4j.quantization.QuantConfig;

/**
 * How {@link CausalLm#load(java.nio.file.Path, String, ai.djl.ndarray.NDManager, LoadOptions)} reads a checkpoint:
 * as stored (float weights widened to float32, a pre-quantized bitsandbytes checkpoint in its 4 bits), or with the
 * decoder layers' linear weights quantized to 4 bits while they are read ({@code load_in_4bit}), tensor by tensor,
 * so no full-precision copy of the model is ever held.
 *
 * @param loadIn4bit the quantization to apply to a full-precision checkpoint, or null for none (the compute dtype
 *     also applies to a pre-quantized checkpoint)
 */
public record LoadOptions(QuantConfig loadIn4bit) {

    /** As stored. */
    public static LoadOptions defaults() {
        return new LoadOptions(null);
    }

    /** Quantizing to 4 bits as {@code config} says while reading. */
    public static LoadOptions loadIn4bit(QuantConfig config) {
        return new LoadOptions(config);
    }
}
