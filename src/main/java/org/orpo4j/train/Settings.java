package org.orpo4j.train;

import static org.orpo4j.train.Setting.Check.above;
import static org.orpo4j.train.Setting.Check.atLeast;
import static org.orpo4j.train.Setting.Check.between;
import static org.orpo4j.train.Setting.Check.finite;
import static org.orpo4j.train.Setting.Check.nonNegative;
import static org.orpo4j.train.Setting.Check.notBlank;
import static org.orpo4j.train.Setting.Check.notNaN;
import static org.orpo4j.train.Setting.Check.oneOf;
import static org.orpo4j.train.Setting.Check.positive;
import static org.orpo4j.train.Setting.Check.positiveLong;

import java.util.List;
import org.orpo4j.data.TruncationMode;
import org.orpo4j.loss.ChunkedOrpoLoss;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.model.AttnImplementation;
import org.orpo4j.quantization.QuantType;
import org.orpo4j.train.Setting.Check;
import org.orpo4j.train.Setting.Flag;
import org.orpo4j.train.Setting.Kind;

/**
 * Every training setting, each declared once: name (TRL's and HF's, camelCase), kind, default, check, help and the
 * {@code orpo4j train} flag. {@link OrpoConfig} holds their values; adding a setting is one entry here (and the
 * code that reads it, through {@link OrpoConfig#get}).
 */
public final class Settings {

    private Settings() {}

    /** The values {@code evalStrategy} and {@code saveStrategy} take (HF's IntervalStrategy). */
    public static final List<String> STRATEGIES = List.of("no", "steps", "epoch");

    /** The trackers {@code reportTo} names (HF's report_to values orpo4j has); none stands alone. */
    public static final List<String> TRACKERS = List.of("jsonl", "tensorboard", "mlflow", "none");

    private static final Kind<String> TRUNCATION = Kind.names("keep_end or keep_start",
            t -> TruncationMode.parse(t).name().toLowerCase(java.util.Locale.ROOT), t -> t);
    private static final Kind<LrSchedulerType> SCHEDULER = Kind.names("linear, cosine, constant or"
            + " constant_with_warmup", LrSchedulerType::parse, LrSchedulerType::hfName);
    private static final Kind<ChunkedLoss> CHUNKED = Kind.names("auto, on or off", ChunkedLoss::parse,
            ChunkedLoss::jsonName);
    private static final Kind<AttnImplementation> ATTENTION = Kind.names("eager or sdpa", AttnImplementation::parse,
            AttnImplementation::hfName);
    private static final Kind<QuantType> QUANT_TYPE = Kind.names("nf4 or fp4", QuantType::parse, QuantType::bnbName);

    // the loss
    public static final Setting<Double> BETA = Setting.of("beta", Kind.DECIMAL, 0.1).check(atLeast(0))
            .alias("orpoBeta").flag(Flag.value("--beta", "B"))
            .help("Odds-ratio weight, the paper's lambda (guide: orpo_beta).");
    public static final Setting<Double> ALPHA = Setting.of("alpha", Kind.DECIMAL, 1.0).check(atLeast(0))
            .alias("orpoAlpha").flag(Flag.value("--alpha", "A"))
            .help("Extra multiplier of the odds-ratio term (guide: orpo_alpha); 1.0 is TRL.");
    public static final Setting<Boolean> PROMPT_LOSS = Setting.of("promptLoss", Kind.BOOLEAN, true)
            .flag(Flag.setsFalse("--no-prompt-loss"))
            .help("The chosen NLL covers the prompt tokens too (TRL); --no-prompt-loss: the answer tokens only.");

    // data
    public static final Setting<Integer> MAX_LENGTH = Setting.of("maxLength", Kind.INTEGER, 1024).check(positive())
            .flag(Flag.value("--max-length", "L")).help("Longest prompt + answer in tokens.");
    public static final Setting<Integer> MAX_PROMPT_LENGTH = Setting.of("maxPromptLength", Kind.INTEGER, 512)
            .check(positive()).flag(Flag.value("--max-prompt-length", "P"))
            .help("Longest prompt after truncation (at most maxLength).");
    public static final Setting<Integer> MAX_COMPLETION_LENGTH = Setting.of("maxCompletionLength", Kind.INTEGER,
            (Integer) null).check(positive()).flag(Flag.value("--max-completion-length", "C"))
            .help("Cap on each answer, applied first (null: none).");
    public static final Setting<String> TRUNCATION_MODE = Setting.of("truncationMode", TRUNCATION, "keep_end")
            .flag(Flag.value("--truncation", "MODE"))
            .help("keep_end keeps a long prompt's last tokens, keep_start its first.");

