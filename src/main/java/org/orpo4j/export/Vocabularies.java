package org.orpo4j.export;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.orpo4j.model.ModelConfig;

/** Which tokenizer path each family's converter takes, and the per-family additions to it. */
final class Vocabularies {

    private Vocabularies() {}

    static void add(GgufMetadata m, GgufArch arch, ModelConfig config, TokenizerFiles files) throws IOException {
        boolean spm = GgufVocab.isSentencePieceBpe(files);
        boolean gpt2Class = "GPT2Tokenizer".equals(files.tokenizerConfig().path("tokenizer_class").asText());
        if ((arch == GgufArch.LLAMA || arch == GgufArch.SMOLLM3)
                && files.tokenizerConfig().path("add_prefix_space").isBoolean()) {
            m.putBool("tokenizer.ggml.add_space_prefix", files.tokenizerConfig().get("add_prefix_space").asBoolean());
        }
        SpecialTokens special;
        Path spModel = files.folder().resolve("tokenizer.model");
        if (Files.isRegularFile(spModel) && !(arch == GgufArch.PHI3 && gpt2Class)) {
            special = GgufVocab.addSentencePieceModel(m, files, spModel, config.vocabSize(), arch == GgufArch.PHI3);
        } else if (spm && !(arch == GgufArch.PHI3 && gpt2Class)) {
            special = GgufVocab.addSentencePiece(m, files);
            if (arch != GgufArch.GEMMA3) {
                padTo(m, config.vocabSize());
            }
        } else if (arch.gemma() && arch != GgufArch.GEMMA3 || arch == GgufArch.PHI3 && !gpt2Class) {
            throw new IllegalArgumentException(files.folder().resolve("tokenizer.json") + ": " + arch.name
                    + " needs a SentencePiece-style tokenizer (BPE with byte fallback)");
        } else {
            special = GgufVocab.addBpe(m, files, config.vocabSize());
        }
        special.addTo(m, true);
        if (arch == GgufArch.GEMMA) {
            // the converter adds CodeGemma's fill-in-the-middle ids to every gemma
            SpecialTokens fim = new SpecialTokens(files, false,
                    List.of("prefix", "suffix", "middle", "fsep", "eot"), null);
            fim.set("prefix", 67); // the gguf package has no key for prefix, middle and fsep: only eot is written
            fim.set("suffix", 69);
            fim.set("middle", 68);
            fim.set("fsep", 70);
            fim.set("eot", 107);
            fim.addTo(m, false);
        }
        if (arch.gemma()) {
            m.putBool("tokenizer.ggml.add_space_prefix", false);
        }
    }

    /** Pads a SentencePiece vocabulary to the model's rows with unused {@code [PADn]} tokens, as the converter. */
    @SuppressWarnings("unchecked")
    private static void padTo(GgufMetadata m, int vocabSize) {
        List<String> tokens = (List<String>) m.get("tokenizer.ggml.tokens").value();
        int n = tokens.size();
        if (n >= vocabSize) {
            return;
        }
        List<String> padded = new java.util.ArrayList<>(tokens);
        float[] scores = java.util.Arrays.copyOf((float[]) m.get("tokenizer.ggml.scores").value(), vocabSize);
        int[] types = java.util.Arrays.copyOf((int[]) m.get("tokenizer.ggml.token_type").value(), vocabSize);
        for (int i = n; i < vocabSize; i++) {
            padded.add("[PAD" + i + "]");
            scores[i] = -1000f;
            types[i] = GgufVocab.UNUSED;
        }
        m.putStrings("tokenizer.ggml.tokens", padded);
        m.putFloat32s("tokenizer.ggml.scores", scores);
        m.putInt32s("tokenizer.ggml.token_type", types);
    }
}
