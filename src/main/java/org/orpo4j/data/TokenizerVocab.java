package org.orpo4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.zip.GZIPInputStream;

/**
 * The vocabulary size a new model needs for a tokenizer: one past the largest id of {@code tokenizer.json}'s
 * model vocabulary and its added tokens (HF models size their embedding the same way).
 */
final class TokenizerVocab {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerVocab() {}

    static int size(Path tokenizerDir) throws IOException {
        Path json = tokenizerDir.resolve("tokenizer.json");
        boolean plain = Files.exists(json);
        Path file = plain ? json : tokenizerDir.resolve("tokenizer.json.gz");
        JsonNode root;
        try (InputStream in = plain ? Files.newInputStream(file) : new GZIPInputStream(Files.newInputStream(file))) {
            root = JSON.readTree(in);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        long max = -1;
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) { // BPE, WordPiece, WordLevel: {"token": id}
            for (Iterator<JsonNode> it = vocab.elements(); it.hasNext(); ) {
                max = Math.max(max, it.next().asLong());
            }
        } else if (vocab.isArray()) { // Unigram: [[token, score], ...], ids are positions
            max = vocab.size() - 1L;
        }
        for (JsonNode added : root.path("added_tokens")) {
            max = Math.max(max, added.path("id").asLong(-1));
        }
        if (max < 0) {
            throw new IOException(file + ": no vocabulary found (model.vocab and added_tokens are empty)");
        }
        return Math.toIntExact(max + 1);
    }
}
