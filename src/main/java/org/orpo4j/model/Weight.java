package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import org.orpo4j.quantization.QuantizedWeight;

/**
 * One trainable tensor of a module, torch's {@code nn.Parameter}: its kind (for initialisation), the shape its
 * config demands, and the array the forward pass reads. The array can be replaced (DJL's {@code Parameter} sets it
 * once): mixed precision trains a half-precision copy in the model while the float32 masters live in the trainer.
 * A linear layer's weight may instead be frozen in 4 bits, bitsandbytes' {@code Params4bit}: then it has no array,
 * only its {@link QuantizedWeight}.
 */
final class Weight {

    /**
     * What a tensor is, which decides its initial values (HF's {@code _init_weights}): matrices drawn, biases 0,
     * norms 1, gemma's {@code (1 + w)} norms 0.
     */
    enum Kind { MATRIX, BIAS, NORM, CENTRED_NORM }

    private final Kind kind;
    private final Shape shape;
    private NDArray array;
    private QuantizedWeight quantized; // a frozen 4-bit base, else null

    Weight(Kind kind, Shape shape) {
        this.kind = kind;
        this.shape = shape;
    }

    Kind kind() {
        return kind;
    }

    Shape shape() {
        return shape;
    }

    /** The array the forward pass reads; null until loaded or initialised, and while {@link #quantized}. */
    NDArray array() {
        return array;
    }

    /** The 4-bit form the weight is frozen in, or null. */
    QuantizedWeight quantized() {
        return quantized;
    }

    /** Keeps the weight in 4 bits from now on: the float array, if any, is closed. */
    void quantize(QuantizedWeight q) {
        if (!Arrays.equals(q.state().shape(), shape.getShape())) {
            throw new IllegalArgumentException("4-bit tensor of shape " + Arrays.toString(q.state().shape())
                    + " where " + shape + " is needed");
        }
        if (array != null) {
            array.close();
            array = null;
        }
        quantized = q;
    }

    /** Back to a float32 array in {@code manager} (what the 4-bit codes stand for); the codes are freed. */
    void dequantize(NDManager manager) {
        if (quantized != null) {
            array = quantized.dequantize(manager, DataType.FLOAT32);
            quantized.close();
            quantized = null;
        }
    }

    void set(NDArray array) {
        if (!array.getShape().equals(shape)) {
            throw new IllegalArgumentException("tensor of shape " + array.getShape() + " where " + shape
                    + " is needed");
        }
        this.array = array;
        this.quantized = null;
    }
}
