package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.data.ChatMessage;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.GenerationConfig;
import org.orpo4j.model.Generator;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.NativeTests;

class GenerateCommandTest {

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void model() throws Exception {
        model = Cli.tinyModel(tmp);
    }

    /** The greedy continuation through the library, tokenized by hand: what the command must print. */
    private static String expected(long[] promptIds, int maxNewTokens) throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(model); NDManager m = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.load(model, m)) {
            long[] ids = new Generator(lm).generate(promptIds, GenerationConfig.greedy(maxNewTokens, Set.of(2L)));
            if (ids.length > 0 && ids[ids.length - 1] == 2L) {
                ids = Arrays.copyOf(ids, ids.length - 1); // EOS is not printed
            }
            return tok.decode(ids);
        }
    }

    @Test
    void greedyPlainPromptMatchesTheLibrary() throws Exception {
        Cli.Result r = Cli.run("generate", "--model", model.toString(), "--prompt", "Tell me about cats .",
                "--max-new-tokens", "6").assertSuccess();
        long[] ids;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            ids = tok.encode("Tell me about cats ."); // no BOS: the demo tokenizer has none
        }
        assertEquals(expected(ids, 6) + "\n", r.out());
        assertEquals(6, r.out().strip().split(" ").length); // word-level: one word per token, no EOS in 6 steps
    }

    /** Through torch's fused attention: the library's greedy tokens (a random tiny model's, from eager attention). */
    @Test
    void sdpaGivesTheSameGreedyTokens() throws Exception {
        NativeTests.assumeFusedAttention();
        Cli.Result r = Cli.run("generate", "--model", model.toString(), "--prompt", "Tell me about cats .",
                "--max-new-tokens", "6", "--attn-implementation", "sdpa").assertSuccess();
        long[] ids;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            ids = tok.encode("Tell me about cats .");
        }
        assertEquals(expected(ids, 6) + "\n", r.out());
    }

    @Test
    void chatPromptGoesThroughTheTemplate() throws Exception {
        Cli.Result r = Cli.run("generate", "--model", model.toString(), "--prompt", "Hi", "--chat",
                "--max-new-tokens", "4").assertSuccess();
        long[] ids;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            ids = tok.encode(tok.chatTemplate().orElseThrow().render(List.of(new ChatMessage("user", "Hi")), true));
        }
        assertEquals(expected(ids, 4) + "\n", r.out());
    }

    @Test
    void systemMessageGoesBeforeThePrompt() throws Exception {
        Cli.Result r = Cli.run("generate", "--model", model.toString(), "--prompt", "Hi", "--chat", "--system",
                "You are a helpful assistant.", "--max-new-tokens", "4").assertSuccess();
        long[] ids;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            ids = tok.encode(tok.chatTemplate().orElseThrow().render(List.of(
                    new ChatMessage("system", "You are a helpful assistant."), new ChatMessage("user", "Hi")), true));
        }
        assertEquals(expected(ids, 4) + "\n", r.out());
    }

    @Test
    void samplingIsSeededAndDiffersFromGreedy() {
        String[] args = {"generate", "--model", model.toString(), "--prompt", "Tell me about", "--max-new-tokens",
            "12", "--temperature", "5", "--top-p", "0.99", "--seed", "3"};
        String first = Cli.run(args).assertSuccess().out();
        assertEquals(first, Cli.run(args).assertSuccess().out());
        assertNotEquals(Cli.run("generate", "--model", model.toString(), "--prompt", "Tell me about",
                "--max-new-tokens", "12").assertSuccess().out(), first);
    }

    @Test
    void badUsage() {
        String m = model.toString();
        Cli.run("generate", "--model", m).assertOneLineError(2, "--prompt");
        Cli.run("generate", "--model", m, "--prompt", "x", "--system", "s").assertOneLineError(2, "--system needs --chat");
        Cli.run("generate", "--model", m, "--prompt", "x", "--top-p", "0").assertOneLineError(2, "topP");
        Cli.run("generate", "--model", m, "--prompt", "x", "--temperature", "-1").assertOneLineError(2, "temperature");
        Cli.run("generate", "--model", m, "--prompt", "x", "--max-new-tokens", "lots")
                .assertOneLineError(2, "--max-new-tokens", "lots");
        Cli.run("generate", "--model", m, "--prompt", "x", "--attn-implementation", "flash")
                .assertOneLineError(2, "--attn-implementation", "expected eager or sdpa");
    }

    @Test
    void notAModelFolderFails() {
        Cli.run("generate", "--model", tmp.resolve("tokenizer").toString(), "--prompt", "x")
                .assertOneLineError(1, tmp.resolve("tokenizer") + ": no config.json");
    }
}
