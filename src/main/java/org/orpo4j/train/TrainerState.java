package org.orpo4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a run stands: optimizer step, data position and log history; saved as {@code trainer_state.json} in each
 * checkpoint. The data order is a pure function of (seed, epoch), so the data position (epoch index, micro-batches
 * consumed in it) plus the seed is the complete random state: there is no dropout and no other sampling.
 */
public final class TrainerState {

    /** The file name inside a checkpoint folder (as HF). */
    public static final String FILE = "trainer_state.json";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final OrpoConfig config;
    private final long maxSteps;
    private final int microBatchesPerEpoch;
    private long globalStep;
    private int epochIndex;
    private int microBatchInEpoch;
    private long numInputTokensSeen;
    private long numTokensComputed;
    private int nonFiniteInARow;
    private long optimizerSteps;
    private long overflowSkippedSteps;
    private String dataFingerprint;
    private int worldSize = 1;
    private final List<Map<String, Object>> logHistory = new ArrayList<>();

    public TrainerState(OrpoConfig config, long maxSteps, int microBatchesPerEpoch) {
        if (microBatchesPerEpoch <= 0) {
            throw new IllegalArgumentException("an epoch needs at least one micro-batch, got " + microBatchesPerEpoch);
        }
        this.config = config;
        this.maxSteps = maxSteps;
        this.microBatchesPerEpoch = microBatchesPerEpoch;
    }

    /**
     * The start of a run of {@code config} on {@code train}: its micro-batches per epoch and, from maxSteps or the
     * epochs, its length in optimizer steps; the data's fingerprint recorded for resuming. With data-parallel ranks
     * {@code train} is this rank's shard and {@code worldSize} their number, which a resume must match.
     */
    static TrainerState plan(OrpoConfig config, PairSource train, int worldSize) {
        int micro = train.batches(config.perDeviceTrainBatchSize(), 0, config.seed(), config.shuffle(),
                config.groupByLength()).size();
        if (micro == 0) {
            throw new IllegalArgumentException("the training data is empty");
        }
        int g = config.gradientAccumulationSteps();
        int stepsPerEpoch = Math.floorDiv(micro + g - 1, g);
        long maxSteps = config.maxSteps() > 0 ? config.maxSteps()
                : (long) Math.ceil(config.numTrainEpochs() * stepsPerEpoch);
        TrainerState state = new TrainerState(config, maxSteps, micro);
        state.dataFingerprint(train.fingerprint().orElse(null));
        state.worldSize = worldSize;
        return state;
    }

    public OrpoConfig config() { return config; }
    /** Optimizer steps done (HF {@code global_step}). */
    public long globalStep() { return globalStep; }
    /** Optimizer steps the run will take in all. */
    public long maxSteps() { return maxSteps; }
    public int microBatchesPerEpoch() { return microBatchesPerEpoch; }
    /** Optimizer steps per epoch: ceil(micro-batches / accumulation); the last one may have fewer micro-batches. */
    public int stepsPerEpoch() {
        return Math.floorDiv(microBatchesPerEpoch + config.gradientAccumulationSteps() - 1,
                config.gradientAccumulationSteps());
    }
    /** The epoch being read (0-based). */
    public int epochIndex() { return epochIndex; }
    /** Micro-batches of {@link #epochIndex()} already consumed. */
    public int microBatchInEpoch() { return microBatchInEpoch; }
    /** Fractional epoch, as HF logs it. */
    public double epoch() { return epochIndex + (double) microBatchInEpoch / microBatchesPerEpoch; }
    /** Non-pad tokens fed to the model so far (training only). */
    public long numInputTokensSeen() { return numInputTokensSeen; }
    /**
     * Token positions the model computed so far: {@code prompt + chosen + rejected} per pair with the shared
     * prompt, the padded {@code 2B × T} rows otherwise.
     */
    public long numTokensComputed() { return numTokensComputed; }
    /** Non-finite steps skipped in a row just now. */
    public int nonFiniteInARow() { return nonFiniteInARow; }
    /** AdamW updates applied (global steps minus skipped non-finite ones): torch's {@code state['step']}. */
    public long optimizerSteps() { return optimizerSteps; }
    /** fp16 steps skipped for gradient overflow. */
    public long overflowSkippedSteps() { return overflowSkippedSteps; }
    /**
     * Steps the LR schedule has taken: every step but those skipped for fp16 overflow, as HF Trainer calls
     * {@code lr_scheduler.step()} only when the optimizer stepped.
     */
    public long schedulerSteps() { return globalStep - overflowSkippedSteps; }
    /** {@link PairSource#fingerprint()} of the training data, or null when unknown. */
    public String dataFingerprint() { return dataFingerprint; }
    /** Data-parallel ranks training this run (1 for one process). */
    public int worldSize() { return worldSize; }
    /** Every logged line so far (training and evaluation), as in metrics.jsonl. */
    public List<Map<String, Object>> logHistory() { return Collections.unmodifiableList(logHistory); }

