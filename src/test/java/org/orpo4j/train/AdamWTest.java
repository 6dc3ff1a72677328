package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.FusedOptim;
import org.orpo4j.runtime.NativeTests;

/** AdamW and global-norm clipping against torch.optim.AdamW + clip_grad_norm_ (golden/train/adamw.json). */
class AdamWTest {

    private static JsonNode golden;

    @BeforeAll
    static void readGolden() throws IOException {
        try (InputStream in = AdamWTest.class.getResourceAsStream("/golden/train/adamw.json")) {
            golden = new ObjectMapper().readTree(in);
        }
    }

    @Test
    void fiveClippedStepsWithDecayMatchTorch() {
        fiveClippedStepsMatchTorch(false);
    }

    /** torch's fused kernel through orpo4j's JNI: the same golden run (torch's single-tensor path) to 1e-6. */
    @Test
    @Tag("native")
    void theFusedKernelMatchesTorchToo() {
        NativeTests.assumeBf16(); // orpo4j's JNI, which carries the kernel
        assertTrue(FusedOptim.available(), "orpo4j's JNI without the fused AdamW");
        fiveClippedStepsMatchTorch(true);
    }

    private static void fiveClippedStepsMatchTorch(boolean fused) {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            Map<String, NDArray> params = initialParams(manager);
            try (AdamW adamw = optimizer(params, AdamW.BLOCK_VALUES, fused)) {
                assertEquals(fused, adamw.fused());
                runSteps(manager, params, adamw, 0, 5);
                assertEquals(5, adamw.stepCount());
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    assertClose(golden.get("final").get(e.getKey()), e.getValue(), 1e-6, e.getKey());
                    JsonNode st = golden.get("state").get(e.getKey());
                    assertClose(st.get("exp_avg"), adamw.state().get("exp_avg." + e.getKey()), 1e-7, "exp_avg");
                    assertClose(st.get("exp_avg_sq"), adamw.state().get("exp_avg_sq." + e.getKey()), 1e-7, "v");
                }
            }
        }
    }

    /** Row blocks (here of 2 values: every row of the matrix, halves of the vectors) give the same bits. */
    @Test
    void updatingInRowBlocksGivesTheSameBits() {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            Map<String, NDArray> whole = initialParams(manager);
            Map<String, NDArray> blocked = initialParams(manager);
            try (AdamW a = optimizer(whole, AdamW.BLOCK_VALUES, false); AdamW b = optimizer(blocked, 2, false)) {
                runSteps(manager, whole, a, 0, 5);
                runSteps(manager, blocked, b, 0, 5);
                for (String name : whole.keySet()) {
                    assertArrayEquals(whole.get(name).toFloatArray(), blocked.get(name).toFloatArray(), name);
                    for (String moment : new String[] {"exp_avg.", "exp_avg_sq."}) {
                        assertArrayEquals(a.state().get(moment + name).toFloatArray(),
                                b.state().get(moment + name).toFloatArray(), moment + name);
                    }
                }
                assertClose(golden.get("final").get("model.layers.0.mlp.up_proj.weight"),
                        blocked.get("model.layers.0.mlp.up_proj.weight"), 1e-6, "blocked up_proj");
            }
        }
    }

    @Test
    void restoredStateContinuesTheSameTrajectory() {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            Map<String, NDArray> first = initialParams(manager);
            Map<String, NDArray> savedState = new LinkedHashMap<>();
            Map<String, float[]> savedWeights = new LinkedHashMap<>();
            long savedStep;
            try (AdamW adamw = optimizer(first)) {
                runSteps(manager, first, adamw, 0, 3);
                adamw.state().forEach((k, v) -> savedState.put(k, manager.create(v.toFloatArray(), v.getShape())));
                first.forEach((k, v) -> savedWeights.put(k, v.toFloatArray()));
                savedStep = adamw.stepCount();
            }
            Map<String, NDArray> resumed = new LinkedHashMap<>();
            savedWeights.forEach((k, v) -> {
                NDArray p = manager.create(v, first.get(k).getShape());
                p.setRequiresGradient(true);
                resumed.put(k, p);
            });
            try (AdamW adamw = optimizer(resumed)) {
                adamw.loadState(savedStep, savedState);
                savedState.values().forEach(v -> v.muli(1000f)); // the caller's arrays: the optimizer holds copies
                runSteps(manager, resumed, adamw, 3, 5);
                for (Map.Entry<String, NDArray> e : resumed.entrySet()) {
                    assertClose(golden.get("final").get(e.getKey()), e.getValue(), 1e-6, e.getKey());
                }
                savedState.remove(savedState.keySet().iterator().next()); // (the values are x1000 by now: shapes only)
                assertThrows(IllegalArgumentException.class, () -> adamw.loadState(3, savedState));
            }
        }
    }

    @Test
    void stepsAllocateNothingLasting() {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            Map<String, NDArray> params = initialParams(manager);
            try (AdamW adamw = optimizer(params)) {
                runSteps(manager, params, adamw, 0, 1);
                int before = manager.getManagedArrays().size();
                runSteps(manager, params, adamw, 1, 5);
                assertEquals(before, manager.getManagedArrays().size());
            }
        }
    }

    @Test
    void hfNoDecayRule() {
        assertTrue(AdamW.decays("model.layers.0.self_attn.q_proj.weight"));
        assertTrue(AdamW.decays("model.embed_tokens.weight"));
        assertTrue(AdamW.decays("lm_head.weight"));
        assertFalse(AdamW.decays("model.layers.0.self_attn.q_proj.bias"));
        assertFalse(AdamW.decays("model.layers.0.input_layernorm.weight"));
        assertFalse(AdamW.decays("model.layers.3.post_attention_layernorm.weight"));
        assertFalse(AdamW.decays("model.norm.weight"));
        assertFalse(AdamW.decays("model.layers.0.self_attn.q_norm.weight"));
        assertFalse(AdamW.decays("model.layers.0.self_attn.k_norm.weight"));
        assertTrue(AdamW.decays("model.normalizer_free.weight"));
    }

    @Test
    void clipReportsNormBeforeClippingAndScalesToMaxNorm() {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            NDArray a = manager.create(new float[] {3f, 0f});
            NDArray b = manager.create(new float[] {0f, 4f, 0f});
            a.setRequiresGradient(true);
            b.setRequiresGradient(true);
            setGradients(manager, Map.of("a", a, "b", b), Map.of("a", new float[] {3f, 0f}, "b",
                    new float[] {0f, 4f, 0f}));
            assertEquals(5.0, Gradients.clipGlobalNorm(java.util.List.of(a, b), 10.0), 1e-6);
            assertEquals(4f, b.getGradient().getFloat(1), 0f); // below max: untouched
            assertEquals(5.0, Gradients.clipGlobalNorm(java.util.List.of(a, b), 1.0), 1e-6);
            double scale = 1.0 / (5.0 + 1e-6);
            assertEquals(3 * scale, a.getGradient().getFloat(0), 1e-6);
            assertEquals(4 * scale, b.getGradient().getFloat(1), 1e-6);
            Gradients.zero(java.util.List.of(a, b));
            assertEquals(0f, a.getGradient().abs().sum().getFloat(), 0f);
        }
    }

    /** The optimizer the trainer makes: fused where orpo4j's JNI is loaded. */
    private static AdamW optimizer(Map<String, NDArray> params) {
        return optimizer(params, AdamW.BLOCK_VALUES, true);
    }

    private static AdamW optimizer(Map<String, NDArray> params, long blockValues, boolean fuse) {
        JsonNode betas = golden.get("betas");
        return new AdamW(params, betas.get(0).asDouble(), betas.get(1).asDouble(), golden.get("eps").asDouble(),
                golden.get("weight_decay").asDouble(), AdamW::decays, blockValues, fuse);
    }

    private static Map<String, NDArray> initialParams(NDManager manager) {
        Map<String, NDArray> params = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = golden.get("initial").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            long[] shape = new ObjectMapper().convertValue(e.getValue().get("shape"), long[].class);
            NDArray p = manager.create(floats(e.getValue().get("values")), new Shape(shape));
            p.setRequiresGradient(true);
            params.put(e.getKey(), p);
        }
        return params;
    }

    /** Steps [from, to) of the golden run: set gradients, clip, step, zero. */
    private static void runSteps(NDManager manager, Map<String, NDArray> params, AdamW adamw, int from, int to) {
        double maxNorm = golden.get("max_norm").asDouble();
        for (int s = from; s < to; s++) {
            JsonNode step = golden.get("steps").get(s);
            Map<String, float[]> grads = new LinkedHashMap<>();
            params.keySet().forEach(n -> grads.put(n, floats(step.get("grads").get(n))));
            setGradients(manager, params, grads);
            double norm = Gradients.clipGlobalNorm(params.values(), maxNorm);
            assertEquals(step.get("grad_norm").asDouble(), norm, 1e-5 * norm, "grad_norm at step " + s);
            adamw.step(step.get("lr").asDouble());
            Gradients.zero(params.values());
        }
    }

    /** Makes each parameter's gradient equal to the given values: backward of sum(G * p). */
    private static void setGradients(NDManager manager, Map<String, NDArray> params, Map<String, float[]> grads) {
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = manager.getEngine().newGradientCollector()) {
            NDArray total = step.zeros(new Shape());
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                NDArray g = step.create(grads.get(e.getKey()), e.getValue().getShape());
                total = total.add(g.mul(e.getValue()).sum());
            }
            collector.backward(total);
        }
    }

    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    static void assertClose(JsonNode expected, NDArray actual, double tol, String what) {
        float[] a = actual.toFloatArray();
        assertEquals(expected.size(), a.length, what + " size");
        for (int i = 0; i < a.length; i++) {
            assertEquals(expected.get(i).asDouble(), a[i], tol, what + "[" + i + "]");
        }
    }
}
