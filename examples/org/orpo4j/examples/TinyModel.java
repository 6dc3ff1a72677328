package org.orpo4j.examples;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SaveOptions;

/**
 * A tiny random llama for a tokenizer, saved as a HF folder (config.json, model.safetensors, the tokenizer
 * files): something to train on in seconds before reaching for a real checkpoint.
 * <pre>TinyModel TOKENIZER_DIR OUTPUT_DIR</pre>
 */
public final class TinyModel {

    public static void main(String[] args) throws Exception {
        Path tokenizerDir = Path.of(args[0]);
        Path output = Path.of(args[1]);
        try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir);
                NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice())) {
            ModelConfig config = ModelConfig.builder("llama")
                    .vocabSize(tokenizer.vocabSize())     // one embedding row per token id
                    .hiddenSize(64).intermediateSize(128).numHiddenLayers(2)
                    .numAttentionHeads(4).numKeyValueHeads(2)
                    .specialTokens(tokenizer.bosId(), tokenizer.eosId(), tokenizer.declaredPadId()) // generation stops at its EOS
                    .build();
            try (CausalLm model = CausalLm.random(config, manager, 42)) {
                model.save(output, SaveOptions.defaults(), tokenizerDir);
            }
        }
        System.out.println("saved a tiny llama to " + output);
    }
}
