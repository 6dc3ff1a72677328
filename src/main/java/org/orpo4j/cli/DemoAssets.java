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

    /** The prompt messages of the first {@code n} rows of a conversational preference file. */
    static List<List<ChatMessage>> prompts(Path file, int n) throws IOException {
        List<List<ChatMessage>> prompts = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (prompts.size() == n) {
                break;
            }
            List<ChatMessage> messages = new ArrayList<>();
            for (JsonNode m : JSON.readTree(line).path("prompt")) {
                messages.add(new ChatMessage(m.path("role").asText(), m.path("content").asText()));
            }
            prompts.add(messages);
        }
        return prompts;
    }
}