    // batches, steps and schedule
    public static final Setting<Integer> PER_DEVICE_EVAL_BATCH_SIZE = Setting.of("perDeviceEvalBatchSize",
            Kind.INTEGER, 8).check(positive()).help("Pairs per evaluation batch.");
    public static final Setting<Integer> PER_DEVICE_TRAIN_BATCH_SIZE = Setting.of("perDeviceTrainBatchSize",
            Kind.INTEGER, 8).check(positive())
            .flag(Flag.value("--batch-size", "B").also("perDeviceEvalBatchSize", null))
            .help("Pairs per micro-batch (evaluation batches too, on the command line).");
    public static final Setting<Integer> GRADIENT_ACCUMULATION_STEPS = Setting.of("gradientAccumulationSteps",
            Kind.INTEGER, 1).check(positive()).flag(Flag.value("--grad-accum", "G"))
            .help("Micro-batches per optimizer step.");
    public static final Setting<Integer> MAX_STEPS = Setting.of("maxSteps", Kind.INTEGER, -1)
            .flag(Flag.value("--max-steps", "N")).help("Optimizer steps to run; -1 derives them from the epochs.");
    public static final Setting<Double> NUM_TRAIN_EPOCHS = Setting.of("numTrainEpochs", Kind.DECIMAL, 3.0)
            .check(finite()).flag(Flag.value("--epochs", "E").also("maxSteps", -1))
            .help("Epochs, fractional allowed, when maxSteps is not positive.");
    public static final Setting<Double> LEARNING_RATE = Setting.of("learningRate", Kind.DECIMAL, 1e-6)
            .check(atLeast(0)).flag(Flag.value("--lr", "X")).help("Peak AdamW learning rate (TRL's ORPOConfig).");
    public static final Setting<LrSchedulerType> LR_SCHEDULER_TYPE = Setting.of("lrSchedulerType", SCHEDULER,
            LrSchedulerType.LINEAR).flag(Flag.value("--scheduler", "NAME"))
            .help("linear, cosine, constant or constant_with_warmup.");
    public static final Setting<Integer> WARMUP_STEPS = Setting.of("warmupSteps", Kind.INTEGER, 0)
            .check(nonNegative()).flag(Flag.value("--warmup-steps", "W").also("warmupRatio", 0.0))
            .help("Warmup steps; 0 uses warmupRatio.");
    public static final Setting<Double> WARMUP_RATIO = Setting.of("warmupRatio", Kind.DECIMAL, 0.0)
            .check(between(0, 1, true)).flag(Flag.value("--warmup-ratio", "R").also("warmupSteps", 0))
            .help("Warmup as a fraction of all steps (when warmupSteps is 0).");
    public static final Setting<Double> WEIGHT_DECAY = Setting.of("weightDecay", Kind.DECIMAL, 0.0)
            .check(atLeast(0)).flag(Flag.value("--weight-decay", "D"))
            .help("Decoupled AdamW weight decay (not on biases and norms).");
    public static final Setting<Double> ADAM_BETA1 = Setting.of("adamBeta1", Kind.DECIMAL, 0.9)
            .check(between(0, 1, false)).help("AdamW beta1.");
    public static final Setting<Double> ADAM_BETA2 = Setting.of("adamBeta2", Kind.DECIMAL, 0.999)
            .check(between(0, 1, false)).help("AdamW beta2.");
    public static final Setting<Double> ADAM_EPSILON = Setting.of("adamEpsilon", Kind.DECIMAL, 1e-8)
            .check(atLeast(0)).help("AdamW epsilon.");
    public static final Setting<Double> MAX_GRAD_NORM = Setting.of("maxGradNorm", Kind.DECIMAL, 1.0)
            .check(notNaN()).flag(Flag.value("--max-grad-norm", "C")).help("Global gradient-norm clip; 0 = off.");

