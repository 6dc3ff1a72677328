package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.lora.LoraModel;

/** LoRA from the command line: train an adapter, evaluate and generate with it, merge it, and the one-line refusals. */
class LoraCommandTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;
    static Path heldout;
    static Path adapter;

    @BeforeAll
    static void trainAnAdapter() throws Exception {
        model = Cli.tinyModel(tmp);
        train = Cli.demoData(tmp, DemoAssets.TRAIN, 16);
        heldout = Cli.demoData(tmp, DemoAssets.HELDOUT, 6);
        adapter = tmp.resolve("adapter");
        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--output", adapter.toString(),
                "--use-peft", "--lora-r", "4", "--lora-alpha", "16", "--lora-dropout", "0.1",
                "--lora-target-modules", "q_proj,v_proj,down_proj", "--lr", "5e-2", "--max-steps", "4",
                "--batch-size", "4", "--save-every", "2").assertSuccess();
    }

    @Test
    void trainingWritesThePeftAdapterAndCheckpointsOfIt() throws Exception {
        assertTrue(Files.exists(adapter.resolve(LoraModel.WEIGHTS_FILE)));
        assertTrue(Files.exists(adapter.resolve("adapter_config.json")));
        assertTrue(Files.exists(adapter.resolve("tokenizer.json")));
        assertFalse(Files.exists(adapter.resolve("model.safetensors")), "no base weights in a LoRA output");
        Path checkpoint = adapter.resolve("checkpoint-2");
        assertTrue(Files.exists(checkpoint.resolve(LoraModel.WEIGHTS_FILE)));
        assertFalse(Files.exists(checkpoint.resolve("model.safetensors")));
        JsonNode config = new ObjectMapper().readTree(adapter.resolve("adapter_config.json").toFile());
        assertEquals(4, config.get("r").asInt());
        assertEquals(16, config.get("lora_alpha").asInt());
        assertEquals(model.toString(), config.get("base_model_name_or_path").asText());
    }

    /** eval through the adapter and eval of the merged folder agree within 1e-5; generate runs on both. */
    @Test
    void mergedEvaluatesAsTheAdapter() throws Exception {
        Path merged = tmp.resolve("merged");
        Cli.Result m = Cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--output",
                merged.toString()).assertSuccess();
        assertTrue(m.out().startsWith("merged " + adapter + " into " + model), m.out());
        JsonNode withAdapter = evalJson("--model", model.toString(), "--adapter", adapter.toString());
        JsonNode ofMerged = evalJson("--model", merged.toString());
        JsonNode ofBase = evalJson("--model", model.toString());
        for (Iterator<Map.Entry<String, JsonNode>> it = withAdapter.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            double w = e.getValue().asDouble();
            assertEquals(w, ofMerged.get(e.getKey()).asDouble(), 1e-5 * Math.max(1, Math.abs(w)), e.getKey());
        }
        assertTrue(Math.abs(withAdapter.get("eval_loss").asDouble() - ofBase.get("eval_loss").asDouble()) > 1e-3,
                "the adapter was trained");
        String a = Cli.run("generate", "--model", model.toString(), "--adapter", adapter.toString(), "--chat",
                "--prompt", "Tell me about dogs.", "--max-new-tokens", "8").assertSuccess().out();
        String b = Cli.run("generate", "--model", merged.toString(), "--chat", "--prompt", "Tell me about dogs.",
                "--max-new-tokens", "8").assertSuccess().out();
        assertEquals(b, a);
    }

    @Test
    void trainingCanStartFromAnAdapter() throws Exception {
        Path more = tmp.resolve("more");
        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--output", more.toString(),
                "--adapter", adapter.toString(), "--max-steps", "1", "--batch-size", "4").assertSuccess();
        JsonNode config = new ObjectMapper().readTree(more.resolve("adapter_config.json").toFile());
        assertEquals(4, config.get("r").asInt(), "the adapter's own r wins over the defaults");
    }

    @Test
    void badAdaptersAreOneLineErrors() throws Exception {
        Cli.run("eval", "--model", model.toString(), "--data", heldout.toString(), "--adapter", model.toString())
                .assertOneLineError(1, model + ": no adapter_config.json (is this a PEFT adapter folder?)");
        Path wider = tmp.resolve("wider");
        Cli.run("init", "--family", "llama", "--tokenizer", tmp.resolve("tokenizer").toString(), "--output",
                wider.toString(), "--hidden-size", "64", "--layers", "1", "--heads", "2").assertSuccess();
        Cli.run("eval", "--model", wider.toString(), "--data", heldout.toString(), "--adapter", adapter.toString())
                .assertOneLineError(1, adapter.resolve(LoraModel.WEIGHTS_FILE) + ": tensor 'base_model.model.model"
                        + ".layers.0.self_attn.q_proj.lora_A.weight' has shape [4, 32] but the base model");
        Path noConfig = tmp.resolve("no-config");
        Files.createDirectories(noConfig);
        Files.copy(adapter.resolve(LoraModel.WEIGHTS_FILE), noConfig.resolve(LoraModel.WEIGHTS_FILE));
        Cli.run("merge", "--model", model.toString(), "--adapter", noConfig.toString(), "--output",
                tmp.resolve("x").toString()).assertOneLineError(1, noConfig + ": no adapter_config.json");
        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--output",
                tmp.resolve("y").toString(), "--use-peft", "--lora-target-modules", "q_proj,qkv")
                .assertOneLineError(2, "--lora-target-modules q_proj,qkv must be module names among q_proj,");
    }

    private static JsonNode evalJson(String... modelArgs) throws Exception {
        String[] args = new String[modelArgs.length + 5];
        args[0] = "eval";
        System.arraycopy(modelArgs, 0, args, 1, modelArgs.length);
        System.arraycopy(new String[] {"--data", heldout.toString(), "--batch-size", "3"}, 0, args,
                modelArgs.length + 1, 4);
        return new ObjectMapper().readTree(Cli.run(args).assertSuccess().out());
    }
}
