package org.orpo4j.export;

/**
 * The ggml tensor types orpo4j writes, with ggml's numeric ids and block layout: a block of {@code blockSize}
 * values takes {@code typeSize} bytes (Q8_0: one float16 scale and 32 int8 quants).
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q8_0(8, 32, 34),
    BF16(30, 1, 2);

    /** The id ggml stores in a tensor info. */
    public final int id;
    public final int blockSize;
    public final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** The bytes {@code elements} values take (a whole number of blocks). */
    public long bytes(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(name() + " stores blocks of " + blockSize + " values, not " + elements);
        }
        return elements / blockSize * typeSize;
    }
}