    void dataFingerprint(String fingerprint) {
        this.dataFingerprint = fingerprint;
    }

    /** Tokens the other ranks consumed in this step: the counters are the whole run's, as HF gathers them. */
    void otherRanksConsumed(long tokens, long computed) {
        numInputTokensSeen += tokens;
        numTokensComputed += computed;
    }

    void microBatchConsumed(long tokens, long computed) {
        microBatchInEpoch++;
        numInputTokensSeen += tokens;
        numTokensComputed += computed;
    }

    /** Moves to the next epoch when the current one is used up. */
    void rollEpochIfDone() {
        if (microBatchInEpoch >= microBatchesPerEpoch) {
            epochIndex++;
            microBatchInEpoch = 0;
        }
    }

    /** An fp16 step skipped for gradient overflow: no update, and not a non-finite step either. */
    void overflowSkipped() {
        globalStep++;
        overflowSkippedSteps++;
    }

    void stepDone(boolean finite) {
        globalStep++;
        if (finite) {
            optimizerSteps++;
        }
        nonFiniteInARow = finite ? 0 : nonFiniteInARow + 1;
    }

    /** Continues a saved run: takes its position, counters and history (this state's config and length stay). */
    void restoreFrom(TrainerState saved) {
        if (saved.worldSize != worldSize) {
            throw new IllegalArgumentException("the checkpoint was trained by " + saved.worldSize + " rank"
                    + (saved.worldSize == 1 ? "" : "s") + " (world_size), this run has " + worldSize
                    + ": resume with " + saved.worldSize + " (--nnodes x --nproc-per-node), or start over with"
                    + " --overwrite-output-dir (overwriteOutputDir)");
        }
        if (saved.microBatchesPerEpoch != microBatchesPerEpoch) {
            throw new IllegalArgumentException("the checkpoint was trained with " + saved.microBatchesPerEpoch
                    + " micro-batches per epoch, this data and batch size give " + microBatchesPerEpoch
                    + ": resume with the same training data and perDeviceTrainBatchSize");
        }
        if (saved.dataFingerprint != null && dataFingerprint != null && !saved.dataFingerprint.equals(dataFingerprint)) {
            throw new IllegalArgumentException("the training data differs from the data the checkpoint was trained on"
                    + " (token fingerprint " + dataFingerprint + ", checkpoint " + saved.dataFingerprint
                    + "): resume with the same file and tokenizer settings, or start over with"
                    + " --overwrite-output-dir (overwriteOutputDir)");
        }
        if (saved.globalStep > maxSteps) {
            throw new IllegalArgumentException("the checkpoint is at step " + saved.globalStep + ", past this run's "
                    + maxSteps + " steps: raise --max-steps (maxSteps) or start over with --overwrite-output-dir"
                    + " (overwriteOutputDir)");
        }
        globalStep = saved.globalStep;
        epochIndex = saved.epochIndex;
        microBatchInEpoch = saved.microBatchInEpoch;
        numInputTokensSeen = saved.numInputTokensSeen;
        numTokensComputed = saved.numTokensComputed;
        nonFiniteInARow = saved.nonFiniteInARow;
        optimizerSteps = saved.optimizerSteps;
        overflowSkippedSteps = saved.overflowSkippedSteps;
        logHistory.clear();
        logHistory.addAll(saved.logHistory);
    }