    // data order
    public static final Setting<Long> SEED = Setting.of("seed", Kind.LONG, 42L).flag(Flag.value("--seed", "S"))
            .help("Seed of the data order (and of LoRA's initialisation and dropout).");
    public static final Setting<Boolean> SHUFFLE = Setting.of("shuffle", Kind.BOOLEAN, true)
            .flag(Flag.setsFalse("--no-shuffle")).help("Shuffle the pairs each epoch; --no-shuffle keeps file order.");
    public static final Setting<Boolean> GROUP_BY_LENGTH = Setting.of("groupByLength", Kind.BOOLEAN, true)
            .flag(Flag.setsFalse("--no-group-by-length"))
            .help("Group similar lengths into a micro-batch (less padding).");

    // logging, evaluation, checkpoints
    public static final Setting<Integer> LOGGING_STEPS = Setting.of("loggingSteps", Kind.INTEGER, 10)
            .check(positive()).flag(Flag.value("--log-every", "K")).help("Log every K steps.");
    public static final Setting<Boolean> LOGGING_FIRST_STEP = Setting.of("loggingFirstStep", Kind.BOOLEAN, false)
            .help("Also log the first step.");
    public static final Setting<List<String>> REPORT_TO = Setting.of("reportTo", Kind.TEXT_LIST, List.of("jsonl"))
            .check(Check.of(Settings::knownTrackers, "one or more of " + String.join(", ", TRACKERS.subList(0, 3))
                    + " (comma-separated), or none", List.of("wandb")))
            .flag(Flag.value("--report-to", "NAMES"))
            .help("Trackers (HF's report_to): tensorboard (OUTPUT/runs), mlflow (MLFLOW_TRACKING_URI); metrics.jsonl"
                    + " is always written.");
    public static final Setting<String> RUN_NAME = Setting.of("runName", Kind.TEXT, (String) null)
            .flag(Flag.value("--run-name", "NAME")).help("The run's name in MLflow (null: the output folder's name).");
    public static final Setting<String> EVAL_STRATEGY = Setting.of("evalStrategy", Kind.TEXT, "no")
            .check(oneOf(STRATEGIES)).flag(Flag.value("--eval-strategy", "WHEN"))
            .help("When to evaluate: no, steps or epoch (and always at the end).");
    public static final Setting<Integer> EVAL_STEPS = Setting.of("evalSteps", Kind.INTEGER, (Integer) null)
            .check(positive()).flag(Flag.value("--eval-every", "K").alias("--eval-steps").also("evalStrategy", "steps"))
            .help("Evaluate every K steps (null: loggingSteps).");
    public static final Setting<Boolean> GENERATE_DURING_EVAL = Setting.of("generateDuringEval", Kind.BOOLEAN, false)
            .flag(Flag.setsTrue("--generate-during-eval"))
            .help("After each evaluation, greedy completions of the first eval prompts go to samples.jsonl and the"
                    + " trackers (TRL).");
    public static final Setting<Integer> GENERATE_SAMPLES = Setting.of("generateSamples", Kind.INTEGER, 4)
            .check(positive()).flag(Flag.value("--generate-samples", "K"))
            .help("Eval prompts generateDuringEval completes, the first K in file order.");
    public static final Setting<Integer> GENERATE_MAX_NEW_TOKENS = Setting.of("generateMaxNewTokens", Kind.INTEGER,
            (Integer) null).check(positive()).flag(Flag.value("--generate-max-new-tokens", "N"))
            .help("Token budget of each sample (null: up to maxLength with the prompt, TRL's bound).");
    public static final Setting<String> SAVE_STRATEGY = Setting.of("saveStrategy", Kind.TEXT, "steps")
            .check(oneOf(STRATEGIES)).help("When to checkpoint: no, steps or epoch.");
    public static final Setting<Integer> SAVE_STEPS = Setting.of("saveSteps", Kind.INTEGER, 500).check(positive())
            .flag(Flag.value("--save-every", "K").also("saveStrategy", "steps")).help("Checkpoint every K steps.");
    public static final Setting<Integer> SAVE_TOTAL_LIMIT = Setting.of("saveTotalLimit", Kind.INTEGER,
            (Integer) null).check(positive()).flag(Flag.value("--save-total-limit", "K"))
            .help("Keep the last K checkpoints (null: all).");
    public static final Setting<String> OUTPUT_DIR = Setting.of("outputDir", Kind.TEXT, "output").check(notBlank())
            .help("Where checkpoints, metrics.jsonl and the final model go.");
    public static final Setting<String> RESUME_FROM_CHECKPOINT = Setting.of("resumeFromCheckpoint", Kind.TEXT,
            (String) null).flag(Flag.optionalValue("--resume", "DIR", "latest"))
            .help("Resume from the newest checkpoint in the output (latest), or from checkpoint folder DIR.");
    public static final Setting<Boolean> OVERWRITE_OUTPUT_DIR = Setting.of("overwriteOutputDir", Kind.BOOLEAN, false)
            .flag(Flag.setsTrue("--overwrite-output-dir"))
            .help("Start over in an output that holds a run, deleting its checkpoints and metrics.");
    public static final Setting<Integer> MAX_NON_FINITE_STEPS = Setting.of("maxNonFiniteSteps", Kind.INTEGER, 5)
            .check(positive()).help("Non-finite steps in a row that stop the run.");

