package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.orpo4j.runtime.WithCpuManager;

/**
 * Logits of tiny random checkpoints of every family against transformers' own AutoModelForCausalLM (eager attention,
 * float32; model_golden.py, families_golden.py), on a right-padded batch with a fully padded row; windows are shorter
 * than the sequences and soft-caps below the scores' size. Tolerance: the max-norm of the error is at most 1e-5 times
 * the max-norm of the reference logits, over every position of every row.
 */
class CausalLmGoldenTest extends WithCpuManager {

    static Iterable<String> cases() {
        return Golden.CASES;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void logitsMatchTheReference(String name) {
        Golden golden = Golden.load(name);
        try (CausalLm lm = CausalLm.load(golden.dir(), root); NDManager step = root.newSubManager()) {
            NDArray logits = lm.forward(golden.ids(step), golden.mask(step));
            assertArrayEquals(golden.logitsShape(), logits.getShape().getShape());
            double error = golden.logitsError(logits.toFloatArray());
            assertTrue(error <= 1e-5, name + ": max |error| / max |logit| = " + error + " > 1e-5");
            System.out.printf("%s vs transformers: max |error| / max |logit| = %.2e%n", name, error);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void logitsAreHiddenStatesTimesTheLmHead(String name) {
        Golden golden = Golden.load(name);
        try (CausalLm lm = CausalLm.load(golden.dir(), root); NDManager step = root.newSubManager()) {
            NDArray ids = golden.ids(step);
            NDArray mask = golden.mask(step);
            NDArray hidden = lm.hiddenStates(ids, mask); // [N, T, H]
            assertEquals(lm.config().hiddenSize(), hidden.getShape().get(2));
            assertArrayEquals(new long[] {lm.config().vocabSize(), lm.config().hiddenSize()},
                    lm.lmHeadWeight().getShape().getShape());
            NDArray viaHead = hidden.matMul(lm.lmHeadWeight().transpose()); // [N, T, V]
            Double cap = lm.config().finalLogitSoftcapping(); // gemma2, gemma3: cap·tanh(z/cap)
            if (cap != null) {
                viaHead = viaHead.div(cap).tanh().mul(cap);
            }
            assertTrue(viaHead.allClose(lm.forward(ids, mask), 1e-5, 1e-5, false));
        }
    }
}