    void log(Map<String, Object> line) {
        logHistory.add(line);
    }

    // ---------------------------------------------------------------------------------------------- JSON

    public ObjectNode toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("global_step", globalStep);
        n.put("max_steps", maxSteps);
        n.put("epoch", epoch());
        n.put("epoch_index", epochIndex);
        n.put("micro_batch_in_epoch", microBatchInEpoch);
        n.put("micro_batches_per_epoch", microBatchesPerEpoch);
        n.put("num_input_tokens_seen", numInputTokensSeen);
        n.put("num_tokens_computed", numTokensComputed);
        n.put("non_finite_in_a_row", nonFiniteInARow);
        n.put("optimizer_steps", optimizerSteps);
        n.put("overflow_skipped_steps", overflowSkippedSteps);
        n.put("world_size", worldSize);
        if (dataFingerprint != null) {
            n.put("data_fingerprint", dataFingerprint);
        }
        ObjectNode rng = n.putObject("rng");
        rng.put("seed", config.seed());
        rng.put("shuffle", config.shuffle());
        rng.put("data_order", "PreferenceDataset.batches(batchSize, epoch, seed, shuffle, groupByLength)");
        ArrayNode history = n.putArray("log_history");
        logHistory.forEach(line -> history.add(JSON.valueToTree(line)));
        n.set("config", config.toJson());
        return n;
    }

    public void write(Path file) throws IOException {
        Files.writeString(file, JSON.writeValueAsString(toJson()) + "\n");
    }

    /** Reads a saved state; errors name the file and the field. */
    public static TrainerState read(Path file) throws IOException {
        JsonNode n = JSON.readTree(file.toFile());
        OrpoConfig config = OrpoConfig.fromJson(n.get("config"), file + " (config)");
        TrainerState s = new TrainerState(config, required(n, "max_steps", file).asLong(),
                required(n, "micro_batches_per_epoch", file).asInt());
        s.globalStep = required(n, "global_step", file).asLong();
        s.epochIndex = required(n, "epoch_index", file).asInt();
        s.microBatchInEpoch = required(n, "micro_batch_in_epoch", file).asInt();
        s.numInputTokensSeen = required(n, "num_input_tokens_seen", file).asLong();
        s.numTokensComputed = n.path("num_tokens_computed").asLong(0); // absent in older checkpoints
        s.nonFiniteInARow = required(n, "non_finite_in_a_row", file).asInt();
        s.optimizerSteps = required(n, "optimizer_steps", file).asLong();
        s.overflowSkippedSteps = n.path("overflow_skipped_steps").asLong(0); // absent in older checkpoints
        s.worldSize = n.path("world_size").asInt(1); // absent in older checkpoints: one process
        s.dataFingerprint = n.hasNonNull("data_fingerprint") ? n.get("data_fingerprint").asText() : null;
        for (JsonNode line : required(n, "log_history", file)) {
            Map<String, Object> m = new LinkedHashMap<>();
            line.fields().forEachRemaining(e -> m.put(e.getKey(),
                    e.getValue().isIntegralNumber() ? (Object) e.getValue().longValue()
                            : e.getValue().isNull() ? null : e.getValue().doubleValue()));
            s.logHistory.add(m);
        }
        return s;
    }

    private static JsonNode required(JsonNode n, String field, Path file) {
        JsonNode v = n.get(field);
        if (v == null) {
            throw new IllegalArgumentException(file + ": missing field '" + field + "'");
        }
        return v;
    }
}
