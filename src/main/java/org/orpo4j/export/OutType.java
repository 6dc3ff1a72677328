package org.orpo4j.export;

import java.util.Locale;

/**
 * The {@code --outtype} of an export: the type of the weight matrices, with the {@code general.file_type} llama.cpp's
 * {@code LlamaFileType} gives it. Norms, biases and other 1-D tensors stay float32 whatever the out type, and a
 * matrix whose rows do not split into Q8_0 blocks falls back to F16, as convert_hf_to_gguf.py does.
 */
public enum OutType {
    F32(GgmlType.F32, 0),
    F16(GgmlType.F16, 1),
    BF16(GgmlType.BF16, 32),
    Q8_0(GgmlType.Q8_0, 7);

    /** The type matrices get. */
    public final GgmlType matrixType;
    /** llama.cpp's {@code LlamaFileType} id ({@code general.file_type}). */
    public final int fileType;

    OutType(GgmlType matrixType, int fileType) {
        this.matrixType = matrixType;
        this.fileType = fileType;
    }

    /** The name as the command line spells it ({@code f32}, {@code f16}, {@code bf16}, {@code q8_0}). */
    public String flagName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code f32|f16|bf16|q8_0} (any case). */
    public static OutType parse(String s) {
        for (OutType t : values()) {
            if (t.flagName().equalsIgnoreCase(s)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown out type '" + s + "' (expected f32, f16, bf16 or q8_0)");
    }
}
