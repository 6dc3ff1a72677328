package org.orpo4j.examples;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.TrainResult;

/**
 * ORPO from Java: a HF model folder and a preference file in, a trained HF model folder out.
 * <pre>QuickStart MODEL_DIR PAIRS.jsonl OUTPUT_DIR [MAX_STEPS]</pre>
 */
public final class QuickStart {

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        Path pairs = Path.of(args[1]);
        Path output = Path.of(args[2]);
        OrpoConfig config = OrpoConfig.builder()
                .learningRate(8e-6)           // a common ORPO fine-tuning rate (TRL defaults to 1e-6)
                .beta(0.1)                    // TRL's beta = the paper's lambda = the guide's orpo_beta
                .perDeviceTrainBatchSize(2).gradientAccumulationSteps(4)
                .numTrainEpochs(1).maxSteps(args.length > 3 ? Integer.parseInt(args[3]) : -1)
                .outputDir(output)
                .build();
        try (NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm model = CausalLm.load(modelDir, manager);
                HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
            PreferenceDataset data = PreferenceDataset.load(pairs, tokenizer, config.dataOptions());
            TrainResult result = new OrpoTrainer(model, config)
                    .tokenizerDir(modelDir)       // copy the tokenizer files next to the trained weights
                    .train(PairSource.of(data), null);
            System.out.println("trained " + result.globalStep() + " steps into " + result.modelDir()
                    + "; last log " + result.lastLog());
        }
    }
}
