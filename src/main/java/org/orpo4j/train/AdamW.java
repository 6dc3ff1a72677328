package org.orpo4j.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.orpo4j.runtime.FusedOptim;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.Owned;
import org.orpo4j.runtime.Scalars;

/**
 * {@code torch.optim.AdamW} (no amsgrad) on DJL NDArrays, updating the parameters in place under no-grad. Written
 * here because DJL's AdamW decays every tensor and hides its state; this one's state ({@code step}, {@code exp_avg},
 * {@code exp_avg_sq} per parameter) lives on the parameters' device and can be checkpointed. With orpo4j's JNI the
 * update is torch's fused kernel ({@code fused=True}, {@link FusedOptim}: one pass over the tensors, a few launches
 * on a GPU); without it, torch's single-tensor path in element-wise ops. Per step, with gradient {@code g}:
 * <pre>
 *   w   *= 1 - lr*wd                 (only when decays(name))
 *   m    = b1*m + (1-b1)*g
 *   v    = b2*v + (1-b2)*g*g
 *   w   -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * </pre>
 */
public final class AdamW implements AutoCloseable {

    /**
     * HF Trainer's no-decay rule ({@code get_decay_parameter_names}): biases and normalisation weights are not
     * decayed. A name is exempt when it contains {@code bias}, {@code layernorm} or {@code rmsnorm}, has a
     * component named {@code norm}, or a component ending in {@code _norm} (llama's {@code input_layernorm},
     * {@code post_attention_layernorm}, {@code model.norm}, qwen3's {@code q_norm}/{@code k_norm}).
     */
    private static final Pattern NO_DECAY =
            Pattern.compile("bias|layernorm|rmsnorm|(?:^|\\.)norm(?:$|\\.)|_norm(?:$|\\.)", Pattern.CASE_INSENSITIVE);

    /**
     * Tensors above this many values are updated in row blocks of at most this size: the temporaries of an update
     * then stay a few MB instead of growing with the largest tensor (a [V, H] embedding).
     */
    static final long BLOCK_VALUES = 1L << 20;

    private static final String EXP_AVG = "exp_avg.";
    private static final String EXP_AVG_SQ = "exp_avg_sq.";

    private final Map<String, NDArray> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Predicate<String> decays;
    private final long blockValues;
    private final boolean fused;
    private final NDManager stateManager;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private long step;

    /**
     * @param params      the trainable parameters by name (their gradients are read at each step)
     * @param decays      which names receive weight decay; {@link #decays(String)} is HF's rule
     */
    public AdamW(Map<String, NDArray> params, double beta1, double beta2, double eps, double weightDecay,
            Predicate<String> decays) {
        this(params, beta1, beta2, eps, weightDecay, decays, BLOCK_VALUES, true);
    }