    // memory and precision
    public static final Setting<ChunkedLoss> CHUNKED_LOSS = Setting.of("chunkedLoss", CHUNKED, ChunkedLoss.AUTO)
            .flag(Flag.value("--chunked-loss", "WHEN"))
            .help("Compute the loss chunk by chunk from the hidden states: auto, on or off.");
    public static final Setting<Long> LOSS_CHUNK_VALUES = Setting.of("lossChunkValues", Kind.LONG,
            ChunkedOrpoLoss.DEFAULT_CHUNK_VALUES).check(positiveLong()).help("Logits values per loss chunk.");
    public static final Setting<Boolean> BF16 = Setting.of("bf16", Kind.BOOLEAN, false)
            .flag(Flag.setsTrue("--bf16").also("fp16", false))
            .help("bfloat16 mixed precision with float32 master weights (needs orpo4j's native library).");
    public static final Setting<Boolean> FP16 = Setting.of("fp16", Kind.BOOLEAN, false)
            .flag(Flag.setsTrue("--fp16").also("bf16", false))
            .help("float16 mixed precision with float32 master weights and dynamic loss scaling.");
    public static final Setting<Boolean> GRADIENT_CHECKPOINTING = Setting.of("gradientCheckpointing", Kind.BOOLEAN,
            true).flag(Flag.negatable("--gradient-checkpointing"))
            .help("Recompute each decoder layer in backward instead of keeping its activations.");
    public static final Setting<Boolean> SHARED_PROMPT = Setting.of("sharedPrompt", Kind.BOOLEAN, true)
            .flag(Flag.negatable("--shared-prompt"))
            .help("Each pair as [prompt | chosen | rejected] in one packed row; off: TRL's two padded rows.");
    public static final Setting<AttnImplementation> ATTN_IMPLEMENTATION = Setting.of("attnImplementation", ATTENTION,
            (AttnImplementation) null).flag(Flag.value("--attn-implementation", "NAME"))
            .help("eager, or sdpa: torch's fused attention, memory linear in length (orpo4j's native library);"
                    + " null: the model's own (eager).");

    // data-parallel ranks (docs/distributed.md); the launcher's own flags are train's (--nproc-per-node, ...)
    public static final Setting<String> DDP_BACKEND = Setting.of("ddpBackend", Kind.TEXT, "auto")
            .check(oneOf(List.of("auto", "gloo", "nccl"))).flag(Flag.value("--ddp-backend", "NAME"))
            .help("c10d backend of a data-parallel run: auto (nccl on a GPU where the JNI has it, else gloo), gloo or nccl.");
    public static final Setting<Integer> DDP_TIMEOUT = Setting.of("ddpTimeout", Kind.INTEGER, 1800)
            .check(positive()).flag(Flag.value("--ddp-timeout", "SECONDS"))
            .help("How long a rank waits for the others (rendezvous, each collective) before it stops.");

