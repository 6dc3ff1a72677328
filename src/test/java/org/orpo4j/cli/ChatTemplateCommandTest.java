package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateCommandTest {

    @TempDir
    Path tmp;
    Path tok;

    @BeforeEach
    void tokenizer() throws Exception {
        tok = Cli.demoTokenizer(tmp.resolve("tok"));
    }

    @Test
    void printsExactlyTheChatMlRendering() throws Exception {
        Path messages = Files.writeString(tmp.resolve("m.json"), """
                [
                  {"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Hi there"}
                ]""");
        String expected = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n";
        assertEquals(expected, Cli.run("chat-template", "--model", tok.toString(), "--messages", messages.toString())
                .assertSuccess().out());
        assertEquals(expected + "<|im_start|>assistant\n", Cli.run("chat-template", "--model", tok.toString(),
                "--messages", messages.toString(), "--add-generation-prompt").assertSuccess().out());
    }

    @Test
    void acceptsAnObjectWithAMessagesArray() throws Exception {
        Path messages = Files.writeString(tmp.resolve("m.json"),
                "{\"model\": \"x\", \"options\": {\"a\": [1]}, \"messages\": [{\"role\": \"user\", \"content\": \"Q\"}]}");
        assertEquals("<|im_start|>user\nQ<|im_end|>\n", Cli.run("chat-template", "--model", tok.toString(),
                "--messages", messages.toString()).assertSuccess().out());
    }

    @Test
    void badFilesNameTheFileAndLine() throws Exception {
        Path broken = Files.writeString(tmp.resolve("broken.json"), "[\n  {\"role\": \"user\",\n   \"content\": }\n]");
        Cli.run("chat-template", "--model", tok.toString(), "--messages", broken.toString())
                .assertOneLineError(1, broken + ":3: not valid JSON");
        Path missing = Files.writeString(tmp.resolve("missing.json"),
                "[\n  {\"role\": \"user\", \"content\": \"a\"},\n  {\"role\": \"assistant\"}\n]");
        Cli.run("chat-template", "--model", tok.toString(), "--messages", missing.toString())
                .assertOneLineError(1, missing + ":3: messages[1]: 'content' must be a string (missing)");
        Path notAList = Files.writeString(tmp.resolve("n.json"), "\"hello\"");
        Cli.run("chat-template", "--model", tok.toString(), "--messages", notAList.toString())
                .assertOneLineError(1, notAList + ":1: expected a JSON array");
        Cli.run("chat-template", "--model", tok.toString(), "--messages", tmp.resolve("none.json").toString())
                .assertOneLineError(1, "no such file or folder: " + tmp.resolve("none.json"));
    }

    @Test
    void aTokenizerWithoutTemplateFails() throws Exception {
        Files.writeString(tok.resolve("tokenizer_config.json"), "{\"eos_token\": \"<|im_end|>\"}");
        Path messages = Files.writeString(tmp.resolve("m.json"), "[{\"role\": \"user\", \"content\": \"Q\"}]");
        Cli.run("chat-template", "--model", tok.toString(), "--messages", messages.toString())
                .assertOneLineError(1, "has no chat_template");
    }

    @Test
    void badUsage() {
        Cli.run("chat-template", "--model", tok.toString()).assertOneLineError(2, "--messages");
        Cli.run("chat-template", "--messages", "x.json", "--add-generation-prompt=maybe")
                .assertOneLineError(2, "maybe");
    }
}