    /**
     * As the public constructor; with {@code fuse} false the element-wise update runs even where the fused kernel is
     * available, in row blocks of at most {@code blockValues} values (tests use tiny ones).
     */
    AdamW(Map<String, NDArray> params, double beta1, double beta2, double eps, double weightDecay,
            Predicate<String> decays, long blockValues, boolean fuse) {
        if (params.isEmpty()) {
            throw new IllegalArgumentException("AdamW needs at least one parameter");
        }
        this.params = new LinkedHashMap<>(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decays = decays;
        this.blockValues = blockValues;
        this.fused = fuse && FusedOptim.available() && FusedOptim.accepts(List.copyOf(params.values()));
        this.stateManager = params.values().iterator().next().getManager().newSubManager();
        for (Map.Entry<String, NDArray> e : this.params.entrySet()) {
            NDArray p = e.getValue();
            expAvg.put(e.getKey(), stateManager.zeros(p.getShape(), p.getDataType(), p.getDevice()));
            expAvgSq.put(e.getKey(), stateManager.zeros(p.getShape(), p.getDataType(), p.getDevice()));
        }
    }

    /** AdamW with the config's betas, epsilon and weight decay and HF's no-decay rule. */
    public static AdamW of(Map<String, NDArray> params, OrpoConfig config) {
        return new AdamW(params, config.adamBeta1(), config.adamBeta2(), config.adamEpsilon(),
                config.weightDecay(), AdamW::decays);
    }

    /**
     * As {@link #of}, but always torch's single-tensor update in element-wise ops, never the fused kernel: its
     * results are torch's {@code foreach=False} path bit for bit (the fused kernel's differ in the last bits).
     */
    public static AdamW elementWise(Map<String, NDArray> params, OrpoConfig config) {
        return new AdamW(params, config.adamBeta1(), config.adamBeta2(), config.adamEpsilon(),
                config.weightDecay(), AdamW::decays, BLOCK_VALUES, false);
    }

    /** HF's rule: false for biases and norm weights, true for everything else (embeddings included). */
    public static boolean decays(String name) {
        return !NO_DECAY.matcher(name).find();
    }

    /** Optimizer steps taken so far (torch's {@code state['step']}). */
    public long stepCount() {
        return step;
    }

    /** The step's constants, made once per step as host scalars (a GPU reads them as kernel arguments). */
    private record Constants(NDArray beta1, NDArray oneMinusBeta1, NDArray beta2, NDArray oneMinusBeta2,
            NDArray eps, NDArray stepSize, NDArray biasCorrection2Sqrt, NDArray decayFactor) {}

    /** One update of every parameter from its current gradient with learning rate {@code lr}. */
    public void step(double lr) {
        step++;
        if (fused) {
            fusedStep(lr);
            return;
        }
        double biasCorrection1 = 1 - Math.pow(beta1, step);
        NDArray like = params.values().iterator().next();
        try (GradMode noGrad = GradMode.enabled(false); NDManager scratch = stateManager.newSubManager()) {
            NDArray anchor = scratch.zeros(new Shape(), like.getDataType(), like.getDevice());
            Constants c = new Constants(Scalars.like(anchor, (float) beta1),
                    Scalars.like(anchor, (float) (1 - beta1)), Scalars.like(anchor, (float) beta2),
                    Scalars.like(anchor, (float) (1 - beta2)), Scalars.like(anchor, (float) eps),
                    Scalars.like(anchor, (float) (lr / biasCorrection1)),
                    Scalars.like(anchor, (float) Math.sqrt(1 - Math.pow(beta2, step))),
                    Scalars.like(anchor, (float) (1 - lr * weightDecay)));
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                String name = e.getKey();
                NDArray w = e.getValue();
                NDArray m = expAvg.get(name);
                NDArray v = expAvgSq.get(name);
                long rows = w.getShape().dimension() == 0 ? 1 : w.getShape().get(0);
                long rowValues = Math.max(1, w.size() / Math.max(1, rows));
                long blockRows = Math.max(1, blockValues / rowValues);
                boolean decay = weightDecay != 0 && decays.test(name);
                try (NDArray g = w.getGradient()) {
                    if (blockRows >= rows) {
                        update(w, g, m, v, decay, c);
                        continue;
                    }
                    for (long r0 = 0; r0 < rows; r0 += blockRows) {
                        // in-place ops on row views write through to the tensors; one block's temporaries at a time
                        try (NDScope scope = new NDScope()) {
                            NDIndex block = new NDIndex().addSliceDim(r0, Math.min(rows, r0 + blockRows));
                            update(w.get(block), g.get(block), m.get(block), v.get(block), decay, c);
                        }
                    }
                }
            }
        }
    }

    /** Whether steps run torch's fused kernel (orpo4j's JNI, float32 tensors on one device). */
    public boolean fused() {
        return fused;
    }

