package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.orpo4j.quantization.BnbTensors;
import org.orpo4j.quantization.QuantConfig;
import org.orpo4j.quantization.QuantState;
import org.orpo4j.quantization.QuantizedWeight;
import org.orpo4j.quantization.Quantizer;
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

    static CausalLm load(Path modelDir, NDManager manager, LoadOptions options) {
        ModelConfig config = ModelConfig.load(modelDir.resolve("config.json"));
        CausalLm lm = new CausalLm(config, manager);
        QuantConfig loadIn4bit = options.loadIn4bit();
        try (CheckpointReader reader = CheckpointReader.open(modelDir)) {
            Set<String> quantizable = quantizable(lm);
            Set<String> prequantized = new TreeSet<>();
            lm.slots().keySet().stream().filter(n -> BnbTensors.stateKey(reader, n).isPresent())
                    .forEach(prequantized::add);
            checkNames(modelDir, reader, lm, prequantized, quantizable);
            if (!prequantized.isEmpty() && loadIn4bit != null) {
                LOG.warn("{} is already quantized by bitsandbytes: loading its 4 bits as stored, not as {}",
                        modelDir, loadIn4bit);
            }
            DataType compute = loadIn4bit == null ? DataType.FLOAT32 : loadIn4bit.computeDtype();
            for (Map.Entry<String, Weight> e : lm.slots().entrySet()) {
                String name = e.getKey();
                long[] shape = e.getValue().shape().getShape();
                if (prequantized.contains(name)) {
                    e.getValue().quantize(BnbTensors.read(reader, name, shape, compute, lm.manager()));
                    continue;
                }
                TensorInfo info = reader.info(name);
                if (!Arrays.equals(info.shape(), shape)) {
                    throw new IllegalArgumentException(reader.fileOf(name) + ": tensor '" + name + "' has shape "
                            + Arrays.toString(info.shape()) + " but config.json implies " + Arrays.toString(shape));
                }
                if (loadIn4bit != null && prequantized.isEmpty() && quantizable.contains(name)) {
                    e.getValue().quantize(Quantizer.quantize(reader, name, shape, loadIn4bit, lm.manager()));
                } else {
                    RandomInit.set(e.getValue(), reader.load(name, lm.manager()));
                }
            }
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
        lm.source(modelDir);
        LOG.info("loaded {} from {}{}", config, modelDir, lm.isQuantized() ? " with its decoder linear weights in "
                + lm.quantizedWeights().values().iterator().next().state().type() + " 4-bit" : "");
        return lm;
    }

    /**
     * The weights 4-bit loading quantizes: every linear layer's of the decoder layers (transformers keeps the output
     * layer, and everything that is not a linear layer, in full precision).
     */
    static Set<String> quantizable(CausalLm lm) {
        Set<String> names = new LinkedHashSet<>();
        lm.linearLayers().keySet().stream().filter(n -> !n.equals("lm_head")).forEach(n -> names.add(n + ".weight"));
        return names;
    }

    /**
     * Every parameter present, nothing unexpected (rotary inv_freq buffers, a tied lm_head copy and the tensors
     * bitsandbytes keeps beside a 4-bit weight aside); only decoder linear weights may be 4-bit.
     */
    private static void checkNames(Path modelDir, CheckpointReader reader, CausalLm lm, Set<String> prequantized,
            Set<String> quantizable) {
        String source = weightsFile(modelDir).toString();
        for (String name : lm.slots().keySet()) {
            if (!reader.contains(name)) {
                throw new IllegalArgumentException(source + ": missing tensor '" + name + "' needed by "
                        + lm.config());
            }
        }
        for (String name : prequantized) {
            if (!quantizable.contains(name)) {
                throw new IllegalArgumentException(reader.fileOf(name) + ": tensor '" + name + "' is 4-bit; orpo4j"
                        + " reads 4-bit weights of the decoder layers' linear layers only");
            }
        }
        Set<String> unexpected = new TreeSet<>(reader.names());
        unexpected.removeAll(lm.slots().keySet());
        prequantized.forEach(n -> BnbTensors.names(reader, n).forEach(unexpected::remove));
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
        try (NDManager scratch = lm.manager().newSubManager()) {
            Files.createDirectories(outDir);
            ObjectNode config = lm.config().raw();
            config.remove("quantization_config");
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            lm.slots().forEach((name, slot) -> {
                if (slot.quantized() == null) {
                    tensors.put(name, slot.array());
                } else {
                    tensors.putAll(slot.quantized().tensors(name, scratch));
                    config.set("quantization_config", quantizationConfig(slot.quantized()));
                }
            });
            ModelConfig.fromJson(config, outDir.toString()).save(outDir.resolve("config.json"), options.torchDtype());
            CheckpointWriter.write(outDir, tensors, options);
            if (tokenizerSourceDir != null) {
                copyTokenizerFiles(tokenizerSourceDir, outDir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(outDir + ": cannot save model: " + e.getMessage(), e);
        }
        LOG.info("saved {} to {} as {}{}", lm.config(), outDir, options.dtype(), lm.isQuantized()
                ? " with its 4-bit weights as bitsandbytes stores them" : "");
    }

    /** transformers' {@code quantization_config} of a model whose weights are quantized as {@code q} is. */
    private static ObjectNode quantizationConfig(QuantizedWeight q) {
        QuantState state = q.state();
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("quant_method", "bitsandbytes");
        c.put("load_in_4bit", true);
        c.put("load_in_8bit", false);
        c.put("bnb_4bit_quant_type", state.type().bnbName());
        c.put("bnb_4bit_use_double_quant", state.nested() != null);
        c.put("bnb_4bit_compute_dtype", q.computeDtype() == DataType.BFLOAT16 ? "bfloat16"
                : q.computeDtype() == DataType.FLOAT16 ? "float16" : "float32");
        c.put("bnb_4bit_quant_storage", "uint8");
        c.put("llm_int8_skip_modules", (String) null);
        return c;
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
