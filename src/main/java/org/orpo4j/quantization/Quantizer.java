package org.orpo4j.quantization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.orpo4j.safetensors.CheckpointReader;

/**
 * Quantizes a float weight to 4 bits, reading it a chunk of blocks at a time (a million values, 4 MB): from a
 * checkpoint shard, so loading with {@code load_in_4bit} never holds a tensor's float copy, or from an array.
 */
public final class Quantizer {

    /** Values per chunk: whole blocks of every block size bitsandbytes allows. */
    static final int CHUNK = 1 << 20;

    private Quantizer() {}

    /** Tensor {@code name} of {@code reader} (F32, F16 or BF16, of {@code shape}) in 4 bits, in {@code manager}. */
    public static QuantizedWeight quantize(CheckpointReader reader, String name, long[] shape, QuantConfig config,
            NDManager manager) {
        long n = numel(shape);
        Blockwise4bit q = new Blockwise4bit(config.type(), config.blocksize(), n);
        float[] chunk = new float[(int) Math.min(CHUNK, n)];
        for (long start = 0; start < n; start += CHUNK) {
            int len = (int) Math.min(CHUNK, n - start);
            reader.readFloats(name, start, chunk, 0, len);
            q.add(chunk, 0, len);
        }
        return QuantizedWeight.of(q, shape, config, manager);
    }

    /** A float array in 4 bits, in {@code manager} (the array itself is left as it is). */
    public static QuantizedWeight quantize(NDArray weight, QuantConfig config, NDManager manager) {
        long[] shape = weight.getShape().getShape();
        long n = numel(shape);
        Blockwise4bit q = new Blockwise4bit(config.type(), config.blocksize(), n);
        try (NDManager scratch = manager.newSubManager(weight.getDevice())) {
            NDArray flat = weight.reshape(n);
            flat.attach(scratch);
            for (long start = 0; start < n; start += CHUNK) {
                long end = Math.min(n, start + CHUNK);
                NDArray part = flat.get(start + ":" + end);
                float[] values = (part.getDataType() == DataType.FLOAT32 ? part : part.toType(DataType.FLOAT32, false))
                        .toFloatArray();
                q.add(values, 0, values.length);
            }
        }
        return QuantizedWeight.of(q, shape, config, manager);
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
