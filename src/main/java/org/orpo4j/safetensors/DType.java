package org.orpo4j.safetensors;

/**
 * The element types of the safetensors format, with their byte size; the constant's name is the header spelling.
 * orpo4j loads F32, F16 and BF16 (as FLOAT32), I64/I32 and U8 (packed 4-bit codes); the rest are recognised so a
 * header parses and the refusal can name the tensor.
 */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U64(8), U32(4), U16(2), U8(1), BOOL(1),
    F8_E4M3(1), F8_E5M2(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The spelling in the safetensors header ("F32", "BF16", ...). */
    public String headerName() {
        return name();
    }

    /** Parses a header spelling, or null when it is not a safetensors dtype. */
    static DType fromHeader(String name) {
        try {
            return valueOf(name);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
