package org.orpo4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.WithCpuManager;

/**
 * (f) Metrics and d loss / d logits against src/test/python/orpo_loss_golden.py, an independent torch
 * implementation of TRL's ORPOTrainer math (B = 3, T = 7, V = 11, prompts and padding, two option sets).
 */
class OrpoLossGoldenTest extends WithCpuManager {

    private static JsonNode golden;
    private static TestBatch batch;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = OrpoLossGoldenTest.class.getResourceAsStream("/golden/loss/orpo_loss_golden.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        int rows = 2 * golden.get("pairs").asInt();
        int length = golden.get("length").asInt();
        int vocab = golden.get("vocab").asInt();
        double[][][] logits = new double[rows][length][vocab];
        JsonNode flat = golden.get("logits");
        assertEquals(rows * length * vocab, flat.size());
        int k = 0;
        for (int i = 0; i < rows; i++) {
            for (int t = 0; t < length; t++) {
                for (int v = 0; v < vocab; v++) {
                    logits[i][t][v] = flat.get(k++).asDouble();
                }
            }
        }
        batch = new TestBatch(logits, tokens(golden.get("input_ids")), tokens(golden.get("attention_mask")),
                tokens(golden.get("labels")));
    }

    @Test
    void metricsAndGradientsMatchTheTorchReference() {
        assertEquals(2, golden.get("runs").size());
        for (JsonNode run : golden.get("runs")) {
            OrpoLoss loss = OrpoLoss.builder()
                    .alpha(run.get("alpha").asDouble())
                    .beta(run.get("beta").asDouble())
                    .promptLoss(run.get("prompt_loss").asBoolean())
                    .build();
            String label = "alpha=" + loss.alpha() + " beta=" + loss.beta() + " promptLoss=" + loss.promptLoss();
            JsonNode expected = run.get("metrics");
            assertEquals(OrpoMetrics.NAMES.size(), expected.size(), "golden metric names");
            for (DataType type : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                double tol = type == DataType.FLOAT64 ? 1e-12 : 2e-6;
                var actual = LossTesting.metrics(loss, batch, root, type).toMap("");
                for (String name : OrpoMetrics.NAMES) {
                    double e = expected.get(name).asDouble();
                    assertEquals(e, actual.get(name), tol + tol * Math.abs(e), label + " " + type + " " + name);
                }
                double[] grad = LossTesting.gradient(loss, batch, root, type);
                JsonNode expectedGrad = run.get("grad");
                assertEquals(expectedGrad.size(), grad.length);
                double gradTol = type == DataType.FLOAT64 ? 1e-13 : 1e-7;
                boolean someNonZero = false;
                for (int j = 0; j < grad.length; j++) {
                    double e = expectedGrad.get(j).asDouble();
                    someNonZero |= e != 0;
                    assertEquals(e, grad[j], gradTol, label + " " + type + " grad[" + j + "]");
                }
                assertTrue(someNonZero);
            }
        }
    }

    private static long[][] tokens(JsonNode rows) {
        long[][] out = new long[rows.size()][];
        for (int i = 0; i < rows.size(); i++) {
            out[i] = new long[rows.get(i).size()];
            for (int t = 0; t < out[i].length; t++) {
                out[i][t] = rows.get(i).get(t).asLong();
            }
        }
        return out;
    }
}
