package org.orpo4j.examples;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.List;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SaveOptions;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.TrainResult;

/**
 * ORPO with LoRA: the base model stays frozen and only rank-r adapters on every linear layer train, so a model whose
 * full fine-tuning would not fit in memory does. Writes PEFT's adapter folder (what {@code PeftModel.from_pretrained}
 * and vLLM's {@code --lora-modules} load) and, next to it, the adapter merged into a full HF folder.
 * <pre>FineTuneWithLora MODEL_DIR TRAIN.jsonl OUTPUT_DIR [MAX_STEPS]</pre>
 */
public final class FineTuneWithLora {

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        Path trainFile = Path.of(args[1]);
        Path output = Path.of(args[2]);
        OrpoConfig config = OrpoConfig.builder()
                .usePeft(true)                              // TRL: use_peft
                .loraR(16).loraAlpha(32).loraDropout(0.05)  // TRL's CLI defaults
                .loraTargetModules(List.of("all-linear"))   // every linear layer of the decoder, not the LM head
                .learningRate(2e-4)                         // adapters take rates ~10x a full fine-tune's
                .perDeviceTrainBatchSize(2).gradientAccumulationSteps(4)
                .numTrainEpochs(1).maxSteps(args.length > 3 ? Integer.parseInt(args[3]) : -1)
                .outputDir(output)
                .build();
        try (NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm model = CausalLm.load(modelDir, manager);
                HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
            PreferenceDataset data = PreferenceDataset.load(trainFile, tokenizer, config.dataOptions());
            TrainResult result = new OrpoTrainer(model, config).tokenizerDir(modelDir)
                    .train(PairSource.of(data), null);
            System.out.println("adapter (PEFT format) in " + result.modelDir());
            LoraModel.of(model).orElseThrow().merge();                  // W += (alpha / r) · B · A
            model.save(output.resolve("merged"), SaveOptions.defaults(), modelDir);
            System.out.println("merged model in " + output.resolve("merged"));
        }
    }
}
