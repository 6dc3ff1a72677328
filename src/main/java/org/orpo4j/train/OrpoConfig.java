package org.orpo4j.train;

import static org.orpo4j.train.Settings.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.TruncationMode;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.precision.Precision;

/**
 * Every training setting, named as TRL's {@code ORPOConfig}/HF's {@code TrainingArguments} (camelCase) with their
 * defaults, so a TRL user's numbers carry over unchanged. The settings are declared once, in {@link Settings};
 * this is an immutable set of their values, checked when built. Build with {@link #builder()} or read JSON
 * (camelCase or snake_case keys, {@code orpoAlpha}/{@code orpoBeta} aliases; an unknown key is an error naming the
 * nearest known ones).
 */
public final class OrpoConfig {

    /** The file a run writes its settings to, in its output folder (a valid config file to read back). */
    public static final String FILE = "orpo_config.json";

    /** The values {@code evalStrategy} and {@code saveStrategy} take (HF's IntervalStrategy). */
    public static final List<String> STRATEGIES = Settings.STRATEGIES;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Map<Setting<?>, Object> values; // every setting of Settings.ALL

    private OrpoConfig(Map<Setting<?>, Object> values) {
        this.values = values;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to derive a variant. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.values.putAll(values);
        return b;
    }

    /** The value of {@code setting}: how settings without a getter of their own are read. */
    @SuppressWarnings("unchecked")
    public <T> T get(Setting<T> setting) {
        return (T) values.get(setting);
    }

