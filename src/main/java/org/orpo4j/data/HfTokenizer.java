package org.orpo4j.data;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.zip.GZIPInputStream;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.Json;

/**
 * A model folder's HuggingFace tokenizer (DJL's binding of the Rust library) that never truncates, pads or adds
 * special tokens on its own (DJL would truncate at 512 and pad by default), with the special tokens and chat
 * template of {@code tokenizer_config.json}. Thread-safe: encode may be called from several threads.
 */
public final class HfTokenizer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final Path directory;
    private final Map<String, String> specialTokens; // bos_token -> "<s>", ... (only those set)
    private final OptionalLong bosId;
    private final OptionalLong eosId;
    private final OptionalLong padId;
    private final ChatTemplate chatTemplate; // nullable
    private int vocabSize; // 0 until asked

    private HfTokenizer(HuggingFaceTokenizer tokenizer, Path directory, Map<String, String> specialTokens,
            String chatTemplate, Path templateFile) {
        this.tokenizer = tokenizer;
        this.directory = directory;
        this.specialTokens = specialTokens;
        this.bosId = idOf("bos_token");
        this.eosId = idOf("eos_token");
        OptionalLong pad = idOf("pad_token");
        this.padId = pad.isPresent() ? pad : eosId;
        this.chatTemplate = chatTemplate == null ? null : new ChatTemplate(chatTemplate, specialTokens, templateFile);
    }

    /**
     * Loads {@code tokenizer.json} (or {@code tokenizer.json.gz}) and {@code tokenizer_config.json} from a model
     * folder; the chat template comes from {@code chat_template.jinja} when present, else the config.
     */
    public static HfTokenizer load(Path modelDir) throws IOException {
        Path json = modelDir.resolve("tokenizer.json");
        Path gz = modelDir.resolve("tokenizer.json.gz");
        if (!Files.exists(json) && !Files.exists(gz)) {
            throw new IOException(modelDir + ": no tokenizer.json (or tokenizer.json.gz)");
        }
        DjlRuntime.quiet();
        Map<String, String> options = Map.of(
                "addSpecialTokens", "false",
                "truncation", "false",
                "padding", "false",
                "withOverflowingTokens", "false");
        HuggingFaceTokenizer tokenizer;
        try (InputStream in = Files.exists(json) ? Files.newInputStream(json)
                : new GZIPInputStream(Files.newInputStream(gz), 1 << 16)) {
            tokenizer = HuggingFaceTokenizer.newInstance(in, options);
        }
        JsonNode config = readConfig(modelDir.resolve("tokenizer_config.json"));
        Map<String, String> special = new LinkedHashMap<>();
        for (String key : new String[] {"bos_token", "eos_token", "unk_token", "pad_token"}) {
            String token = tokenString(config.get(key), modelDir.resolve("tokenizer_config.json"), key);
            if (token != null) {
                special.put(key, token);
            }
        }
        String template = chatTemplate(modelDir, config);
        try {
            Path templateFile = Files.exists(modelDir.resolve("chat_template.jinja"))
                    ? modelDir.resolve("chat_template.jinja") : modelDir.resolve("tokenizer_config.json");
            return new HfTokenizer(tokenizer, modelDir, Map.copyOf(special), template, templateFile);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    private static JsonNode readConfig(Path file) throws IOException {
        if (!Files.exists(file)) {
            return JSON.createObjectNode();
        }
        try {
            return Json.untrusted().readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** A special token given as a string, null, or an AddedToken object {@code {"content": ...}}. */
    private static String tokenString(JsonNode node, Path file, String key) throws IOException {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isObject() && node.path("content").isTextual()) {
            return node.get("content").asText();
        }
        throw new IOException(file + ": " + key + ": expected a string or {\"content\": ...}, got " + node);
    }

    private static String chatTemplate(Path modelDir, JsonNode config) throws IOException {
        Path jinja = modelDir.resolve("chat_template.jinja");
        if (Files.exists(jinja)) {
            return Files.readString(jinja, StandardCharsets.UTF_8);
        }
        JsonNode t = config.get("chat_template");
        if (t == null || t.isNull()) {
            return null;
        }
        if (t.isTextual()) {
            return t.asText();
        }
        if (t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    return named.path("template").asText();
                }
            }
            throw new IOException(modelDir.resolve("tokenizer_config.json")
                    + ": chat_template: a list of named templates without one named \"default\"");
        }
        throw new IOException(modelDir.resolve("tokenizer_config.json")
                + ": chat_template: expected a string or a list of {name, template}");
    }

    private OptionalLong idOf(String key) {
        String token = specialTokens.get(key);
        if (token == null) {
            return OptionalLong.empty();
        }
        long[] ids = encode(token);
        if (ids.length != 1) {
            throw new IllegalArgumentException(directory.resolve("tokenizer_config.json") + ": " + key + " '"
                    + token + "' is not one token of tokenizer.json (encodes to " + ids.length + " tokens)");
        }
        return OptionalLong.of(ids[0]);
    }

    /** The ids of {@code text}: no special tokens added, no truncation, no padding. */
    public long[] encode(String text) {
        // ids only: DJL's encode() also fetches tokens, spans and masks through JNI, ~3x slower
        long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, false);
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    /** The token strings of {@code text} (same segmentation as {@link #encode}). */
    public String[] tokens(String text) {
        return tokenizer.encode(text, false, false).getTokens();
    }

    /** The text of {@code ids}, special tokens included. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    public OptionalLong bosId() {
        return bosId;
    }

    public OptionalLong eosId() {
        return eosId;
    }

    /** The pad token's id, else the EOS id (HF's usual fallback). */
    public OptionalLong padId() {
        return padId;
    }

    /** The pad token's id when tokenizer_config.json declares one (what a model's config.json records). */
    public OptionalLong declaredPadId() {
        return specialTokens.containsKey("pad_token") ? padId : OptionalLong.empty();
    }

    /** The special tokens set in tokenizer_config.json, as the chat template sees them (bos_token, ...). */
    public Map<String, String> specialTokens() {
        return specialTokens;
    }

    public Optional<ChatTemplate> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    /** The model folder this tokenizer was loaded from. */
    /**
     * The vocabulary size a model needs for this tokenizer: one past the largest id of its vocabulary and added
     * tokens (HF sizes embeddings the same way; a checkpoint's {@code vocab_size} may be padded beyond it).
     */
    public int vocabSize() throws IOException {
        if (vocabSize == 0) {
            vocabSize = TokenizerVocab.size(directory);
        }
        return vocabSize;
    }

    public Path directory() {
        return directory;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
