package org.orpo4j.precision;

import ai.djl.ndarray.types.DataType;

/**
 * The precision a model trains in, TRL's {@code bf16}/{@code fp16} flags as one choice. Mixed precision keeps the
 * weights and AdamW state in float32 ({@link MasterWeights}) and runs the matmuls in the half type; norms, softmax,
 * the logits and the loss stay float32 inside the model and the loss.
 */
public enum Precision {
    FP32(DataType.FLOAT32),
    /** float16 with dynamic loss scaling ({@link LossScaler}): its 5-bit exponent underflows small gradients. */
    FP16(DataType.FLOAT16),
    /** bfloat16: float32's exponent range, so no loss scaling; needs orpo4j's JNI (docs/native.md). */
    BF16(DataType.BFLOAT16);

    private final DataType dtype;

    Precision(DataType dtype) {
        this.dtype = dtype;
    }

    /** The dtype of the weights the forward and backward passes read. */
    public DataType dtype() {
        return dtype;
    }

    public boolean mixed() {
        return this != FP32;
    }

    /** From TRL's two flags; both set is an error, as in HF's TrainingArguments. */
    public static Precision of(boolean bf16, boolean fp16) {
        if (bf16 && fp16) {
            throw new IllegalArgumentException("bf16 and fp16 are both set; choose one");
        }
        return bf16 ? BF16 : fp16 ? FP16 : FP32;
    }
}
