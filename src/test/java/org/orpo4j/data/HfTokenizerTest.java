package org.orpo4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {

    @Test
    void specialTokensOfTheRealTokenizers() {
        HfTokenizer llama = TestTokenizers.llama3();
        assertEquals(OptionalLong.of(128000), llama.bosId());
        assertEquals(OptionalLong.of(128001), llama.eosId());
        assertEquals(OptionalLong.of(128001), llama.padId(), "no pad_token: pad falls back to eos");
        HfTokenizer qwen = TestTokenizers.qwen3();
        assertTrue(qwen.bosId().isEmpty(), "qwen3 bos_token is null");
        assertEquals(OptionalLong.of(151645), qwen.eosId());
        assertEquals(OptionalLong.of(151643), qwen.padId());
    }

    @Test
    void neverTruncatesPadsOrAddsSpecialTokens() {
        HfTokenizer llama = TestTokenizers.llama3();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 1500; i++) {
            text.append("word").append(i).append(' ');
        }
        long[] ids = llama.encode(text.toString());
        assertTrue(ids.length > 1024, "DJL's default would truncate at 512: " + ids.length);
        assertEquals(text.toString(), llama.decode(ids));
        assertArrayEquals(new long[] {9906}, llama.encode("Hello"), "no BOS added, no padding");
        assertEquals(128000, llama.encode("<|begin_of_text|>Hello")[0], "special tokens in text are still special");
    }

    @Test
    void addedTokenObjectsListTemplatesAndTemplateFile(@TempDir Path dir) throws IOException {
        Files.copy(TestTokenizers.dir("/org/orpo4j/demo").resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": null,
                 "eos_token": {"content": "<|im_end|>", "lstrip": false, "special": true},
                 "chat_template": [{"name": "tool_use", "template": "TOOLS"},
                                   {"name": "default", "template": "{{ eos_token }}{{ messages[0].content }}"}]}
                """);
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            assertEquals(OptionalLong.of(2), t.eosId());
            assertEquals(OptionalLong.of(2), t.padId());
            assertEquals("<|im_end|>Hi", t.chatTemplate().orElseThrow()
                    .render(List.of(new ChatMessage("user", "Hi")), false));
        }
        Files.writeString(dir.resolve("chat_template.jinja"), "FILE {{ messages | length }}\n");
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            assertEquals("FILE 1", t.chatTemplate().orElseThrow().render(List.of(new ChatMessage("user", "x")), true),
                    "chat_template.jinja wins over tokenizer_config.json");
        }
        Files.delete(dir.resolve("chat_template.jinja"));
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"eos_token\": \"<|im_end|>\", \"chat_template\": [{\"name\": \"rag\", \"template\": \"x\"}]}");
        IOException e = assertThrows(IOException.class, () -> HfTokenizer.load(dir));
        assertTrue(e.getMessage().contains("tokenizer_config.json: chat_template"), e.getMessage());
    }

    @Test
    void gzippedTokenizerLoadsLikeThePlainOne() {
        // the committed real tokenizers are tokenizer.json.gz only
        assertTrue(Files.exists(TestTokenizers.dir("/tokenizers/qwen3").resolve("tokenizer.json.gz")));
        assertArrayEquals(new long[] {151644, 77091, 198}, TestTokenizers.qwen3().encode("<|im_start|>assistant\n"));
        assertNotEquals(TestTokenizers.qwen3().encode("x").length, 0);
    }
}
