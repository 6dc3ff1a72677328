package org.orpo4j.export;

/**
 * A tensor of a GGUF file: its llama.cpp name, its shape in PyTorch order ([rows, cols]; the file stores it
 * reversed, ggml's order), and its type.
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type) {

    public GgufTensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** The bytes of its data, before padding. */
    public long bytes() {
        return type.bytes(elements());
    }
}
