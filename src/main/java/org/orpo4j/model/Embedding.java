package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.GradientTensors;

/** Token embedding {@code embed_tokens}: a row lookup in {@code weight [V, H]}. */
final class Embedding extends Module {

    private final Weight weight; // [V, H]

    Embedding(long vocabSize, long hiddenSize) {
        weight = addParameter("weight", Weight.Kind.MATRIX, new Shape(vocabSize, hiddenSize));
    }

    /**
     * [N, T] int64 -> [N, T, H]. The lookup runs through the ids (never {@code weight.get(ids)}, which would attach
     * the per-step result to the model's manager). Once the weight has a gradient, backward goes the sparse way:
     * it adds the N·T looked-up rows into that gradient in place, where the dense way first builds a zero-filled
     * [V, H] gradient of its own (0.6 GB at V = 151936, H = 1024). Before the first backward there is no gradient
     * to add into (a sparse one would take its place), so that backward stays dense.
     */
    NDArray forward(NDArray inputIds) {
        NDArray w = weight.array();
        SparseFormat backward = SparseFormat.DENSE;
        if (GradMode.isEnabled()) {
            try (NDArray grad = GradientTensors.existing(w)) {
                backward = grad != null ? SparseFormat.COO : SparseFormat.DENSE;
            }
        }
        return inputIds.getNDArrayInternal().embedding(inputIds, w, backward).singletonOrThrow();
    }

    /** The matrix itself, shared with the LM head when {@code tie_word_embeddings} is set. */
    NDArray weight() {
        return weight.array();
    }
}
