package org.orpo4j.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.orpo4j.runtime.Json;

/**
 * The tokenizer files of a model folder as the GGUF vocabulary reads them: {@code tokenizer.json} (or its gzip),
 * {@code tokenizer_config.json}, {@code chat_template.jinja} and the model's {@code config.json}; absent files are
 * missing nodes.
 */
record TokenizerFiles(Path folder, JsonNode tokenizer, JsonNode tokenizerConfig, String chatTemplateFile,
        JsonNode modelConfig) {

    static TokenizerFiles read(Path tokenizerDir, JsonNode modelConfig) throws IOException {
        Path json = tokenizerDir.resolve("tokenizer.json");
        Path gz = tokenizerDir.resolve("tokenizer.json.gz");
        JsonNode tokenizer;
        if (Files.isRegularFile(json) || Files.isRegularFile(gz)) {
            boolean plain = Files.isRegularFile(json);
            try (InputStream in = plain ? Files.newInputStream(json)
                    : new GZIPInputStream(Files.newInputStream(gz), 1 << 16)) {
                tokenizer = Json.untrusted().readTree(in);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IOException((plain ? json : gz) + ": not valid JSON: " + e.getOriginalMessage(), e);
            }
        } else {
            throw new IOException(tokenizerDir + ": no tokenizer.json: a GGUF file carries its tokenizer");
        }
        Path configFile = tokenizerDir.resolve("tokenizer_config.json");
        JsonNode config = MissingNode.getInstance();
        if (Files.isRegularFile(configFile)) {
            try {
                config = Json.untrusted().readTree(configFile.toFile());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IOException(configFile + ": not valid JSON: " + e.getOriginalMessage(), e);
            }
        }
        Path jinja = tokenizerDir.resolve("chat_template.jinja");
        String template = Files.isRegularFile(jinja) ? Files.readString(jinja, StandardCharsets.UTF_8) : null;
        return new TokenizerFiles(tokenizerDir, tokenizer, config, template, modelConfig);
    }

    JsonNode model() {
        return tokenizer.path("model");
    }

    JsonNode addedTokens() {
        return tokenizer.path("added_tokens");
    }

    /** A special token of tokenizer_config.json ({@code bos_token}, ...): a string, {@code {"content"}} or null. */
    String configToken(String key) {
        JsonNode entry = tokenizerConfig.path(key);
        if (entry.isTextual()) {
            return entry.asText();
        }
        JsonNode content = entry.path("content");
        return content.isTextual() ? content.asText() : null;
    }
}
