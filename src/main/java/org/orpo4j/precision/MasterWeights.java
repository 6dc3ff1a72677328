package org.orpo4j.precision;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;
import org.orpo4j.model.CausalLm;
import org.orpo4j.quantization.QuantizedWeight;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.GradientTensors;
import org.orpo4j.runtime.Scalars;

/**
 * float32 master weights behind a half-precision model, the mixed-precision recipe of HF Trainer's fp16/bf16:
 * while installed, the model reads a half-precision copy of every weight, made of leaf arrays so that backward
 * leaves its gradients on them; the float32 masters stay outside the model with their own gradients, and the
 * optimizer, clipping and checkpoints see only the masters. Per optimizer step:
 * <pre>
 *   forward + backward on the half copies          (loss × scale for fp16)
 *   {@link #gradientsToMasters}: master.grad = float32(half.grad) / scale;  half.grad = 0
 *   clip, AdamW on the masters
 *   {@link #copyMastersToHalves}: half = half(master)
 * </pre>
 * Frozen weights (the base of a LoRA run) get frozen half copies and take no part in either step; with
 * {@link #install(CausalLm, Precision, boolean) frozenInHalf} they are stored in the half type outright: the copy
 * replaces the float32 array for good (freed here, not put back by {@link #close()}), so a frozen base costs 2 bytes
 * per parameter instead of 4 + 2. Weights frozen in 4 bits compute in the half type while installed
 * ({@link QuantizedWeight#computeIn}), as autocast runs bitsandbytes' matmul in it.
 * The half copies can't be made by a cast on the autograd graph (the masters would then be the leaves and receive
 * float32 gradients through a cast per step); gradients are moved by hand instead.
 */
public final class MasterWeights implements AutoCloseable {

    private final CausalLm model;
    private final NDManager manager;
    private final LinkedHashMap<String, NDArray> masters;
    private final LinkedHashMap<String, NDArray> halves = new LinkedHashMap<>();
    private final java.util.Set<String> frozen = new java.util.HashSet<>(); // weights a LoRA run does not train
    private final Map<QuantizedWeight, DataType> quantized = new LinkedHashMap<>(); // -> its own compute dtype

    private MasterWeights(CausalLm model, DataType dtype, boolean frozenInHalf) {
        this.model = model;
        this.masters = model.parameters();
        NDArray first = masters.values().iterator().next();
        this.manager = first.getManager().newSubManager();
        try (GradMode off = GradMode.enabled(false)) {
            masters.replaceAll((name, master) -> {
                NDArray half = master.toType(dtype, true);
                boolean trained = JniUtils.requiresGrad((PtNDArray) master);
                half.setRequiresGradient(trained);
                if (!trained) {
                    frozen.add(name);
                }
                halves.put(name, half);
                if (!trained && frozenInHalf) { // the half copy becomes the weight itself, owned as the master was
                    half.attach(master.getManager());
                    master.close();
                    return half;
                }
                half.attach(manager);
                return master;
            });
        }
        // zeros backward adds into, dense from the first step on
        GradientTensors.materialize(halves.entrySet().stream().filter(e -> !frozen.contains(e.getKey()))
                .map(Map.Entry::getValue).toList());
        model.replaceParameters(halves);
        model.quantizedWeights().values().forEach(q -> {
            quantized.put(q, q.computeDtype());
            q.computeIn(dtype);
        });
    }

    /**
     * Swaps half-precision copies of {@code model}'s float32 weights into it; {@link #close()} puts the masters
     * back. Take {@link #masters()} for the optimizer before or after: they are the model's original arrays.
     */
    public static MasterWeights install(CausalLm model, Precision precision) {
        return install(model, precision, false);
    }

    /**
     * As {@link #install(CausalLm, Precision)}; with {@code frozenInHalf} the frozen weights are converted to the
     * half type for good (a LoRA base under bf16: PEFT users load it in bfloat16 the same way), and stay so in the
     * model after {@link #close()}.
     */
    public static MasterWeights install(CausalLm model, Precision precision, boolean frozenInHalf) {
        if (!precision.mixed()) {
            throw new IllegalArgumentException("master weights are for mixed precision, not " + precision);
        }
        return new MasterWeights(model, precision.dtype(), frozenInHalf);
    }

    /**
     * The float32 weights by HF name: what the optimizer updates and checkpoints save (a frozen weight stored in
     * half precision outright is its half array).
     */
    public Map<String, NDArray> masters() {
        return masters;
    }

    /** The half-precision copies the model reads while installed. */
    public Map<String, NDArray> halves() {
        return halves;
    }

    /**
     * Adds each half copy's gradient, widened and multiplied by {@code factor} (1/scale), into its master's gradient
     * and zeroes the half gradient. Call once per optimizer step, after all its micro-batches' backward passes.
     */
    public void gradientsToMasters(double factor) {
        try (GradMode off = GradMode.enabled(false); NDManager scratch = manager.newSubManager()) {
            NDArray unscale = factor == 1 ? null : Scalars.like(scratch.zeros(new Shape()), factor); // float32
            masters.forEach((name, master) -> {
                if (frozen.contains(name)) {
                    return;
                }
                NDArray half = halves.get(name);
                try (NDArray halfGrad = GradientTensors.of(half); NDArray masterGrad = GradientTensors.of(master)) {
                    if (unscale == null) {
                        masterGrad.addi(halfGrad);
                    } else {
                        try (NDArray wide = halfGrad.toType(DataType.FLOAT32, false)) {
                            masterGrad.addi(wide.muli(unscale));
                        }
                    }
                }
                JniUtils.zeroGrad((PtNDArray) half);
            });
        }
    }

    /** Copies the masters' values into the half copies in place (after each optimizer step and after a resume). */
    public void copyMastersToHalves() {
        try (GradMode off = GradMode.enabled(false)) {
            NDIndex all = new NDIndex("...");
            masters.forEach((name, master) -> {
                if (!frozen.contains(name)) {
                    halves.get(name).set(all, master);
                }
            });
        }
    }

    /** Something to do with the masters in the model, such as saving it. */
    public interface Action<E extends Exception> {
        void run() throws E;
    }

    /** Runs {@code action} with the masters in the model (saving a checkpoint), the half copies back after. */
    public <E extends Exception> void withMasters(Action<E> action) throws E {
        model.replaceParameters(masters);
        try {
            action.run();
        } finally {
            model.replaceParameters(halves);
        }
    }

    /** Puts the masters back into the model and frees the half copies. */
    @Override
    public void close() {
        model.replaceParameters(masters);
        quantized.forEach(QuantizedWeight::computeIn);
        manager.close();
    }
}
