package org.orpo4j.data;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The committed real tokenizers (and the demo word-level one), loaded once per test JVM. */
final class TestTokenizers {

    private static final Map<String, HfTokenizer> LOADED = new HashMap<>();

    private TestTokenizers() {}

    static synchronized HfTokenizer llama3() {
        return load("/tokenizers/llama3");
    }

    static synchronized HfTokenizer qwen3() {
        return load("/tokenizers/qwen3");
    }

    /** The demo's word-level tokenizer with a ChatML template, no BOS, eos <|im_end|> = 2, pad <|endoftext|> = 0. */
    static synchronized HfTokenizer demo() {
        return load("/org/orpo4j/demo");
    }

    static Path dir(String resource) {
        try {
            return Path.of(TestTokenizers.class.getResource(resource).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static HfTokenizer load(String resource) {
        return LOADED.computeIfAbsent(resource, r -> {
            try {
                return HfTokenizer.load(dir(r));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
