package org.orpo4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.TruncationMode;
import org.orpo4j.loss.ChunkedOrpoLoss;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.precision.Precision;

/**
 * Every training knob, named as TRL's {@code ORPOConfig}/HF's {@code TrainingArguments} (camelCase) with their
 * defaults, so a TRL user's numbers carry over unchanged. Immutable; build with {@link #builder()} or read JSON
 * (camelCase or snake_case keys, {@code orpoAlpha}/{@code orpoBeta} aliases; unknown keys are an error).
 */
public final class OrpoConfig {

    /** The file a run writes its settings to, in its output folder (a valid config file to read back). */
    public static final String FILE = "orpo_config.json";

    /** The values {@code evalStrategy} and {@code saveStrategy} take (HF's IntervalStrategy). */
    public static final List<String> STRATEGIES = List.of("no", "steps", "epoch");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final double learningRate;
    private final double beta;
    private final double alpha;
    private final boolean promptLoss;
    private final int maxLength;
    private final int maxPromptLength;
    private final Integer maxCompletionLength;
    private final String truncationMode;
    private final int perDeviceTrainBatchSize;
    private final int perDeviceEvalBatchSize;
    private final int gradientAccumulationSteps;
    private final double numTrainEpochs;
    private final int maxSteps;
    private final LrSchedulerType lrSchedulerType;
    private final int warmupSteps;
    private final double warmupRatio;
    private final double weightDecay;
    private final double adamBeta1;
    private final double adamBeta2;
    private final double adamEpsilon;
    private final double maxGradNorm;
    private final long seed;
    private final boolean shuffle;
    private final boolean groupByLength;
    private final int loggingSteps;
    private final boolean loggingFirstStep;
    private final String evalStrategy;
    private final Integer evalSteps;
    private final String saveStrategy;
    private final int saveSteps;
    private final Integer saveTotalLimit;
    private final String outputDir;
    private final String resumeFromCheckpoint;
    private final int maxNonFiniteSteps;
    private final ChunkedLoss chunkedLoss;
    private final long lossChunkValues;
    private final boolean bf16;
    private final boolean fp16;
    private final boolean overwriteOutputDir;
    private final boolean usePeft;
    private final int loraR;
    private final double loraAlpha;
    private final double loraDropout;
    private final List<String> loraTargetModules;
    private final boolean useRslora;
    private final boolean gradientCheckpointing;
    private final boolean sharedPrompt;

