package org.orpo4j.quantization;

import ai.djl.ndarray.types.DataType;
import java.util.List;

/**
 * How a base model is quantized to 4 bits, transformers' {@code BitsAndBytesConfig(load_in_4bit=True, ...)}: the
 * code book ({@code bnb_4bit_quant_type}), whether the absmax values are quantized again
 * ({@code bnb_4bit_use_double_quant}, TRL's {@code use_bnb_nested_quant}), the block size (bitsandbytes' 64) and
 * the dtype the layers compute in ({@code bnb_4bit_compute_dtype}: float32; mixed precision computes in its half
 * type, {@link QuantizedWeight#computeIn}).
 */
public record QuantConfig(QuantType type, boolean doubleQuant, int blocksize, DataType computeDtype) {

    /** The block sizes bitsandbytes accepts. */
    public static final List<Integer> BLOCKSIZES = List.of(32, 64, 128, 256, 512, 1024, 2048, 4096);
    /** bitsandbytes' block size for 4-bit weights. */
    public static final int DEFAULT_BLOCKSIZE = 64;
    /** The block size of the nested quantization of the absmax values (the only one bitsandbytes computes with). */
    public static final int NESTED_BLOCKSIZE = 256;

    public QuantConfig {
        if (!BLOCKSIZES.contains(blocksize)) {
            throw new IllegalArgumentException("4-bit blocksize " + blocksize + " is not one of " + BLOCKSIZES);
        }
        if (computeDtype != DataType.FLOAT32 && computeDtype != DataType.FLOAT16
                && computeDtype != DataType.BFLOAT16) {
            throw new IllegalArgumentException("4-bit compute dtype " + computeDtype
                    + " is not float32, float16 or bfloat16");
        }
    }

    /** {@code type}, nested quantization as asked, blocks of 64, float32 compute. */
    public static QuantConfig of(QuantType type, boolean doubleQuant) {
        return new QuantConfig(type, doubleQuant, DEFAULT_BLOCKSIZE, DataType.FLOAT32);
    }

    @Override
    public String toString() {
        return type + (doubleQuant ? " (double quant)" : "") + ", blocks of " + blocksize + ", computing in "
                + computeDtype.name().toLowerCase(java.util.Locale.ROOT);
    }
}