    // LoRA
    public static final Setting<Boolean> USE_PEFT = Setting.of("usePeft", Kind.BOOLEAN, false)
            .flag(Flag.setsTrue("--use-peft")).help("Train a LoRA adapter on the frozen model (PEFT's files).");
    public static final Setting<Integer> LORA_R = Setting.of("loraR", Kind.INTEGER, 16).check(positive())
            .flag(Flag.value("--lora-r", "N")).help("LoRA rank.");
    public static final Setting<Double> LORA_ALPHA = Setting.of("loraAlpha", Kind.DECIMAL, 32.0).check(above(0))
            .flag(Flag.value("--lora-alpha", "A")).help("LoRA alpha; the adapter is scaled by alpha/r.");
    public static final Setting<Double> LORA_DROPOUT = Setting.of("loraDropout", Kind.DECIMAL, 0.05)
            .check(between(0, 1, false)).flag(Flag.value("--lora-dropout", "P"))
            .help("Dropout on the adapter input in training (> 0 trains on two rows, as TRL).");
    public static final Setting<List<String>> LORA_TARGET_MODULES = Setting.of("loraTargetModules", Kind.TEXT_LIST,
            (List<String>) null).check(Check.of(LoraConfig::validTargets, "module names among "
                    + String.join(", ", LoraConfig.LINEAR_MODULES) + ", or all-linear alone", List.of("lm_head")))
            .flag(Flag.value("--lora-target-modules", "NAMES"))
            .help("q_proj,v_proj,... or all-linear; null: PEFT's default for the family.");
    public static final Setting<Boolean> USE_RSLORA = Setting.of("useRslora", Kind.BOOLEAN, false)
            .flag(Flag.setsTrue("--use-rslora")).help("Rank-stabilised scaling alpha/sqrt(r).");

