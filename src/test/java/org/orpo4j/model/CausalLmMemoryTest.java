package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.DjlRuntime;

/**
 * The lifetime contract: a forward + backward run in a step sub-manager leaves exactly the same live arrays in the
 * model's manager (nothing per-step attached to it), and gives finite gradients even for a fully padded row.
 */
class CausalLmMemoryTest {

    @Test
    void forwardAndBackwardInAStepManagerLeaveTheModelManagerUnchanged() {
        ModelConfig config = ModelConfig.builder("qwen3").vocabSize(64).hiddenSize(32).numAttentionHeads(4)
                .numKeyValueHeads(2).headDim(16).intermediateSize(48).tieWordEmbeddings(true).build();
        try (NDManager root = DjlRuntime.newManager(Device.cpu());
                CausalLm lm = CausalLm.random(config, root, 7)) {
            BaseNDManager modelManager = (BaseNDManager) lm.manager();
            Set<NDArray> before = live(modelManager);
            assertEquals(lm.parameters().size(), before.size(), "only the parameters live in the model manager");
            for (int round = 0; round < 2; round++) {
                try (NDManager step = root.newSubManager();
                        GradientCollector collector = root.getEngine().newGradientCollector()) {
                    NDArray ids = step.create(new long[] {5, 9, 3, 7, 4, 0, 0, 0, 0}, new Shape(3, 3));
                    NDArray mask = step.create(new long[] {1, 1, 1, 1, 1, 0, 0, 0, 0}, new Shape(3, 3));
                    NDArray logits = lm.forward(ids, mask); // [3, 3, V]
                    collector.backward(logits.square().mean());
                }
                assertEquals(before, live(modelManager), "round " + round + ": model manager changed");
            }
            for (Map.Entry<String, NDArray> e : lm.parameters().entrySet()) {
                try (NDArray grad = e.getValue().getGradient()) {
                    assertTrue(grad.isInfinite().logicalOr(grad.isNaN()).none().getBoolean(),
                            e.getKey() + ": non-finite gradient");
                    assertTrue(grad.abs().sum().getFloat() > 0, e.getKey() + ": no gradient reached it");
                }
            }
        }
    }

    @Test
    void generationWithTheKvCacheLeavesTheModelManagerUnchanged() {
        ModelConfig config = ModelConfig.builder("mistral").vocabSize(64).hiddenSize(32).intermediateSize(48).build();
        try (NDManager root = DjlRuntime.newManager(Device.cpu());
                CausalLm lm = CausalLm.random(config, root, 3)) {
            BaseNDManager modelManager = (BaseNDManager) lm.manager();
            Set<NDArray> before = live(modelManager);
            long[] out = new Generator(lm).generate(new long[] {1, 5, 7}, new GenerationConfig(8, 0.8, 0.9, 5, null));
            assertEquals(8, out.length);
            assertEquals(before, live(modelManager));
        }
    }

    private static Set<NDArray> live(BaseNDManager manager) {
        Set<NDArray> arrays = Collections.newSetFromMap(new IdentityHashMap<>());
        arrays.addAll(manager.getManagedArrays());
        return arrays;
    }
}