    /** One fused update per weight-decay group: the kernel takes one decay for all its tensors. */
    private void fusedStep(double lr) {
        try (GradMode noGrad = GradMode.enabled(false)) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            try {
                params.forEach((name, w) -> grads.put(name, w.getGradient()));
                for (boolean decayed : new boolean[] {true, false}) {
                    List<String> group = params.keySet().stream()
                            .filter(name -> (weightDecay != 0 && decays.test(name)) == decayed).toList();
                    if (!group.isEmpty()) {
                        FusedOptim.adamw(group.stream().map(params::get).toList(),
                                group.stream().map(grads::get).toList(), group.stream().map(expAvg::get).toList(),
                                group.stream().map(expAvgSq::get).toList(), step, lr, beta1, beta2,
                                decayed ? weightDecay : 0, eps);
                    }
                }
            } finally {
                grads.values().forEach(NDArray::close);
            }
        }
    }

    /** The update of one tensor (or row block of one) in place, its temporaries closed on the way. */
    private static void update(NDArray w, NDArray g, NDArray m, NDArray v, boolean decay, Constants c) {
        if (decay) {
            w.muli(c.decayFactor());
        }
        try (NDArray scaled = g.mul(c.oneMinusBeta1())) {
            m.muli(c.beta1()).addi(scaled);
        }
        try (NDArray squared = g.mul(g)) {
            v.muli(c.beta2()).addi(squared.muli(c.oneMinusBeta2()));
        }
        try (NDArray denom = v.sqrt(); NDArray step = m.mul(c.stepSize())) {
            denom.divi(c.biasCorrection2Sqrt()).addi(c.eps());
            w.subi(step.divi(denom));
        }
    }

    /**
     * The state tensors by name ({@code exp_avg.<param>}, {@code exp_avg_sq.<param>}), live views owned by the
     * optimizer; with {@link #stepCount()} they are all a checkpoint needs.
     */
    public Map<String, NDArray> state() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        expAvg.forEach((k, v) -> out.put(EXP_AVG + k, v));
        expAvgSq.forEach((k, v) -> out.put(EXP_AVG_SQ + k, v));
        return out;
    }

    /**
     * Restores a state saved from {@link #state()}: copies every tensor's values in (the caller keeps ownership
     * of {@code tensors}). Every parameter's two moments must be present with the parameter's shape.
     */
    public void loadState(long stepCount, Map<String, NDArray> tensors) {
        if (stepCount < 0) {
            throw new IllegalArgumentException("optimizer step " + stepCount + " must be >= 0");
        }
        if (tensors.size() != 2 * params.size()) {
            throw new IllegalArgumentException("optimizer state has " + tensors.size() + " tensors, expected "
                    + 2 * params.size() + " (exp_avg and exp_avg_sq for " + params.size() + " parameters)");
        }
        for (Map.Entry<String, NDArray> e : state().entrySet()) {
            NDArray saved = tensors.get(e.getKey());
            if (saved == null) {
                throw new IllegalArgumentException("optimizer state lacks tensor " + e.getKey());
            }
            if (!saved.getShape().equals(e.getValue().getShape())
                    || saved.getDataType() != e.getValue().getDataType()) {
                throw new IllegalArgumentException("optimizer state tensor " + e.getKey() + " is "
                        + saved.getDataType() + saved.getShape() + ", parameter needs "
                        + e.getValue().getDataType() + e.getValue().getShape());
            }
        }
        replace(expAvg, EXP_AVG, tensors);
        replace(expAvgSq, EXP_AVG_SQ, tensors);
        this.step = stepCount;
    }

    /**
     * Swaps each moment for a copy of the saved one, on the parameter's device, owned by the optimizer: DJL's
     * {@code toDevice(sameDevice, true)} shares the storage, so the caller's array would alias the state.
     */
    private void replace(Map<String, NDArray> moments, String prefix, Map<String, NDArray> tensors) {
        for (Map.Entry<String, NDArray> e : moments.entrySet()) {
            NDArray saved = tensors.get(prefix + e.getKey());
            Device device = e.getValue().getDevice();
            NDArray copy = saved.getDevice().equals(device) ? Owned.copy(saved, saved.getDataType())
                    : saved.toDevice(device, true); // another device: a new tensor there
            copy.attach(stateManager);
            e.getValue().close();
            e.setValue(copy);
        }
    }

    @Override
    public void close() {
        stateManager.close();
    }
}