    /** Peak learning rate of AdamW (TRL ORPOConfig: 1e-6). */
    public double learningRate() { return get(LEARNING_RATE); }
    /** Weight of the odds-ratio term, the paper's λ (TRL {@code beta}, guide {@code orpo_beta}). */
    public double beta() { return get(BETA); }
    /** Extra multiplier of the odds-ratio term (guide {@code orpo_alpha}); 1.0 reproduces TRL. */
    public double alpha() { return get(ALPHA); }
    /** Whether the chosen NLL covers the prompt tokens too (TRL: yes). */
    public boolean promptLoss() { return get(PROMPT_LOSS); }
    public int maxLength() { return get(MAX_LENGTH); }
    public int maxPromptLength() { return get(MAX_PROMPT_LENGTH); }
    /** Cap on each answer before truncation; null = none. */
    public Integer maxCompletionLength() { return get(MAX_COMPLETION_LENGTH); }
    /** {@code keep_end} (default) or {@code keep_start}: which end of an over-long prompt survives. */
    public String truncationMode() { return get(TRUNCATION_MODE); }
    /** Pairs per micro-batch in training. */
    public int perDeviceTrainBatchSize() { return get(PER_DEVICE_TRAIN_BATCH_SIZE); }
    /** Pairs per batch in evaluation. */
    public int perDeviceEvalBatchSize() { return get(PER_DEVICE_EVAL_BATCH_SIZE); }
    /** Micro-batches per optimizer step. */
    public int gradientAccumulationSteps() { return get(GRADIENT_ACCUMULATION_STEPS); }
    /** Epochs (fractional allowed, as HF) when {@link #maxSteps()} is not positive. */
    public double numTrainEpochs() { return get(NUM_TRAIN_EPOCHS); }
    /** Optimizer steps to run; {@code -1} (default) derives them from {@link #numTrainEpochs()}. */
    public int maxSteps() { return get(MAX_STEPS); }
    public LrSchedulerType lrSchedulerType() { return get(LR_SCHEDULER_TYPE); }
    /** Warmup optimizer steps; when 0, {@code ceil(warmupRatio * total)}. */
    public int warmupSteps() { return get(WARMUP_STEPS); }
    public double warmupRatio() { return get(WARMUP_RATIO); }
    /** Decoupled AdamW decay, applied to all but biases and norm weights. */
    public double weightDecay() { return get(WEIGHT_DECAY); }
    public double adamBeta1() { return get(ADAM_BETA1); }
    public double adamBeta2() { return get(ADAM_BETA2); }
    public double adamEpsilon() { return get(ADAM_EPSILON); }
    /** Global L2 gradient-norm clip; 0 or less disables clipping. */
    public double maxGradNorm() { return get(MAX_GRAD_NORM); }
    public long seed() { return get(SEED); }
    /** Shuffle the training pairs each epoch (from seed and epoch); false keeps file order. */
    public boolean shuffle() { return get(SHUFFLE); }
    /** Group pairs of similar length into the same micro-batch (less padding). */
    public boolean groupByLength() { return get(GROUP_BY_LENGTH); }
    /** Log (metrics.jsonl, console, listeners) every N optimizer steps. TRL ORPOConfig: 10. */
    public int loggingSteps() { return get(LOGGING_STEPS); }
    /** Also log the very first step. */
    public boolean loggingFirstStep() { return get(LOGGING_FIRST_STEP); }
    /** {@code no}, {@code steps} or {@code epoch}; the trainer also evaluates at the end when given eval data. */
    public String evalStrategy() { return get(EVAL_STRATEGY); }
    /** Evaluation interval for {@code evalStrategy=steps}; null = {@link #loggingSteps()} (HF). */
    public Integer evalSteps() { return get(EVAL_STEPS); }
    /** Effective evaluation interval in steps. */
    public int effectiveEvalSteps() { return evalSteps() == null ? loggingSteps() : evalSteps(); }
    /** {@code no}, {@code steps} (default) or {@code epoch}. */
    public String saveStrategy() { return get(SAVE_STRATEGY); }
    /** Checkpoint interval for {@code saveStrategy=steps} (HF: 500). */
    public int saveSteps() { return get(SAVE_STEPS); }
    /** Keep at most this many checkpoints (oldest deleted first); null keeps all. */
    public Integer saveTotalLimit() { return get(SAVE_TOTAL_LIMIT); }
    /** Where checkpoints, metrics.jsonl and the final model go. */
    public String outputDir() { return get(OUTPUT_DIR); }
    /** null (fresh run), {@code latest} (newest checkpoint in outputDir, fresh when none) or a checkpoint folder. */
    public String resumeFromCheckpoint() { return get(RESUME_FROM_CHECKPOINT); }
    /** Non-finite loss/gradient steps in a row that stop the run (each one is skipped with a warning). */
    public int maxNonFiniteSteps() { return get(MAX_NON_FINITE_STEPS); }
    /** When the loss is computed chunk by chunk from the hidden states instead of from full logits. */
    public ChunkedLoss chunkedLoss() { return get(CHUNKED_LOSS); }
    /** Logits values per chunk of the chunked loss (about C·V). */
    public long lossChunkValues() { return get(LOSS_CHUNK_VALUES); }
    public boolean bf16() { return get(BF16); }
    public boolean fp16() { return get(FP16); }
    public boolean overwriteOutputDir() { return get(OVERWRITE_OUTPUT_DIR); }
    public boolean usePeft() { return get(USE_PEFT); }
    public int loraR() { return get(LORA_R); }
    public double loraAlpha() { return get(LORA_ALPHA); }
    public double loraDropout() { return get(LORA_DROPOUT); }
    /** The configured LoRA targets, or null for PEFT's default. */
    public List<String> loraTargetModules() { return get(LORA_TARGET_MODULES); }
    public boolean useRslora() { return get(USE_RSLORA); }
    public boolean gradientCheckpointing() { return get(GRADIENT_CHECKPOINTING); }
    /** Train on the shared-prompt layout (each prompt computed once, no padding) instead of TRL's two rows. */
    public boolean sharedPrompt() { return get(SHARED_PROMPT); }

    /** The LoRA adapter these settings describe (used when {@link #usePeft()}), PEFT's llama targets by default. */
    public LoraConfig loraConfig() {
        return lora(loraTargetModules() == null ? LoraConfig.defaultTargets() : loraTargetModules());
    }

