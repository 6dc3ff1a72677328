package org.orpo4j.safetensors;

/**
 * How {@link CheckpointWriter} stores float tensors: F32 (exact, the default), BF16 or F16 (half the size, rounded to
 * nearest even like torch), and the shard size above which the weights are split (HF's default is 5 GB).
 */
public record SaveOptions(DType dtype, long maxShardBytes) {

    /** transformers' {@code save_pretrained} default {@code max_shard_size="5GB"}. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    public SaveOptions {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("SaveOptions: dtype " + dtype + " is not supported (F32, BF16 or F16)");
        }
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("SaveOptions: maxShardBytes must be positive, got " + maxShardBytes);
        }
    }

    /** F32, 5 GB shards. */
    public static SaveOptions defaults() {
        return new SaveOptions(DType.F32, DEFAULT_MAX_SHARD_BYTES);
    }

    /** BF16, 5 GB shards. */
    public static SaveOptions bf16() {
        return new SaveOptions(DType.BF16, DEFAULT_MAX_SHARD_BYTES);
    }

    public SaveOptions withDtype(DType newDtype) {
        return new SaveOptions(newDtype, maxShardBytes);
    }

    public SaveOptions withMaxShardBytes(long bytes) {
        return new SaveOptions(dtype, bytes);
    }

    /** The {@code torch_dtype} string config.json should state for weights saved with these options. */
    public String torchDtype() {
        return dtype == DType.BF16 ? "bfloat16" : dtype == DType.F16 ? "float16" : "float32";
    }
}
