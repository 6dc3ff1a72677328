package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Optional;
import java.util.function.IntConsumer;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.TrainingForward;

/**
 * One micro-batch as the model runs it, in either layout: TRL's two padded rows ({@link MicroBatch}) or the
 * shared-prompt packed row ({@link SharedPromptLayout}). Training and evaluation both run batches through it, so
 * the forward pass, the loss and the metrics follow one path whatever the layout.
 */
sealed interface StepBatch {

    /** The forward pass of a training micro-batch, recorded for backward (checkpointed when asked). */
    TrainingForward forward(CausalLm model, boolean checkpoint, IntConsumer beforeLayer);

    /** The last hidden states, for evaluation (run under no-grad by the caller). */
    NDArray hidden(CausalLm model);

    /** The ORPO loss and metrics from {@code hidden}, its backward scaled by {@code gradScale}. */
    OrpoLoss.Output loss(StepLoss loss, NDArray hidden, double gradScale);

    /** TRL's tokens seen: the two rows' real tokens. */
    long realTokens();

    /** The positions the model computed. */
    long computedTokens();

    /**
     * The rows {@code rows} of {@code source} on {@code manager}: packed when {@code sharedPrompt} and the source can
     * split its pairs ({@code padded}: with the two-row padding, for TRL's exact {@code logits/*}), else two rows.
     */
    static StepBatch of(PairSource source, int[] rows, boolean sharedPrompt, boolean padded, NDManager manager) {
        Optional<SharedPromptLayout> layout = !sharedPrompt ? Optional.empty()
                : padded ? source.paddedSharedPrompt(rows) : source.sharedPrompt(rows);
        if (layout.isPresent()) {
            SharedPromptLayout l = layout.get();
            return new Packed(l, manager.create(l.ids(), new Shape(1, l.length())));
        }
        return new TwoRows(source.collate(rows, manager));
    }

    /** TRL's concatenated batch: chosen rows then rejected rows, right-padded. */
    record TwoRows(MicroBatch batch) implements StepBatch {
        @Override
        public TrainingForward forward(CausalLm model, boolean checkpoint, IntConsumer beforeLayer) {
            return model.trainingForward(batch.inputIds(), batch.attentionMask(), checkpoint, beforeLayer);
        }

        @Override
        public NDArray hidden(CausalLm model) {
            return model.hiddenStates(batch.inputIds(), batch.attentionMask());
        }

        @Override
        public OrpoLoss.Output loss(StepLoss loss, NDArray hidden, double gradScale) {
            return loss.twoRow(hidden, batch, gradScale);
        }

        @Override
        public long realTokens() {
            return batch.tokens();
        }

        @Override
        public long computedTokens() {
            return batch.inputIds().size();
        }
    }

    /** The pairs packed into one row, each prompt computed once. */
    record Packed(SharedPromptLayout layout, NDArray ids) implements StepBatch {
        @Override
        public TrainingForward forward(CausalLm model, boolean checkpoint, IntConsumer beforeLayer) {
            return model.trainingForward(ids, layout, checkpoint, beforeLayer);
        }

        @Override
        public NDArray hidden(CausalLm model) {
            return model.hiddenStates(ids, layout);
        }

        @Override
        public OrpoLoss.Output loss(StepLoss loss, NDArray hidden, double gradScale) {
            return loss.sharedPrompt(hidden, layout, gradScale);
        }

        @Override
        public long realTokens() {
            return layout.twoRowRealTokens();
        }

        @Override
        public long computedTokens() {
            return layout.length();
        }
    }
}
