package org.orpo4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SaveOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code init}: a randomly initialised model of a supported family, sized by flags, saved as a HF folder. */
@Command(name = "init", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Create a randomly initialised model (HF folder) for a tokenizer: for experiments and tests.")
final class InitCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--family", required = true, paramLabel = "FAMILY",
            description = "Architecture: llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, phi3 or smollm3.")
    String family;

    @Option(names = "--tokenizer", required = true, paramLabel = "DIR",
            description = "Folder with tokenizer.json (and tokenizer_config.json), or a hub name; copied into the output.")
    Path tokenizer;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where to write the model.")
    Path output;

    @Option(names = "--vocab-size", paramLabel = "V",
            description = "Embedding rows, at least the tokenizer's (HF models often round it up). Default: the tokenizer's.")
    Integer vocabSize;

    @Option(names = "--hidden-size", paramLabel = "H", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int hiddenSize;

    @Option(names = "--intermediate-size", paramLabel = "I", description = "MLP width. Default: 4 x hidden size.")
    Integer intermediateSize;

    @Option(names = "--layers", paramLabel = "N", defaultValue = "2", description = "Decoder layers. Default: ${DEFAULT-VALUE}.")
    int layers;

    @Option(names = "--heads", paramLabel = "N", defaultValue = "4", description = "Attention heads. Default: ${DEFAULT-VALUE}.")
    int heads;

    @Option(names = "--kv-heads", paramLabel = "N", description = "Key/value heads (grouped-query attention). Default: --heads.")
    Integer kvHeads;

    @Option(names = "--head-dim", paramLabel = "D", description = "Head size. Default: hidden size / heads.")
    Integer headDim;

    @Option(names = "--max-position-embeddings", paramLabel = "P", defaultValue = "2048",
            description = "Longest sequence. Default: ${DEFAULT-VALUE}.")
    int maxPositions;

    @Option(names = "--tie-word-embeddings", negatable = true,
            description = "Share the embedding matrix with the LM head. Default: the family's (tied: gemma, gemma2,"
                    + " gemma3_text, smollm3).")
    Boolean tieWordEmbeddings;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Initialisation seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (!ModelConfig.SUPPORTED_MODEL_TYPES.contains(family)) {
            throw new ParameterException(spec.commandLine(), "--family " + family + ": expected one of "
                    + String.join(", ", ModelConfig.SUPPORTED_MODEL_TYPES));
        }
        if (hiddenSize <= 0 || layers <= 0 || heads <= 0) {
            throw new ParameterException(spec.commandLine(), "--hidden-size, --layers and --heads must be positive");
        }
        tokenizer = Inputs.tokenizer(tokenizer);
        int needed;
        try (HfTokenizer t = HfTokenizer.load(tokenizer)) {
            needed = t.vocabSize();
        }
        if (vocabSize != null && vocabSize < needed) {
            throw new ParameterException(spec.commandLine(), "--vocab-size " + vocabSize + " is smaller than the "
                    + needed + " ids of " + tokenizer.resolve("tokenizer.json"));
        }
        ModelConfig config;
        try (HfTokenizer tok = HfTokenizer.load(tokenizer)) {
            config = config(family, vocabSize != null ? vocabSize : needed, tok);
        }
        long count;
        try (NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm model = CausalLm.random(config, manager, seed)) {
            count = model.parameters().values().stream().mapToLong(NDArray::size).sum();
            model.save(output, SaveOptions.defaults(), tokenizer);
        }
        spec.commandLine().getOut().printf("wrote a random %s model (%,d parameters, vocabulary %d) to %s%n",
                family, count, config.vocabSize(), output);
        return 0;
    }

    /** The HF config for these flags, with the tokenizer's special-token ids; sizes that do not fit are bad usage. */
    private ModelConfig config(String modelType, int vocabSize, HfTokenizer tok) {
        ModelConfig.Builder b = ModelConfig.builder(modelType)
                .vocabSize(vocabSize)
                .hiddenSize(hiddenSize)
                .intermediateSize(intermediateSize != null ? intermediateSize : 4 * hiddenSize)
                .numHiddenLayers(layers)
                .numAttentionHeads(heads)
                .numKeyValueHeads(kvHeads != null ? kvHeads : heads)
                .maxPositionEmbeddings(maxPositions)
                .specialTokens(tok.bosId(), tok.eosId(), tok.declaredPadId());
        if (tieWordEmbeddings != null) {
            b.tieWordEmbeddings(tieWordEmbeddings);
        }
        if (headDim != null) {
            b.headDim(headDim);
        } else if (hiddenSize % heads == 0) {
            b.headDimFromHeads(); // the config class's own default (128, 256) would not fit a small model
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
