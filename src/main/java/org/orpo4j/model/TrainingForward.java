package org.orpo4j.model;

import ai.djl.ndarray.NDArray;

/**
 * The forward pass of one training micro-batch: the final hidden states on the autograd graph, and what must run
 * after the loss's backward. Without gradient checkpointing that is nothing (the graph reaches every parameter).
 * With it, the graph starts at the last decoder layer's output, and {@link #backward()} walks the layers from the
 * top, recomputing each from its saved input and back-propagating through it (see {@link CausalLm#trainingForward}).
 */
public final class TrainingForward {

    private final NDArray hidden;
    private final Runnable backward; // null: nothing left to do

    TrainingForward(NDArray hidden, Runnable backward) {
        this.hidden = hidden;
        this.backward = backward;
    }

    /** [N, T, H] after the final norm; the LM head and the loss are computed from it. */
    public NDArray hidden() {
        return hidden;
    }

    /** After the loss's backward: the decoder layers' share of it when they were checkpointed. Call once. */
    public void backward() {
        if (backward != null) {
            backward.run();
        }
    }
}
