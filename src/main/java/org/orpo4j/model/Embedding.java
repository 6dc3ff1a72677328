package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;

/** Token embedding {@code embed_tokens}: a row lookup in {@code weight [V, H]}. */
final class Embedding extends Module {

    private final Parameter weight; // [V, H]

    Embedding(long vocabSize, long hiddenSize) {
        weight = addParameter("weight", Parameter.Type.WEIGHT, new Shape(vocabSize, hiddenSize));
    }

    /**
     * [N, T] int64 -> [N, T, H]. The lookup runs through the ids (never {@code weight.get(ids)}, which would attach
     * the per-step result to the model's manager).
     */
    NDArray forward(NDArray inputIds) {
        return inputIds.getNDArrayInternal().embedding(inputIds, weight.getArray(), SparseFormat.DENSE)
                .singletonOrThrow();
    }

    /** The matrix itself, shared with the LM head when {@code tie_word_embeddings} is set. */
    NDArray weight() {
        return weight.getArray();
    }
}
