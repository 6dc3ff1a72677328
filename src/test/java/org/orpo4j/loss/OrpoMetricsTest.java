package org.orpo4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OrpoMetricsTest {

    private static final OrpoMetrics A = new OrpoMetrics(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    private static final OrpoMetrics B = new OrpoMetrics(3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);

    @Test
    void toMapUsesTrlNamesInOrderWithThePrefix() {
        Map<String, Double> train = A.toMap("");
        assertEquals(List.of("loss", "nll_loss", "log_odds_ratio", "log_odds_chosen", "rewards/chosen",
                "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected",
                "logits/chosen", "logits/rejected"), List.copyOf(train.keySet()));
        assertEquals(5.0, train.get("rewards/chosen"));
        assertEquals(12.0, train.get("logits/rejected"));
        Map<String, Double> eval = A.toMap("eval_");
        assertEquals(2.0, eval.get("eval_nll_loss"));
        assertEquals(7.0, eval.get("eval_rewards/accuracies"));
    }

    @Test
    void meanAveragesEachComponent() {
        OrpoMetrics mean = OrpoMetrics.mean(List.of(A, B));
        assertEquals(new OrpoMetrics(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13), mean);
        assertEquals(A, OrpoMetrics.mean(List.of(A)));
        assertThrows(IllegalArgumentException.class, () -> OrpoMetrics.mean(List.of()));
    }
}
