package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.ChunkedLoss;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;

/**
 * Evaluation on the shared-prompt layout, each row padded as TRL's two rows pad it, gives TRL's {@code eval_}
 * metrics exactly, {@code eval_logits/*} over the padded rows included: for every family (windows shorter than the
 * rows, soft-caps, NoPE layers, long RoPE) and pairs of unequal lengths (padding in every row but the longest), every
 * metric equals the two-row evaluation's within 2e-6 (relative to max(1, |value|)), with the plain and the
 * chunked loss; windows that keep a pad from every real key give it TRL's uniform weights over its padded row.
 */
class EvalLayoutTest {

    static Iterable<String> cases() {
        return Golden.CASES;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void sharedPromptEvaluationGivesTrlsMetrics(String name) {
        List<TokenizedPair> pairs = SharedPromptExactnessTest.pairs(name.hashCode());
        PairSource source = PairSource.of(PreferenceDataset.of(pairs, 0));
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(Golden.dir(name), manager)) {
            for (ChunkedLoss chunked : new ChunkedLoss[] {ChunkedLoss.OFF, ChunkedLoss.ON}) {
                OrpoConfig.Builder config = OrpoConfig.builder().perDeviceEvalBatchSize(2).chunkedLoss(chunked)
                        .lossChunkValues(7L * model.config().vocabSize());
                Map<String, Double> twoRows = new OrpoTrainer(model, config.sharedPrompt(false).build()).evaluate(source);
                Map<String, Double> shared = new OrpoTrainer(model, config.sharedPrompt(true).build()).evaluate(source);
                assertEquals(twoRows.keySet(), shared.keySet());
                // float32 sums over other matmul shapes: log_odds_chosen, a difference of log-probs near -5, moves
                // by ~1e-6 absolute between the layouts
                twoRows.forEach((metric, want) -> assertEquals(want, shared.get(metric),
                        2e-6 * Math.max(1, Math.abs(want)), name + " " + chunked + " " + metric));
            }
        }
    }
}