    /** The LoRA adapter these settings describe for a model of {@code model} (PEFT's default targets for it). */
    public LoraConfig loraConfig(ModelConfig model) {
        return lora(loraTargetModules() == null ? LoraConfig.defaultTargets(model) : loraTargetModules());
    }

    private LoraConfig lora(List<String> targets) {
        return new LoraConfig(loraR(), loraAlpha(), loraDropout(), targets, useRslora(), null);
    }

    /** The training precision {@link #bf16()} and {@link #fp16()} choose. */
    public Precision precision() { return Precision.of(bf16(), fp16()); }

    /** The tokenization settings as the data package's options (field names and bad-data policy at defaults). */
    public DataOptions dataOptions() {
        return DataOptions.builder().maxLength(maxLength()).maxPromptLength(maxPromptLength())
                .maxCompletionLength(maxCompletionLength()).truncationMode(TruncationMode.parse(truncationMode()))
                .build();
    }

    // ---------------------------------------------------------------------------------------------- JSON

    /** This config as a JSON object with camelCase keys (every setting, nulls included). */
    public ObjectNode toJson() {
        ObjectNode node = JSON.createObjectNode();
        for (Setting<?> s : Settings.ALL) {
            node.set(s.key(), json(s));
        }
        return node;
    }

    private <T> JsonNode json(Setting<T> s) {
        return s.kind().toJson(get(s));
    }

    /** Writes {@link #toJson()} to {@code file}. */
    public void write(Path file) throws IOException {
        Files.writeString(file, JSON.writeValueAsString(toJson()) + "\n");
    }