    // sharing
    public static final Setting<Boolean> PUSH_TO_HUB = Setting.of("pushToHub", Kind.BOOLEAN, false)
            .flag(Flag.setsTrue("--push-to-hub"))
            .help("After training, upload the output folder to the hub repository hubModelId (HF_TOKEN).");
    public static final Setting<String> HUB_MODEL_ID = Setting.of("hubModelId", Kind.TEXT, (String) null)
            .check(Check.of(v -> v.matches("[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
                    && !v.contains(".."), "a hub repository name org/name", "org/name/extra"))
            .flag(Flag.value("--hub-model-id", "ORG/NAME"))
            .help("The repository pushToHub uploads to (null: the output folder's name in the token's namespace).");
    // QLoRA: the frozen base in 4 bits (TRL's ModelConfig)
    public static final Setting<Boolean> LOAD_IN_4BIT = Setting.of("loadIn4bit", Kind.BOOLEAN, false)
            .snake("load_in_4bit").flag(Flag.setsTrue("--load-in-4bit"))
            .help("Quantize the base's decoder linear weights to 4 bits while loading (QLoRA; needs usePeft).");
    public static final Setting<QuantType> BNB_4BIT_QUANT_TYPE = Setting.of("bnb4bitQuantType", QUANT_TYPE,
            QuantType.NF4).snake("bnb_4bit_quant_type").flag(Flag.value("--bnb-4bit-quant-type", "TYPE"))
            .help("The 4-bit code book: nf4 or fp4.");
    public static final Setting<Boolean> USE_BNB_NESTED_QUANT = Setting.of("useBnbNestedQuant", Kind.BOOLEAN, false)
            .flag(Flag.setsTrue("--use-bnb-nested-quant"))
            .help("Quantize the 4-bit weights' absmax values again, 8-bit (double quantization).");

    /** The table, in the order of orpo_config.json and of the docs. */
    public static final List<Setting<?>> ALL = List.of(LEARNING_RATE, BETA, ALPHA, PROMPT_LOSS, MAX_LENGTH,
            MAX_PROMPT_LENGTH, MAX_COMPLETION_LENGTH, TRUNCATION_MODE, PER_DEVICE_TRAIN_BATCH_SIZE,
            PER_DEVICE_EVAL_BATCH_SIZE, GRADIENT_ACCUMULATION_STEPS, NUM_TRAIN_EPOCHS, MAX_STEPS, LR_SCHEDULER_TYPE,
            WARMUP_STEPS, WARMUP_RATIO, WEIGHT_DECAY, ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, MAX_GRAD_NORM, SEED,
            SHUFFLE, GROUP_BY_LENGTH, LOGGING_STEPS, LOGGING_FIRST_STEP, REPORT_TO, RUN_NAME, EVAL_STRATEGY, EVAL_STEPS,
            GENERATE_DURING_EVAL, GENERATE_SAMPLES, GENERATE_MAX_NEW_TOKENS, SAVE_STRATEGY,
            SAVE_STEPS, SAVE_TOTAL_LIMIT, OUTPUT_DIR, RESUME_FROM_CHECKPOINT, MAX_NON_FINITE_STEPS, CHUNKED_LOSS,
            LOSS_CHUNK_VALUES, BF16, FP16, OVERWRITE_OUTPUT_DIR, USE_PEFT, LORA_R, LORA_ALPHA, LORA_DROPOUT,
            LORA_TARGET_MODULES, USE_RSLORA, LOAD_IN_4BIT, BNB_4BIT_QUANT_TYPE, USE_BNB_NESTED_QUANT,
            GRADIENT_CHECKPOINTING, SHARED_PROMPT, ATTN_IMPLEMENTATION, PUSH_TO_HUB, HUB_MODEL_ID, DDP_BACKEND, DDP_TIMEOUT);

    private static final java.util.Map<String, Setting<?>> BY_NAME = new java.util.HashMap<>();

    static {
        for (Setting<?> s : ALL) {
            for (String name : s.names()) {
                if (BY_NAME.put(name, s) != null) {
                    throw new IllegalStateException("two settings answer to " + name);
                }
            }
        }
        for (Setting<?> s : ALL) {
            if (s.flag() != null) {
                for (Flag.Also also : s.flag().also()) {
                    if (!BY_NAME.containsKey(also.key())) {
                        throw new IllegalStateException(s.flag().name() + " also sets an unknown setting " + also.key());
                    }
                }
            }
        }
    }

    /** Names among {@link #TRACKERS}, each once, {@code none} only alone. */
    private static boolean knownTrackers(List<String> names) {
        return !names.isEmpty() && TRACKERS.containsAll(names) && names.stream().distinct().count() == names.size()
                && (!names.contains("none") || names.size() == 1);
    }

    /** The setting a config file names by {@code name} (camelCase, snake_case or an alias), if any. */
    public static java.util.Optional<Setting<?>> named(String name) {
        return java.util.Optional.ofNullable(BY_NAME.get(name));
    }

    /** The setting whose key is {@code key}; an unknown key is a programming error. */
    static Setting<?> byKey(String key) {
        Setting<?> s = BY_NAME.get(key);
        if (s == null) {
            throw new IllegalArgumentException("no setting " + key);
        }
        return s;
    }

    /** Up to two known names within two edits of {@code name}, closest first: "did you mean" for config keys. */
    public static List<String> similar(String name) {
        return BY_NAME.keySet().stream().map(k -> java.util.Map.entry(k, distance(name, k)))
                .filter(e -> e.getValue() <= Math.max(2, name.length() / 4))
                .sorted(java.util.Map.Entry.<String, Integer>comparingByValue().thenComparing(java.util.Map.Entry.comparingByKey()))
                .map(java.util.Map.Entry::getKey).limit(2).toList();
    }

    /** Levenshtein distance, case-insensitive. */
    private static int distance(String a, String b) {
        String x = a.toLowerCase(java.util.Locale.ROOT);
        String y = b.toLowerCase(java.util.Locale.ROOT);
        int[] prev = new int[y.length() + 1];
        int[] cur = new int[y.length() + 1];
        for (int j = 0; j <= y.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= x.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= y.length(); j++) {
                int cost = x.charAt(i - 1) == y.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[y.length()];
    }
}
