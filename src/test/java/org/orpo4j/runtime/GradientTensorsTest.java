package org.orpo4j.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A parameter's own gradient tensor: absent before the first backward, created as dense zeros on request. */
class GradientTensorsTest extends WithCpuManager {

    /** Before any backward DJL's getGradient() hands out unrelated zeros: writing into them is lost. */
    @Test
    void djlZerosBeforeTheFirstBackwardAreNotTheGradient() {
        try (NDManager m = root.newSubManager()) {
            NDArray w = m.arange(6f).reshape(2, 3);
            w.setRequiresGradient(true);
            assertNull(GradientTensors.existing(w));
            w.getGradient().addi(1f);
            assertNull(GradientTensors.existing(w), "DJL's zeros did not become the gradient");
        }
    }

    /** The created gradient is the one backward adds into: in-place writes and backward both accumulate. */
    @Test
    void createdGradientIsWhatBackwardAddsInto() {
        try (NDManager m = root.newSubManager()) {
            NDArray w = m.arange(6f).reshape(2, 3);
            w.setRequiresGradient(true);
            NDArray v = m.ones(new Shape(3));
            v.setRequiresGradient(true);
            GradientTensors.materialize(List.of(w, v));
            try (NDArray g = GradientTensors.of(w)) {
                assertArrayEquals(new float[6], g.toFloatArray());
                g.get("0").addi(10f); // row 0 of the gradient itself
            }
            try (GradientCollector collector = root.getEngine().newGradientCollector()) {
                collector.backward(w.mul(w).sum()); // d/dw = 2w
            }
            try (NDArray g = GradientTensors.existing(w)) {
                assertNotNull(g);
                assertArrayEquals(new float[] {10, 12, 14, 6, 8, 10}, g.toFloatArray());
            }
            try (NDArray g = GradientTensors.existing(v)) {
                assertArrayEquals(new float[3], g.toFloatArray(), "materialised, untouched by that backward");
            }
        }
    }
}
