package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.SaveOptions;
import org.orpo4j.safetensors.TensorInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads and writes HF model folders for {@link CausalLm}: config.json, safetensors weights, tokenizer files. */
final class CheckpointIo {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointIo.class);

    /**
     * The files transformers' tokenizer and generation loaders read, copied verbatim when saving (tokenizer.model
     * and added_tokens.json too: llama.cpp's converter reads a SentencePiece vocabulary from them).
     */
    static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "chat_template.jinja", "generation_config.json", "tokenizer.model",
            "added_tokens.json");

    private CheckpointIo() {}

    static CausalLm load(Path modelDir, NDManager manager) {
        ModelConfig config = ModelConfig.load(modelDir.resolve("config.json"));
        CausalLm lm = new CausalLm(config, manager);
        try (CheckpointReader reader = CheckpointReader.open(modelDir)) {
            checkNames(modelDir, reader, lm);
            for (Map.Entry<String, Weight> e : lm.slots().entrySet()) {
                String name = e.getKey();
                TensorInfo info = reader.info(name);
                Shape expected = e.getValue().shape();
                if (!Arrays.equals(info.shape(), expected.getShape())) {
                    throw new IllegalArgumentException(reader.fileOf(name) + ": tensor '" + name + "' has shape "
                            + Arrays.toString(info.shape()) + " but config.json implies "
                            + Arrays.toString(expected.getShape()));
                }
                RandomInit.set(e.getValue(), reader.load(name, lm.manager()));
            }
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
        lm.source(modelDir);
        LOG.info("loaded {} from {}", config, modelDir);
        return lm;
    }

    /** Every parameter present, nothing unexpected (rotary inv_freq buffers and a tied lm_head copy aside). */
    private static void checkNames(Path modelDir, CheckpointReader reader, CausalLm lm) {
        String source = weightsFile(modelDir).toString();
        for (String name : lm.slots().keySet()) {
            if (!reader.contains(name)) {
                throw new IllegalArgumentException(source + ": missing tensor '" + name + "' needed by "
                        + lm.config());
            }
        }
        Set<String> unexpected = new TreeSet<>(reader.names());
        unexpected.removeAll(lm.slots().keySet());
        unexpected.removeIf(name -> name.endsWith(".rotary_emb.inv_freq"));
        if (lm.config().tieWordEmbeddings() && unexpected.remove("lm_head.weight")) {
            LOG.warn("{}: ignoring lm_head.weight, tie_word_embeddings uses the embedding matrix", source);
        }
        if (!unexpected.isEmpty()) {
            throw new IllegalArgumentException(source + ": unexpected tensor '" + unexpected.iterator().next()
                    + "'" + (unexpected.size() > 1 ? " (and " + (unexpected.size() - 1) + " more)" : "")
                    + " not used by " + lm.config());
        }
    }

    private static Path weightsFile(Path modelDir) {
        Path single = modelDir.resolve(CheckpointReader.SINGLE_FILE);
        return Files.exists(single) ? single : modelDir.resolve(CheckpointReader.INDEX_FILE);
    }

    static void save(CausalLm lm, Path outDir, SaveOptions options, Path tokenizerSourceDir) {
        try {
            Files.createDirectories(outDir);
            lm.config().save(outDir.resolve("config.json"), options.torchDtype());
            Map<String, NDArray> tensors = lm.parameters();
            CheckpointWriter.write(outDir, tensors, options);
            if (tokenizerSourceDir != null) {
                copyTokenizerFiles(tokenizerSourceDir, outDir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(outDir + ": cannot save model: " + e.getMessage(), e);
        }
        LOG.info("saved {} to {} as {}", lm.config(), outDir, options.dtype());
    }

    static void copyTokenizerFiles(Path from, Path to) throws IOException {
        if (from.toAbsolutePath().normalize().equals(to.toAbsolutePath().normalize())) {
            return;
        }
        for (String file : TOKENIZER_FILES) {
            Path source = from.resolve(file);
            if (Files.isRegularFile(source)) {
                Files.copy(source, to.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
