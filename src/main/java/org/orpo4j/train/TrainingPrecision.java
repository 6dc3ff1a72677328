package org.orpo4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import org.orpo4j.model.CausalLm;
import org.orpo4j.precision.LossScaler;
import org.orpo4j.precision.MasterWeights;
import org.orpo4j.precision.Precision;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.NativeFeatures;
import org.orpo4j.runtime.Scalars;

/**
 * The trainer's side of {@link Precision}: float32 training is a pass-through; mixed precision installs
 * {@link MasterWeights} and, for fp16, a {@link LossScaler} whose state a checkpoint keeps in {@code scaler.json}
 * (HF Trainer's {@code scaler.pt}).
 */
final class TrainingPrecision implements AutoCloseable {

    /** The loss scaler's file in a checkpoint folder. */
    static final String SCALER_FILE = "scaler.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Precision precision;
    private final MasterWeights weights; // null for FP32
    private final LossScaler scaler; // null unless FP16
    private final List<NDArray> outsideMasters; // trained tensors the model does not own (LoRA adapters)

    private TrainingPrecision(Precision precision, MasterWeights weights, LossScaler scaler,
            Map<String, NDArray> trained) {
        this.precision = precision;
        this.weights = weights;
        this.scaler = scaler;
        Set<NDArray> masters = Collections.newSetFromMap(new IdentityHashMap<>());
        if (weights != null) {
            masters.addAll(weights.masters().values());
        }
        this.outsideMasters = trained.values().stream().filter(t -> !masters.contains(t)).toList();
    }

    /**
     * Starts training {@code trained} in {@code precision}: call after the masters hold their starting (or resumed)
     * values; the scaler resumes from {@code checkpoint} (nullable) when it has one. Trained tensors outside the
     * model's weights (LoRA adapters) stay float32 and are only unscaled; under bf16 the frozen base they adapt is
     * converted to bfloat16 for good ({@link MasterWeights#install(CausalLm, Precision, boolean)}).
     */
    static TrainingPrecision start(CausalLm model, Precision precision, Path checkpoint, Map<String, NDArray> trained)
            throws IOException {
        if (precision == Precision.BF16 && !NativeFeatures.bfloat16()) {
            throw new IllegalStateException(NativeFeatures.bfloat16Missing());
        }
        LossScaler scaler = null;
        if (precision == Precision.FP16) {
            scaler = new LossScaler();
            if (checkpoint != null && Files.isRegularFile(checkpoint.resolve(SCALER_FILE))) {
                JsonNode n = JSON.readTree(checkpoint.resolve(SCALER_FILE).toFile());
                scaler.load(new LossScaler.State((float) n.path("scale").asDouble(),
                        n.path("growth_tracker").asInt()));
            }
        }
        // a LoRA run's frozen base under bf16 is stored in bf16 outright: 2 bytes per parameter, not float32 + a copy
        Set<NDArray> own = Collections.newSetFromMap(new IdentityHashMap<>());
        own.addAll(model.parameters().values());
        boolean adapterRun = trained.values().stream().noneMatch(own::contains);
        MasterWeights weights = precision.mixed()
                ? MasterWeights.install(model, precision, precision == Precision.BF16 && adapterRun) : null;
        return new TrainingPrecision(precision, weights, scaler, trained);
    }

    Precision precision() {
        return precision;
    }

    /** The factor the loss's backward is multiplied by: the fp16 loss scale, else 1. */
    double lossScale() {
        return scaler == null ? 1 : scaler.scale();
    }

    /**
     * After each micro-batch's backward: its half gradients, widened and unscaled, added into the masters' float32
     * gradients, so the G micro-batches of a step are summed in float32 as HF Trainer sums them (in half
     * precision the sum of eight loses a few bits of each).
     */
    void microBatchToMasters() {
        if (weights != null) {
            weights.gradientsToMasters(1 / lossScale());
        }
    }

    /** Once per step, after the last micro-batch: the float32 adapter gradients, loss-scaled by fp16, unscaled. */
    void unscaleAdapterGradients() {
        if (scaler != null && !outsideMasters.isEmpty()) {
            try (GradMode off = GradMode.enabled(false); NDScope scope = new NDScope()) {
                NDArray unscale = Scalars.like(outsideMasters.get(0), 1 / lossScale());
                for (NDArray t : outsideMasters) {
                    t.getGradient().muli(unscale);
                }
            }
        }
    }

    /**
     * Feeds the step's outcome to the fp16 scaler (GradScaler's {@code update}) and says whether the step was an
     * fp16 overflow: finite loss, non-finite gradients. Such steps are routine while the scale settles, so they
     * are skipped without counting toward {@code maxNonFiniteSteps}.
     */
    boolean overflowed(boolean lossFinite, boolean gradientsFinite) {
        if (scaler == null) {
            return false;
        }
        scaler.update(!(lossFinite && gradientsFinite));
        return lossFinite && !gradientsFinite;
    }

    /** After the optimizer updated the masters: the half copies follow. */
    void afterUpdate() {
        if (weights != null) {
            weights.copyMastersToHalves();
        }
    }

    /** Runs {@code action} with the float32 masters in the model (saving). */
    void withMasters(MasterWeights.Action<IOException> action) throws IOException {
        if (weights == null) {
            action.run();
        } else {
            weights.withMasters(action);
        }
    }

    /** Writes {@code scaler.json} into a checkpoint folder being written (fp16 only). */
    void write(Path checkpointDir) throws IOException {
        if (scaler != null) {
            ObjectNode n = JSON.createObjectNode();
            n.put("scale", scaler.scale());
            n.put("growth_tracker", scaler.growthTracker());
            n.put("growth_factor", LossScaler.GROWTH_FACTOR);
            n.put("backoff_factor", LossScaler.BACKOFF_FACTOR);
            n.put("growth_interval", LossScaler.GROWTH_INTERVAL);
            Files.writeString(checkpointDir.resolve(SCALER_FILE), n.toPrettyString()); // the folder moves atomically
        }
    }

    /** Puts the masters back into the model. */
    @Override
    public void close() {
        if (weights != null) {
            weights.close();
        }
    }
}
