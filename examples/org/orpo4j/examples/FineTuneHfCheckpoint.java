package org.orpo4j.examples;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.Map;
import org.orpo4j.data.BadDataPolicy;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SaveOptions;
import org.orpo4j.train.LrSchedulerType;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.TrainResult;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;

/**
 * A real fine-tune: a downloaded HF checkpoint (e.g. SmolLM2-135M-Instruct) and a preference JSONL in, a trained
 * HF folder out, with held-out evaluation, checkpoints every 200 steps that a re-run resumes from, rows the
 * tokenizer cannot take skipped instead of fatal, an early stop, and a BF16 copy of the result for serving.
 * <pre>FineTuneHfCheckpoint MODEL_DIR TRAIN.jsonl OUTPUT_DIR [EVAL.jsonl] [MAX_STEPS]</pre>
 */
public final class FineTuneHfCheckpoint {

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: FineTuneHfCheckpoint MODEL_DIR TRAIN.jsonl OUTPUT_DIR [EVAL.jsonl] [MAX_STEPS]");
            System.exit(2);
        }
        Path modelDir = Path.of(args[0]);
        Path trainFile = Path.of(args[1]);
        Path output = Path.of(args[2]);
        Path evalFile = args.length > 3 ? Path.of(args[3]) : null;

        OrpoConfig config = OrpoConfig.builder()
                .learningRate(8e-6).lrSchedulerType(LrSchedulerType.COSINE).warmupRatio(0.1)
                .beta(0.1)                                        // guide: orpo_beta
                .maxLength(1024).maxPromptLength(512)
                .perDeviceTrainBatchSize(2).gradientAccumulationSteps(4)   // 8 pairs per optimizer step
                .numTrainEpochs(1).maxSteps(args.length > 4 ? Integer.parseInt(args[4]) : -1)
                .loggingSteps(10)
                .evalStrategy(evalFile == null ? "no" : "steps").evalSteps(100)
                .saveStrategy("steps").saveSteps(200).saveTotalLimit(2)
                .resumeFromCheckpoint("latest")                   // a re-run continues where a killed run stopped
                .outputDir(output)
                .build();
        DataOptions data = config.dataOptions().toBuilder().badData(BadDataPolicy.SKIP).build();

        try (NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm model = CausalLm.load(modelDir, manager);
                HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
            PreferenceDataset train = PreferenceDataset.load(trainFile, tokenizer, data);
            System.out.println(trainFile + ": " + train.report());
            PairSource eval = evalFile == null ? null
                    : PairSource.of(PreferenceDataset.load(evalFile, tokenizer, data));

            TrainResult result = new OrpoTrainer(model, config)
                    .tokenizerDir(modelDir)
                    .addListener(new StopWhenSeparated(0.95))
                    .train(PairSource.of(train), eval);
            System.out.println("trained " + result.globalStep() + " steps"
                    + (result.stopReason() == null ? "" : " (" + result.stopReason() + ")")
                    + "; eval " + result.evalMetrics());

            // the trainer saved float32 weights into OUTPUT; a BF16 copy halves the size for serving
            model.save(output.resolve("bf16"), SaveOptions.bf16(), modelDir);
        }
    }

    /** Stops the run once held-out reward accuracy reaches a target (the trainer then saves and returns). */
    private static final class StopWhenSeparated implements TrainerListener {
        private final double target;

        StopWhenSeparated(double target) {
            this.target = target;
        }

        @Override
        public void onEvaluate(TrainerState state, Map<String, Double> metrics, TrainerControl control) {
            double accuracy = metrics.getOrDefault("eval_rewards/accuracies", 0.0);
            if (accuracy >= target) {
                control.requestStop("eval_rewards/accuracies " + accuracy + " >= " + target + " at step "
                        + state.globalStep());
            }
        }
    }
}
