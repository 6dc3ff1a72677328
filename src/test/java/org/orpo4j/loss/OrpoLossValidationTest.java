package org.orpo4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.WithCpuManager;

/** Bad input raises an IllegalArgumentException naming the array or row at fault, and leaves nothing behind. */
class OrpoLossValidationTest extends WithCpuManager {

    private static final OrpoLoss LOSS = OrpoLoss.builder().build();

    @Test
    void mismatchedShapesNameTheArrayAndBothShapes() {
        TestBatch b = TestBatch.handBuilt();
        TestBatch longer = b.padded(1, 0, 0.0);
        assertMessage(b, longer.labels, "labels has shape (4, 7) but logits has shape (4, 6, 5)", "(4, 6)");
        try (NDManager step = root.newSubManager()) {
            NDArray logits = b.logits(step, DataType.FLOAT32);
            String m = fails(() -> LOSS.compute(logits, longer.inputIds(step), b.attentionMask(step), b.labels(step)));
            assertTrue(m.contains("inputIds has shape (4, 7)"), m);
            m = fails(() -> LOSS.compute(logits, b.inputIds(step), longer.attentionMask(step), b.labels(step)));
            assertTrue(m.contains("attentionMask has shape (4, 7)"), m);
            m = fails(() -> LOSS.compute(logits.reshape(4, 30), b.inputIds(step), b.attentionMask(step),
                    b.labels(step)));
            assertTrue(m.contains("logits must be [2B, T, V], got shape (4, 30)"), m);
        }
    }

    @Test
    void oddRowCountIsRejected() {
        try (NDManager step = root.newSubManager()) {
            NDArray ids = step.zeros(new Shape(3, 4), DataType.INT64);
            String m = fails(() -> LOSS.compute(step.zeros(new Shape(3, 4, 5)), ids, ids, ids));
            assertTrue(m.contains("logits has 3 rows") && m.contains("even"), m);
        }
    }

    @Test
    void rowWithoutCompletionTokensIsNamedWithItsSide() {
        TestBatch rejected = TestBatch.handBuilt();
        rejected.labels[3] = new long[] {3, -100, -100, -100, -100, -100}; // a label at position 0 is never predicted
        assertMessage(rejected, rejected.labels, "row 3 (rejected, pair 1) has no completion tokens");
        TestBatch chosen = TestBatch.handBuilt();
        java.util.Arrays.fill(chosen.labels[1], -100);
        assertMessage(chosen, chosen.labels, "row 1 (chosen, pair 1) has no completion tokens");
    }

    @Test
    void nonFiniteLogitsNameTheRow() {
        TestBatch nan = TestBatch.handBuilt();
        nan.logits[2][4][1] = Double.NaN;
        assertMessage(nan, nan.labels, "logits of row 2 (rejected, pair 0) are not finite");
        TestBatch inf = TestBatch.handBuilt();
        inf.logits[1][0][3] = Double.POSITIVE_INFINITY;
        assertMessage(inf, inf.labels, "logits of row 1 (chosen, pair 1) are not finite");
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreNamedBeforeAnyGather() {
        TestBatch label = TestBatch.handBuilt();
        label.labels[0][3] = 7;
        assertMessage(label, label.labels, "labels of row 0 (chosen, pair 0) hold token id 7 outside the vocabulary [0, 5)");
        TestBatch negative = TestBatch.handBuilt();
        negative.labels[2][2] = -1; // only -100 means "ignored"
        assertMessage(negative, negative.labels, "labels of row 2 (rejected, pair 0) hold token id -1");
        TestBatch id = TestBatch.handBuilt();
        id.inputIds[1][1] = 5;
        assertMessage(id, id.labels, "inputIds of row 1 (chosen, pair 1) hold token id 5");
    }

    @Test
    void unsupportedDtypesAndLengthsAreRejected() {
        try (NDManager step = root.newSubManager()) {
            NDArray ids = step.zeros(new Shape(2, 3), DataType.INT64);
            String m = fails(() -> LOSS.compute(step.zeros(new Shape(2, 3, 4), DataType.INT32), ids, ids, ids));
            assertTrue(m.contains("logits must be FLOAT32 or FLOAT64 (got int32)"), m);
            m = fails(() -> LOSS.compute(step.zeros(new Shape(2, 3, 4)), ids.toType(DataType.FLOAT32, false), ids, ids));
            assertTrue(m.contains("inputIds must hold integers"), m);
            NDArray one = step.zeros(new Shape(2, 1), DataType.INT64);
            m = fails(() -> LOSS.compute(step.zeros(new Shape(2, 1, 4)), one, one, one));
            assertTrue(m.contains("sequence length 1"), m);
        }
        assertTrue(fails(() -> OrpoLoss.builder().beta(-0.1).build()).contains("beta"));
        assertTrue(fails(() -> OrpoLoss.builder().alpha(Double.NaN).build()).contains("alpha"));
    }

    @Test
    void rowStatsRejectsSumsThatWouldAverageOverNothing() {
        try (NDManager step = root.newSubManager()) {
            NDArray two = step.zeros(new Shape(2));
            NDArray one = step.zeros(new Shape(1));
            String m = fails(() -> new RowStats(two, new long[] {4, 0}, one, new long[] {6}, two, 10));
            assertTrue(m.contains("row 1 (rejected, pair 0) has no completion tokens"), m);
            m = fails(() -> new RowStats(two, new long[] {4, 2}, two, new long[] {6}, two, 10));
            assertTrue(m.contains("nllSum has shape (2), expected (1)"), m);
        }
    }

    /** Runs the loss on b with {@code labels} swapped in; checks the message and that no array is left behind. */
    private static void assertMessage(TestBatch b, long[][] labels, String... parts) {
        try (NDManager step = root.newSubManager()) {
            TestBatch withLabels = new TestBatch(b.logits, b.inputIds, b.attentionMask, labels);
            NDArray logits = b.logits(step, DataType.FLOAT32);
            NDArray ids = b.inputIds(step);
            NDArray mask = b.attentionMask(step);
            NDArray lab = withLabels.labels(step);
            String m = fails(() -> LOSS.compute(logits, ids, mask, lab));
            for (String part : parts) {
                assertTrue(m.contains(part), "message lacks \"" + part + "\": " + m);
            }
            assertEquals(4, step.getManagedArrays().size(), "the failed call left arrays behind");
        }
    }

    private static String fails(Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        return e.getMessage();
    }
}