    /** Reads a JSON config file; missing keys keep their defaults. */
    public static OrpoConfig read(Path file) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException("cannot parse config " + file + ": " + e.getMessage(), e);
        }
        return fromJson(node, file.toString());
    }

    /**
     * Builds a config from a JSON object. Keys may be camelCase ({@code learningRate}) or TRL's snake_case
     * ({@code learning_rate}); {@code orpoAlpha}/{@code orpo_alpha} mean {@code alpha} and {@code orpoBeta}/
     * {@code orpo_beta} mean {@code beta}. {@code source} names the file in error messages.
     */
    public static OrpoConfig fromJson(JsonNode node, String source) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("config " + source + " is not a JSON object");
        }
        Builder b = builder();
        Map<Setting<?>, String> seen = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Setting<?> setting = Settings.named(e.getKey()).orElseThrow(() -> unknown(e.getKey(), source));
            String previous = seen.put(setting, e.getKey());
            if (previous != null) {
                throw new IllegalArgumentException("config key '" + e.getKey() + "' in " + source
                        + " repeats '" + previous + "'");
            }
            try {
                b.setJson(setting, e.getValue());
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("config key '" + e.getKey() + "' in " + source + ": "
                        + ex.getMessage(), ex);
            }
        }
        try {
            return b.build();
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException("config " + source + ": " + ex.getMessage(), ex);
        }
    }

    private static IllegalArgumentException unknown(String key, String source) {
        List<String> similar = Settings.similar(key);
        return new IllegalArgumentException("unknown config key '" + key + "' in " + source
                + (similar.isEmpty() ? "" : " (did you mean '" + String.join("' or '", similar) + "'?)"));
    }

    /** Parses a JSON string (see {@link #fromJson(JsonNode, String)}). */
    public static OrpoConfig fromJson(String json, String source) {
        try {
            return fromJson(JSON.readTree(json), source);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse config " + source + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OrpoConfig other && toJson().equals(other.toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        return "OrpoConfig" + toJson().toString();
    }

    // ---------------------------------------------------------------------------------------- builder

    /** Fluent builder; every setting starts at its default (TRL's/HF's). */
    public static final class Builder {
        private final Map<Setting<?>, Object> values = new LinkedHashMap<>();

        private Builder() {
            Settings.ALL.forEach(s -> values.put(s, s.defaultValue()));
        }

        /** Sets any setting: how settings without a builder method of their own are set. */
        public <T> Builder set(Setting<T> setting, T value) {
            values.put(setting, value);
            return this;
        }

        /** Sets {@code setting} from its JSON form (null for a nullable one); a wrong type fails naming it. */
        public Builder setJson(Setting<?> setting, JsonNode value) {
            try {
                values.put(setting, setting.kind().fromJson(value));
            } catch (IllegalArgumentException e) {
                throw new InvalidSettingException(setting, value.toString(), setting.kind().expected());
            }
            return this;
        }

        /** Sets {@code setting} from command-line text ({@code 1e-5}, {@code q_proj,v_proj}, {@code cosine}). */
        public Builder setText(Setting<?> setting, String text) {
            try {
                values.put(setting, setting.kind().parse(text));
            } catch (IllegalArgumentException e) {
                throw new InvalidSettingException(setting, text, setting.kind().expected());
            }
            return this;
        }

        public Builder learningRate(double v) { return set(LEARNING_RATE, v); }
        public Builder beta(double v) { return set(BETA, v); }
        /** Alias of {@link #beta(double)} (the guide's {@code orpo_beta}). */
        public Builder orpoBeta(double v) { return beta(v); }
        public Builder alpha(double v) { return set(ALPHA, v); }
        /** Alias of {@link #alpha(double)} (the guide's {@code orpo_alpha}). */
        public Builder orpoAlpha(double v) { return alpha(v); }
        public Builder promptLoss(boolean v) { return set(PROMPT_LOSS, v); }
        public Builder maxLength(int v) { return set(MAX_LENGTH, v); }
        public Builder maxPromptLength(int v) { return set(MAX_PROMPT_LENGTH, v); }
        public Builder maxCompletionLength(Integer v) { return set(MAX_COMPLETION_LENGTH, v); }
        public Builder truncationMode(String v) { return setText(TRUNCATION_MODE, v); }
        public Builder perDeviceTrainBatchSize(int v) { return set(PER_DEVICE_TRAIN_BATCH_SIZE, v); }
        public Builder perDeviceEvalBatchSize(int v) { return set(PER_DEVICE_EVAL_BATCH_SIZE, v); }
        public Builder gradientAccumulationSteps(int v) { return set(GRADIENT_ACCUMULATION_STEPS, v); }
        public Builder numTrainEpochs(double v) { return set(NUM_TRAIN_EPOCHS, v); }
        public Builder maxSteps(int v) { return set(MAX_STEPS, v); }
        public Builder lrSchedulerType(LrSchedulerType v) { return set(LR_SCHEDULER_TYPE, v); }
        public Builder warmupSteps(int v) { return set(WARMUP_STEPS, v); }
        public Builder warmupRatio(double v) { return set(WARMUP_RATIO, v); }
        public Builder weightDecay(double v) { return set(WEIGHT_DECAY, v); }
        public Builder adamBeta1(double v) { return set(ADAM_BETA1, v); }
        public Builder adamBeta2(double v) { return set(ADAM_BETA2, v); }
        public Builder adamEpsilon(double v) { return set(ADAM_EPSILON, v); }
        public Builder maxGradNorm(double v) { return set(MAX_GRAD_NORM, v); }
        public Builder seed(long v) { return set(SEED, v); }
        public Builder shuffle(boolean v) { return set(SHUFFLE, v); }
        public Builder groupByLength(boolean v) { return set(GROUP_BY_LENGTH, v); }
        public Builder loggingSteps(int v) { return set(LOGGING_STEPS, v); }
        public Builder loggingFirstStep(boolean v) { return set(LOGGING_FIRST_STEP, v); }
        public Builder evalStrategy(String v) { return set(EVAL_STRATEGY, v); }
        public Builder evalSteps(Integer v) { return set(EVAL_STEPS, v); }
        public Builder saveStrategy(String v) { return set(SAVE_STRATEGY, v); }
        public Builder saveSteps(int v) { return set(SAVE_STEPS, v); }
        public Builder saveTotalLimit(Integer v) { return set(SAVE_TOTAL_LIMIT, v); }
        public Builder outputDir(String v) { return set(OUTPUT_DIR, v); }
        public Builder outputDir(Path v) { return outputDir(v.toString()); }
        public Builder resumeFromCheckpoint(String v) { return set(RESUME_FROM_CHECKPOINT, v); }
        public Builder maxNonFiniteSteps(int v) { return set(MAX_NON_FINITE_STEPS, v); }
        public Builder chunkedLoss(ChunkedLoss v) { return set(CHUNKED_LOSS, v); }
        public Builder lossChunkValues(long v) { return set(LOSS_CHUNK_VALUES, v); }
        /** bfloat16 mixed precision with float32 master weights (needs the orpo4j-built JNI, docs/gpu.md). */
        public Builder bf16(boolean v) { return set(BF16, v); }
        /** float16 mixed precision with float32 master weights and dynamic loss scaling. */
        public Builder fp16(boolean v) { return set(FP16, v); }
        /** Start over in an output folder that holds an earlier run (its checkpoints and metrics are deleted). */
        public Builder overwriteOutputDir(boolean v) { return set(OVERWRITE_OUTPUT_DIR, v); }
        /** Train a LoRA adapter on the frozen model instead of every weight (TRL's {@code use_peft}). */
        public Builder usePeft(boolean v) { return set(USE_PEFT, v); }
        public Builder loraR(int v) { return set(LORA_R, v); }
        public Builder loraAlpha(double v) { return set(LORA_ALPHA, v); }
        public Builder loraDropout(double v) { return set(LORA_DROPOUT, v); }
        /** Module names ({@code q_proj}, ...) or {@code all-linear}; null: PEFT's default for the architecture. */
        public Builder loraTargetModules(List<String> v) { return set(LORA_TARGET_MODULES, v == null ? null : List.copyOf(v)); }
        public Builder useRslora(boolean v) { return set(USE_RSLORA, v); }
        /** Recompute each decoder layer during backward instead of keeping its activations (TRL's default). */
        public Builder gradientCheckpointing(boolean v) { return set(GRADIENT_CHECKPOINTING, v); }
        /**
         * Lay each pair out as {@code [prompt | chosen | rejected]}, the micro-batch packed into one row: the prompt
         * runs once and no padding runs; the loss and gradients equal the two-row layout's (docs/training.md).
         */
        public Builder sharedPrompt(boolean v) { return set(SHARED_PROMPT, v); }

        /**
         * Checks every setting against its declaration, then the rules between settings, and builds; a bad value
         * is an {@link InvalidSettingException} naming the setting.
         */
        public OrpoConfig build() {
            Settings.ALL.forEach(this::validate);
            int maxLength = (Integer) values.get(MAX_LENGTH);
            int maxPrompt = (Integer) values.get(MAX_PROMPT_LENGTH);
            if (maxPrompt > maxLength) {
                throw new InvalidSettingException(MAX_PROMPT_LENGTH, Integer.toString(maxPrompt),
                        "in 1.." + maxLength + " (maxLength)");
            }
            double epochs = (Double) values.get(NUM_TRAIN_EPOCHS);
            if ((Integer) values.get(MAX_STEPS) <= 0 && !(epochs > 0)) {
                throw new InvalidSettingException(NUM_TRAIN_EPOCHS, NUM_TRAIN_EPOCHS.kind().show(epochs),
                        "> 0 when maxSteps is not set");
            }
            if ((Boolean) values.get(BF16) && (Boolean) values.get(FP16)) {
                throw new InvalidSettingException(FP16, "true", "false when bf16 is set (choose one)");
            }
            if ((Boolean) values.get(LOAD_IN_4BIT) && !(Boolean) values.get(USE_PEFT)) {
                throw new InvalidSettingException(LOAD_IN_4BIT, "true", "false unless usePeft is true (a 4-bit base"
                        + " trains a LoRA adapter only, as PEFT)");
            }
            return new OrpoConfig(new LinkedHashMap<>(values));
        }

        @SuppressWarnings("unchecked")
        private <T> void validate(Setting<T> s) {
            s.validate((T) values.get(s));
        }
    }
}
