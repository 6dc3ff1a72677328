package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Something a {@link Linear} adds to its output, computed from its input: LoRA's {@code s·B·A·x} (see
 * {@code org.orpo4j.lora}). The model only calls it; what it is and how it trains live with the adapter.
 */
public interface LinearAdapter {

    /** The addition for input {@code x} [..., in]: [..., out], in any float dtype (cast to the layer's). */
    NDArray forward(NDArray x);

    /** The adapter's trainable tensors by name relative to the layer ({@code lora_A.weight}, ...). */
    Map<String, NDArray> parameters();
}