    private OrpoConfig(Builder b) {
        learningRate = b.learningRate;
        beta = b.beta;
        alpha = b.alpha;
        promptLoss = b.promptLoss;
        maxLength = b.maxLength;
        maxPromptLength = b.maxPromptLength;
        maxCompletionLength = b.maxCompletionLength;
        truncationMode = b.truncationMode;
        perDeviceTrainBatchSize = b.perDeviceTrainBatchSize;
        perDeviceEvalBatchSize = b.perDeviceEvalBatchSize;
        gradientAccumulationSteps = b.gradientAccumulationSteps;
        numTrainEpochs = b.numTrainEpochs;
        maxSteps = b.maxSteps;
        lrSchedulerType = b.lrSchedulerType;
        warmupSteps = b.warmupSteps;
        warmupRatio = b.warmupRatio;
        weightDecay = b.weightDecay;
        adamBeta1 = b.adamBeta1;
        adamBeta2 = b.adamBeta2;
        adamEpsilon = b.adamEpsilon;
        maxGradNorm = b.maxGradNorm;
        seed = b.seed;
        shuffle = b.shuffle;
        groupByLength = b.groupByLength;
        loggingSteps = b.loggingSteps;
        loggingFirstStep = b.loggingFirstStep;
        evalStrategy = b.evalStrategy;
        evalSteps = b.evalSteps;
        saveStrategy = b.saveStrategy;
        saveSteps = b.saveSteps;
        saveTotalLimit = b.saveTotalLimit;
        outputDir = b.outputDir;
        resumeFromCheckpoint = b.resumeFromCheckpoint;
        maxNonFiniteSteps = b.maxNonFiniteSteps;
        chunkedLoss = b.chunkedLoss;
        lossChunkValues = b.lossChunkValues;
        bf16 = b.bf16;
        fp16 = b.fp16;
        overwriteOutputDir = b.overwriteOutputDir;
        usePeft = b.usePeft;
        loraR = b.loraR;
        loraAlpha = b.loraAlpha;
        loraDropout = b.loraDropout;
        loraTargetModules = b.loraTargetModules;
        useRslora = b.useRslora;
        gradientCheckpointing = b.gradientCheckpointing;
        sharedPrompt = b.sharedPrompt;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to derive a variant. */
    public Builder toBuilder() {
        Builder b = new Builder();
        for (Knob k : KNOBS.values()) {
            k.set.accept(b, JSON.valueToTree(k.get.apply(this)));
        }
        return b;
    }

    /** Peak learning rate of AdamW (TRL ORPOConfig: 1e-6). */
    public double learningRate() { return learningRate; }
    /** Weight of the odds-ratio term, the paper's λ (TRL {@code beta}, guide {@code orpo_beta}). */
    public double beta() { return beta; }
    /** Extra multiplier of the odds-ratio term (guide {@code orpo_alpha}); 1.0 reproduces TRL. */
    public double alpha() { return alpha; }
    /** Whether the chosen NLL covers the prompt tokens too (TRL: yes). */
    public boolean promptLoss() { return promptLoss; }
    public int maxLength() { return maxLength; }
    public int maxPromptLength() { return maxPromptLength; }
    /** Cap on each answer before truncation; null = none. */
    public Integer maxCompletionLength() { return maxCompletionLength; }
    /** {@code keep_end} (default) or {@code keep_start}: which end of an over-long prompt survives. */
    public String truncationMode() { return truncationMode; }
    /** Pairs per micro-batch in training. */
    public int perDeviceTrainBatchSize() { return perDeviceTrainBatchSize; }
    /** Pairs per batch in evaluation. */
    public int perDeviceEvalBatchSize() { return perDeviceEvalBatchSize; }
    /** Micro-batches per optimizer step. */
    public int gradientAccumulationSteps() { return gradientAccumulationSteps; }
    /** Epochs (fractional allowed, as HF) when {@link #maxSteps()} is not positive. */
    public double numTrainEpochs() { return numTrainEpochs; }
    /** Optimizer steps to run; {@code -1} (default) derives them from {@link #numTrainEpochs()}. */
    public int maxSteps() { return maxSteps; }
    public LrSchedulerType lrSchedulerType() { return lrSchedulerType; }
    /** Warmup optimizer steps; when 0, {@code ceil(warmupRatio * total)}. */
    public int warmupSteps() { return warmupSteps; }
    public double warmupRatio() { return warmupRatio; }
    /** Decoupled AdamW decay, applied to all but biases and norm weights. */
    public double weightDecay() { return weightDecay; }
    public double adamBeta1() { return adamBeta1; }
    public double adamBeta2() { return adamBeta2; }
    public double adamEpsilon() { return adamEpsilon; }
    /** Global L2 gradient-norm clip; 0 or less disables clipping. */
    public double maxGradNorm() { return maxGradNorm; }
    public long seed() { return seed; }
    /** Shuffle the training pairs each epoch (from seed and epoch); false keeps file order. */
    public boolean shuffle() { return shuffle; }
    /** Group pairs of similar length into the same micro-batch (less padding). */
    public boolean groupByLength() { return groupByLength; }
    /** Log (metrics.jsonl, console, listeners) every N optimizer steps. TRL ORPOConfig: 10. */
    public int loggingSteps() { return loggingSteps; }
    /** Also log the very first step. */
    public boolean loggingFirstStep() { return loggingFirstStep; }
    /** {@code no}, {@code steps} or {@code epoch}; the trainer also evaluates at the end when given eval data. */
    public String evalStrategy() { return evalStrategy; }
    /** Evaluation interval for {@code evalStrategy=steps}; null = {@link #loggingSteps()} (HF). */
    public Integer evalSteps() { return evalSteps; }
    /** Effective evaluation interval in steps. */
    public int effectiveEvalSteps() { return evalSteps == null ? loggingSteps : evalSteps; }
    /** {@code no}, {@code steps} (default) or {@code epoch}. */
    public String saveStrategy() { return saveStrategy; }
    /** Checkpoint interval for {@code saveStrategy=steps} (HF: 500). */
    public int saveSteps() { return saveSteps; }
    /** Keep at most this many checkpoints (oldest deleted first); null keeps all. */
    public Integer saveTotalLimit() { return saveTotalLimit; }
    /** Where checkpoints, metrics.jsonl and the final model go. */
    public String outputDir() { return outputDir; }
    /** null (fresh run), {@code latest} (newest checkpoint in outputDir, fresh when none) or a checkpoint folder. */
    public String resumeFromCheckpoint() { return resumeFromCheckpoint; }
    /** Non-finite loss/gradient steps in a row that stop the run (each one is skipped with a warning). */
    public int maxNonFiniteSteps() { return maxNonFiniteSteps; }
    /** When the loss is computed chunk by chunk from the hidden states instead of from full logits. */
    public ChunkedLoss chunkedLoss() { return chunkedLoss; }
    /** Logits values per chunk of the chunked loss (about C·V). */
    public long lossChunkValues() { return lossChunkValues; }
    public boolean bf16() { return bf16; }
    public boolean fp16() { return fp16; }
    public boolean overwriteOutputDir() { return overwriteOutputDir; }

    public boolean usePeft() { return usePeft; }
    public int loraR() { return loraR; }
    public double loraAlpha() { return loraAlpha; }
    public double loraDropout() { return loraDropout; }
    /** The configured LoRA targets, or null for PEFT's default. */
    public List<String> loraTargetModules() { return loraTargetModules; }
    public boolean useRslora() { return useRslora; }
    public boolean gradientCheckpointing() { return gradientCheckpointing; }
    /** Train on the shared-prompt layout (each prompt computed once, no padding) instead of TRL's two rows. */
    public boolean sharedPrompt() { return sharedPrompt; }

    /** The LoRA adapter these knobs describe (used when {@link #usePeft()}), PEFT's llama targets by default. */
    public LoraConfig loraConfig() {
        return loraConfig(toBuilder(), LoraConfig.defaultTargets());
    }

    /** The LoRA adapter these knobs describe for a model of {@code modelType} (PEFT's default targets for it). */
    public LoraConfig loraConfig(String modelType) {
        return loraConfig(toBuilder(), loraTargetModules == null ? LoraConfig.defaultTargets(modelType) : null);
    }

    private static LoraConfig loraConfig(Builder b, List<String> defaultTargets) {
        return new LoraConfig(b.loraR, b.loraAlpha, b.loraDropout,
                b.loraTargetModules == null ? defaultTargets : b.loraTargetModules, b.useRslora, null);
    }

    /** The training precision {@link #bf16()} and {@link #fp16()} choose. */
    public Precision precision() { return Precision.of(bf16, fp16); }

    /** The tokenization knobs as the data package's options (field names and bad-data policy at defaults). */
    public DataOptions dataOptions() {
        return DataOptions.builder().maxLength(maxLength).maxPromptLength(maxPromptLength)
                .maxCompletionLength(maxCompletionLength).truncationMode(TruncationMode.parse(truncationMode))
                .build();
    }

    // ---------------------------------------------------------------------------------------------- JSON

    /** This config as a JSON object with camelCase keys (every knob, nulls included). */
    public ObjectNode toJson() {
        ObjectNode node = JSON.createObjectNode();
        for (Map.Entry<String, Knob> e : KNOBS.entrySet()) {
            node.set(e.getKey(), JSON.valueToTree(e.getValue().get.apply(this)));
        }
        return node;
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
        Map<String, String> seen = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = canonical(e.getKey());
            Knob knob = KNOBS.get(key);
            if (knob == null) {
                throw new IllegalArgumentException("unknown config key '" + e.getKey() + "' in " + source);
            }
            String previous = seen.put(key, e.getKey());
            if (previous != null) {
                throw new IllegalArgumentException("config key '" + e.getKey() + "' in " + source
                        + " repeats '" + previous + "'");
            }
            try {
                knob.set.accept(b, e.getValue());
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

    /** Parses a JSON string (see {@link #fromJson(JsonNode, String)}). */
    public static OrpoConfig fromJson(String json, String source) {
        try {
            return fromJson(JSON.readTree(json), source);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse config " + source + ": " + e.getMessage(), e);
        }
    }

    /** snake_case to camelCase, then the guide's aliases. */
    static String canonical(String key) {
        StringBuilder sb = new StringBuilder(key.length());
        boolean upper = false;
        for (char c : key.toCharArray()) {
            if (c == '_') {
                upper = sb.length() > 0;
            } else {
                sb.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            }
        }
        String camel = sb.toString();
        return switch (camel) {
            case "orpoAlpha" -> "alpha";
            case "orpoBeta" -> "beta";
            default -> camel;
        };
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

    // ------------------------------------------------------------------------------------------ knobs

    /** One JSON-visible knob: how to read it from a config and set it on a builder. */
    private record Knob(Function<OrpoConfig, Object> get, BiConsumer<Builder, JsonNode> set) {}

    private static final Map<String, Knob> KNOBS = new LinkedHashMap<>();

    private static void knob(String name, Function<OrpoConfig, Object> get, BiConsumer<Builder, JsonNode> set) {
        KNOBS.put(name, new Knob(get, set));
    }

    static {
        knob("learningRate", c -> c.learningRate, (b, n) -> b.learningRate(dbl(n)));
        knob("beta", c -> c.beta, (b, n) -> b.beta(dbl(n)));
        knob("alpha", c -> c.alpha, (b, n) -> b.alpha(dbl(n)));
        knob("promptLoss", c -> c.promptLoss, (b, n) -> b.promptLoss(bool(n)));
        knob("maxLength", c -> c.maxLength, (b, n) -> b.maxLength(integer(n)));
        knob("maxPromptLength", c -> c.maxPromptLength, (b, n) -> b.maxPromptLength(integer(n)));
        knob("maxCompletionLength", c -> c.maxCompletionLength, (b, n) -> b.maxCompletionLength(nullableInt(n)));
        knob("truncationMode", c -> c.truncationMode, (b, n) -> b.truncationMode(text(n)));
        knob("perDeviceTrainBatchSize", c -> c.perDeviceTrainBatchSize,
                (b, n) -> b.perDeviceTrainBatchSize(integer(n)));
        knob("perDeviceEvalBatchSize", c -> c.perDeviceEvalBatchSize,
                (b, n) -> b.perDeviceEvalBatchSize(integer(n)));
        knob("gradientAccumulationSteps", c -> c.gradientAccumulationSteps,
                (b, n) -> b.gradientAccumulationSteps(integer(n)));
        knob("numTrainEpochs", c -> c.numTrainEpochs, (b, n) -> b.numTrainEpochs(dbl(n)));
        knob("maxSteps", c -> c.maxSteps, (b, n) -> b.maxSteps(integer(n)));
        knob("lrSchedulerType", c -> c.lrSchedulerType.hfName(),
                (b, n) -> b.lrSchedulerType(LrSchedulerType.parse(text(n))));
        knob("warmupSteps", c -> c.warmupSteps, (b, n) -> b.warmupSteps(integer(n)));
        knob("warmupRatio", c -> c.warmupRatio, (b, n) -> b.warmupRatio(dbl(n)));
        knob("weightDecay", c -> c.weightDecay, (b, n) -> b.weightDecay(dbl(n)));
        knob("adamBeta1", c -> c.adamBeta1, (b, n) -> b.adamBeta1(dbl(n)));
        knob("adamBeta2", c -> c.adamBeta2, (b, n) -> b.adamBeta2(dbl(n)));
        knob("adamEpsilon", c -> c.adamEpsilon, (b, n) -> b.adamEpsilon(dbl(n)));
        knob("maxGradNorm", c -> c.maxGradNorm, (b, n) -> b.maxGradNorm(dbl(n)));
        knob("seed", c -> c.seed, (b, n) -> b.seed(longValue(n)));
        knob("shuffle", c -> c.shuffle, (b, n) -> b.shuffle(bool(n)));
        knob("groupByLength", c -> c.groupByLength, (b, n) -> b.groupByLength(bool(n)));
        knob("loggingSteps", c -> c.loggingSteps, (b, n) -> b.loggingSteps(integer(n)));
        knob("loggingFirstStep", c -> c.loggingFirstStep, (b, n) -> b.loggingFirstStep(bool(n)));
        knob("evalStrategy", c -> c.evalStrategy, (b, n) -> b.evalStrategy(text(n)));
        knob("evalSteps", c -> c.evalSteps, (b, n) -> b.evalSteps(nullableInt(n)));
        knob("saveStrategy", c -> c.saveStrategy, (b, n) -> b.saveStrategy(text(n)));
        knob("saveSteps", c -> c.saveSteps, (b, n) -> b.saveSteps(integer(n)));
        knob("saveTotalLimit", c -> c.saveTotalLimit, (b, n) -> b.saveTotalLimit(nullableInt(n)));
        knob("outputDir", c -> c.outputDir, (b, n) -> b.outputDir(text(n)));
        knob("resumeFromCheckpoint", c -> c.resumeFromCheckpoint, (b, n) -> b.resumeFromCheckpoint(nullableText(n)));
        knob("maxNonFiniteSteps", c -> c.maxNonFiniteSteps, (b, n) -> b.maxNonFiniteSteps(integer(n)));
        knob("chunkedLoss", c -> c.chunkedLoss.jsonName(), (b, n) -> b.chunkedLoss(ChunkedLoss.parse(text(n))));
        knob("lossChunkValues", c -> c.lossChunkValues, (b, n) -> b.lossChunkValues(longValue(n)));
        knob("bf16", c -> c.bf16, (b, n) -> b.bf16(bool(n)));
        knob("fp16", c -> c.fp16, (b, n) -> b.fp16(bool(n)));
        knob("overwriteOutputDir", c -> c.overwriteOutputDir, (b, n) -> b.overwriteOutputDir(bool(n)));
        knob("usePeft", c -> c.usePeft, (b, n) -> b.usePeft(bool(n)));
        knob("loraR", c -> c.loraR, (b, n) -> b.loraR(integer(n)));
        knob("loraAlpha", c -> c.loraAlpha, (b, n) -> b.loraAlpha(dbl(n)));
        knob("loraDropout", c -> c.loraDropout, (b, n) -> b.loraDropout(dbl(n)));
        knob("loraTargetModules", c -> c.loraTargetModules, (b, n) -> b.loraTargetModules(textList(n)));
        knob("useRslora", c -> c.useRslora, (b, n) -> b.useRslora(bool(n)));
        knob("gradientCheckpointing", c -> c.gradientCheckpointing, (b, n) -> b.gradientCheckpointing(bool(n)));
        knob("sharedPrompt", c -> c.sharedPrompt, (b, n) -> b.sharedPrompt(bool(n)));
    }

    private static double dbl(JsonNode n) {
        if (!n.isNumber()) {
            throw new IllegalArgumentException("expected a number, got " + n);
        }
        return n.doubleValue();
    }

    private static long longValue(JsonNode n) {
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new IllegalArgumentException("expected an integer, got " + n);
        }
        return n.longValue();
    }

    private static int integer(JsonNode n) {
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException("expected an integer, got " + n);
        }
        return n.intValue();
    }

    private static Integer nullableInt(JsonNode n) {
        return n.isNull() ? null : integer(n);
    }

    private static boolean bool(JsonNode n) {
        if (!n.isBoolean()) {
            throw new IllegalArgumentException("expected true or false, got " + n);
        }
        return n.booleanValue();
    }

    private static String text(JsonNode n) {
        if (!n.isTextual()) {
            throw new IllegalArgumentException("expected a string, got " + n);
        }
        return n.textValue();
    }

    /** A list of strings: a JSON array, one string, or a comma-separated string (TRL's CLI); null stays null. */
    private static List<String> textList(JsonNode n) {
        if (n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return List.of(n.textValue().split("\\s*,\\s*"));
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException("expected a list of strings, got " + n);
        }
        List<String> out = new java.util.ArrayList<>();
        n.forEach(e -> out.add(text(e)));
        return out;
    }

    private static String nullableText(JsonNode n) {
        return n.isNull() ? null : text(n);
    }

    // ---------------------------------------------------------------------------------------- builder

    /** Fluent builder; every setter's default is TRL's/HF's. */
    public static final class Builder {
        private double learningRate = 1e-6;
        private double beta = 0.1;
        private double alpha = 1.0;
        private boolean promptLoss = true;
        private int maxLength = 1024;
        private int maxPromptLength = 512;
        private Integer maxCompletionLength;
        private String truncationMode = "keep_end";
        private int perDeviceTrainBatchSize = 8;
        private int perDeviceEvalBatchSize = 8;
        private int gradientAccumulationSteps = 1;
        private double numTrainEpochs = 3.0;
        private int maxSteps = -1;
        private LrSchedulerType lrSchedulerType = LrSchedulerType.LINEAR;
        private int warmupSteps;
        private double warmupRatio;
        private double weightDecay;
        private double adamBeta1 = 0.9;
        private double adamBeta2 = 0.999;
        private double adamEpsilon = 1e-8;
        private double maxGradNorm = 1.0;
        private long seed = 42;
        private boolean shuffle = true;
        private boolean groupByLength = true;
        private int loggingSteps = 10;
        private boolean loggingFirstStep;
        private String evalStrategy = "no";
        private Integer evalSteps;
        private String saveStrategy = "steps";
        private int saveSteps = 500;
        private Integer saveTotalLimit;
        private String outputDir = "output";
        private String resumeFromCheckpoint;
        private int maxNonFiniteSteps = 5;
        private ChunkedLoss chunkedLoss = ChunkedLoss.AUTO;
        private long lossChunkValues = ChunkedOrpoLoss.DEFAULT_CHUNK_VALUES;
        private boolean bf16;
        private boolean fp16;
        private boolean overwriteOutputDir;
        private boolean usePeft;
        private int loraR = 16;
        private double loraAlpha = 32;
        private double loraDropout = 0.05;
        private List<String> loraTargetModules;
        private boolean useRslora;
        private boolean gradientCheckpointing = true;
        private boolean sharedPrompt = true;

        private Builder() {}

        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder beta(double v) { beta = v; return this; }
        /** Alias of {@link #beta(double)} (the guide's {@code orpo_beta}). */
        public Builder orpoBeta(double v) { return beta(v); }
        public Builder alpha(double v) { alpha = v; return this; }
        /** Alias of {@link #alpha(double)} (the guide's {@code orpo_alpha}). */
        public Builder orpoAlpha(double v) { return alpha(v); }
        public Builder promptLoss(boolean v) { promptLoss = v; return this; }
        public Builder maxLength(int v) { maxLength = v; return this; }
        public Builder maxPromptLength(int v) { maxPromptLength = v; return this; }
        public Builder maxCompletionLength(Integer v) { maxCompletionLength = v; return this; }
        public Builder truncationMode(String v) { truncationMode = v; return this; }
        public Builder perDeviceTrainBatchSize(int v) { perDeviceTrainBatchSize = v; return this; }
        public Builder perDeviceEvalBatchSize(int v) { perDeviceEvalBatchSize = v; return this; }
        public Builder gradientAccumulationSteps(int v) { gradientAccumulationSteps = v; return this; }
        public Builder numTrainEpochs(double v) { numTrainEpochs = v; return this; }
        public Builder maxSteps(int v) { maxSteps = v; return this; }
        public Builder lrSchedulerType(LrSchedulerType v) { lrSchedulerType = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder warmupRatio(double v) { warmupRatio = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder adamBeta1(double v) { adamBeta1 = v; return this; }
        public Builder adamBeta2(double v) { adamBeta2 = v; return this; }
        public Builder adamEpsilon(double v) { adamEpsilon = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder shuffle(boolean v) { shuffle = v; return this; }
        public Builder groupByLength(boolean v) { groupByLength = v; return this; }
        public Builder loggingSteps(int v) { loggingSteps = v; return this; }
        public Builder loggingFirstStep(boolean v) { loggingFirstStep = v; return this; }
        public Builder evalStrategy(String v) { evalStrategy = v; return this; }
        public Builder evalSteps(Integer v) { evalSteps = v; return this; }
        public Builder saveStrategy(String v) { saveStrategy = v; return this; }
        public Builder saveSteps(int v) { saveSteps = v; return this; }
        public Builder saveTotalLimit(Integer v) { saveTotalLimit = v; return this; }
        public Builder outputDir(String v) { outputDir = v; return this; }
        public Builder outputDir(Path v) { outputDir = v.toString(); return this; }
        public Builder resumeFromCheckpoint(String v) { resumeFromCheckpoint = v; return this; }
        public Builder maxNonFiniteSteps(int v) { maxNonFiniteSteps = v; return this; }
        public Builder chunkedLoss(ChunkedLoss v) { chunkedLoss = v; return this; }
        public Builder lossChunkValues(long v) { lossChunkValues = v; return this; }
        /** bfloat16 mixed precision with float32 master weights (needs the orpo4j-built JNI, docs/gpu.md). */
        public Builder bf16(boolean v) { bf16 = v; return this; }
        /** float16 mixed precision with float32 master weights and dynamic loss scaling. */
        public Builder fp16(boolean v) { fp16 = v; return this; }
        /** Start over in an output folder that holds an earlier run (its checkpoints and metrics are deleted). */
        public Builder overwriteOutputDir(boolean v) { overwriteOutputDir = v; return this; }
        /** Train a LoRA adapter on the frozen model instead of every weight (TRL's {@code use_peft}). */
        public Builder usePeft(boolean v) { usePeft = v; return this; }
        public Builder loraR(int v) { loraR = v; return this; }
        public Builder loraAlpha(double v) { loraAlpha = v; return this; }
        public Builder loraDropout(double v) { loraDropout = v; return this; }
        /** Module names ({@code q_proj}, ...) or {@code all-linear}; null: PEFT's default for the architecture. */
        public Builder loraTargetModules(List<String> v) { loraTargetModules = v == null ? null : List.copyOf(v); return this; }
        public Builder useRslora(boolean v) { useRslora = v; return this; }
        /** Recompute each decoder layer during backward instead of keeping its activations (TRL's default). */
        public Builder gradientCheckpointing(boolean v) { gradientCheckpointing = v; return this; }
        /**
         * Lay each pair out as {@code [prompt | chosen | rejected]}, the micro-batch packed into one row: the prompt
         * runs once and no padding runs; the loss and gradients equal the two-row layout's (docs/training.md).
         */
        public Builder sharedPrompt(boolean v) { sharedPrompt = v; return this; }

        /** Validates and builds; errors name the field. */
        public OrpoConfig build() {
            require(learningRate >= 0 && Double.isFinite(learningRate), "learningRate", learningRate, ">= 0");
            require(beta >= 0 && Double.isFinite(beta), "beta", beta, ">= 0");
            require(Double.isFinite(alpha), "alpha", alpha, "finite");
            require(maxLength > 0, "maxLength", maxLength, "> 0");
            require(maxPromptLength > 0 && maxPromptLength <= maxLength, "maxPromptLength", maxPromptLength,
                    "in 1.." + maxLength + " (maxLength)");
            require(maxCompletionLength == null || maxCompletionLength > 0, "maxCompletionLength",
                    maxCompletionLength, "> 0 or null");
            require("keep_end".equals(truncationMode) || "keep_start".equals(truncationMode), "truncationMode",
                    truncationMode, "keep_end or keep_start");
            require(perDeviceTrainBatchSize > 0, "perDeviceTrainBatchSize", perDeviceTrainBatchSize, "> 0");
            require(perDeviceEvalBatchSize > 0, "perDeviceEvalBatchSize", perDeviceEvalBatchSize, "> 0");
            require(gradientAccumulationSteps > 0, "gradientAccumulationSteps", gradientAccumulationSteps, "> 0");
            require(maxSteps > 0 || (numTrainEpochs > 0 && Double.isFinite(numTrainEpochs)), "numTrainEpochs",
                    numTrainEpochs, "> 0 when maxSteps is not set");
            require(warmupSteps >= 0, "warmupSteps", warmupSteps, ">= 0");
            require(warmupRatio >= 0 && warmupRatio <= 1, "warmupRatio", warmupRatio, "in [0, 1]");
            require(weightDecay >= 0, "weightDecay", weightDecay, ">= 0");
            require(adamBeta1 >= 0 && adamBeta1 < 1, "adamBeta1", adamBeta1, "in [0, 1)");
            require(adamBeta2 >= 0 && adamBeta2 < 1, "adamBeta2", adamBeta2, "in [0, 1)");
            require(adamEpsilon >= 0, "adamEpsilon", adamEpsilon, ">= 0");
            require(!Double.isNaN(maxGradNorm), "maxGradNorm", maxGradNorm, "a number");
            require(loggingSteps > 0, "loggingSteps", loggingSteps, "> 0");
            require(STRATEGIES.contains(evalStrategy), "evalStrategy", evalStrategy, "one of " + STRATEGIES);
            require(evalSteps == null || evalSteps > 0, "evalSteps", evalSteps, "> 0 or null");
            require(STRATEGIES.contains(saveStrategy), "saveStrategy", saveStrategy, "one of " + STRATEGIES);
            require(saveSteps > 0, "saveSteps", saveSteps, "> 0");
            require(saveTotalLimit == null || saveTotalLimit > 0, "saveTotalLimit", saveTotalLimit, "> 0 or null");
            require(outputDir != null && !outputDir.isBlank(), "outputDir", outputDir, "a folder");
            require(maxNonFiniteSteps > 0, "maxNonFiniteSteps", maxNonFiniteSteps, "> 0");
            require(lossChunkValues > 0, "lossChunkValues", lossChunkValues, "> 0");
            require(!(bf16 && fp16), "fp16", fp16, "false when bf16 is set (choose one)");
            try {
                loraConfig(this, LoraConfig.defaultTargets());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage().replace("lora r ", "loraR ")
                        .replace("lora_alpha", "loraAlpha").replace("lora_dropout", "loraDropout")
                        .replace("lora target", "loraTargetModules: target"), e);
            }
            return new OrpoConfig(this);
        }

        private static void require(boolean ok, String field, Object value, String expected) {
            if (!ok) {
                throw new IllegalArgumentException(field + " = " + value + " must be " + expected);
            }
        }
    }
}
