package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.loss.ChunkedOrpoLoss;
import org.orpo4j.loss.NonFiniteLogitsException;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.Owned;
import org.orpo4j.runtime.Scalars;

/**
 * The ORPO loss of one micro-batch from the model's final hidden states, in either step layout, from full logits
 * or chunk by chunk as {@link OrpoConfig#chunkedLoss()} says: the same numbers either way, only the memory peak
 * differs. Its backward yields {@code gradScale} times the gradients (1/g for accumulation, times the fp16 loss
 * scale): the plain loss is multiplied, the chunked one is told; the metrics are unscaled.
 */
final class StepLoss {

    private final CausalLm model;
    private final OrpoConfig config;
    private final OrpoLoss loss;
    private final ChunkedOrpoLoss chunked;

    StepLoss(CausalLm model, OrpoConfig config) {
        this.model = model;
        this.config = config;
        this.loss = OrpoLoss.builder().beta(config.beta()).alpha(config.alpha()).promptLoss(config.promptLoss())
                .build();
        this.chunked = ChunkedOrpoLoss.of(loss, config.lossChunkValues())
                .withLogitSoftcapping(model.config().finalLogitSoftcapping());
    }

    /**
     * Two-row pairs: hidden [2B, T, H] of the padded chosen and rejected rows.
     *
     * @throws NonFiniteLogitsException when the model produced NaN or Inf logits
     */
    OrpoLoss.Output twoRow(NDArray hidden, MicroBatch batch, double gradScale) {
        NDArray ids = batch.inputIds(); // [2B, T]
        long[] shape = ids.getShape().getShape();
        if (chunk(shape[0], shape[1])) {
            return chunked.compute(hidden, model.lmHeadWeight(), ids, batch.attentionMask(), batch.labels(),
                    gradScale);
        }
        NDArray logits = model.logits(hidden); // [2B, T, V]
        return scaled(loss.compute(logits, ids, batch.attentionMask(), batch.labels()), gradScale);
    }

    /**
     * Shared-prompt pairs: hidden [1, L, H] of the packed row; logits only at the predicting positions.
     *
     * @throws NonFiniteLogitsException when the model produced NaN or Inf logits
     */
    OrpoLoss.Output sharedPrompt(NDArray hidden, SharedPromptLayout layout, double gradScale) {
        SharedPromptLayout.Predictions predictions = layout.predictions(config.promptLoss());
        if (chunk(1, predictions.count() + 1L)) {
            return chunked.compute(hidden, model.lmHeadWeight(), predictions, gradScale);
        }
        NDArray index;
        try (NDArray host = hidden.getManager().create(predictions.position())) {
            index = Owned.copy(host, DataType.INT64); // the gather's backward reads it
        }
        NDArray predicting = hidden.reshape(layout.length(), hidden.getShape().get(2)).get(index); // [N, H]
        return scaled(loss.compute(model.logits(predicting), predictions), gradScale); // logits [N, V]
    }

    private boolean chunk(long rows, long positions) {
        return switch (config.chunkedLoss()) {
            case ON -> true;
            case OFF -> false;
            case AUTO -> ChunkedOrpoLoss.recommended(rows, positions, model.config().vocabSize());
        };
    }

    /** loss · gradScale through {@link Scalars}: DJL's mul(Number) frees its scalar while backward still reads it. */
    private static OrpoLoss.Output scaled(OrpoLoss.Output o, double gradScale) {
        return gradScale == 1 ? o : new OrpoLoss.Output(o.loss().mul(Scalars.like(o.loss(), gradScale)), o.metrics());
    }
}
