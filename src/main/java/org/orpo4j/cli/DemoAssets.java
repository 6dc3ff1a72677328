package org.orpo4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.orpo4j.data.ChatMessage;

/**
 * The demo's bundled files (src/main/resources/org/orpo4j/demo, made by src/test/python/make_demo_assets.py):
 * a word-level tokenizer with a ChatML template, 260 training pairs and 60 held-out pairs on unseen topics, where
 * the chosen answer is polite and helpful and the rejected one curt.
 */
public final class DemoAssets {

    /** The tokenizer files, copied into every demo model folder. */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json");
    public static final String TRAIN = "train.jsonl";
    public static final String HELDOUT = "heldout.jsonl";

    private static final String ROOT = "/org/orpo4j/demo/";
    private static final ObjectMapper JSON = new ObjectMapper();

    private DemoAssets() {}

    /** Copies the tokenizer files into {@code dir} (created if needed) and returns it. */
    public static Path writeTokenizer(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (String name : TOKENIZER_FILES) {
            copy(name, dir.resolve(name));
        }
        return dir;
    }

    /** Copies one bundled file ({@link #TRAIN}, {@link #HELDOUT}, ...) to {@code target}. */
    public static Path copy(String name, Path target) throws IOException {
        try (InputStream in = DemoAssets.class.getResourceAsStream(ROOT + name)) {
            if (in == null) {
                throw new IOException("bundled demo file " + ROOT + name + " is missing from the classpath");
            }
            Path parent = target.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }

    /** One conversational preference row: its prompt messages and the chosen and rejected answer texts. */
    record Row(List<ChatMessage> prompt, String chosen, String rejected) {}

    /** The rows of a bundled-style conversational preference file (prompt list, one-message chosen/rejected). */
    static List<Row> rows(Path file) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            JsonNode row = JSON.readTree(line);
            List<ChatMessage> prompt = new ArrayList<>();
            for (JsonNode m : row.path("prompt")) {
                prompt.add(new ChatMessage(m.path("role").asText(), m.path("content").asText()));
            }
            rows.add(new Row(prompt, row.path("chosen").path(0).path("content").asText(),
                    row.path("rejected").path(0).path("content").asText()));
        }
        return rows;
    }
}
