package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.DType;

/**
 * QLoRA from the command line: train an adapter over a base quantized while it loads, evaluate, generate and merge
 * with the same 4-bit base (the merged folder written as float16), and the one-line refusals of acceptance 4.
 */
class QloraCommandTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;
    static Path heldout;
    static Path adapter;

    @BeforeAll
    static void trainOverAFourBitBase() throws Exception {
        model = Cli.tinyModel(tmp);
        train = Cli.demoData(tmp, DemoAssets.TRAIN, 16);
        heldout = Cli.demoData(tmp, DemoAssets.HELDOUT, 6);
        adapter = tmp.resolve("adapter");
        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--output", adapter.toString(),
                "--load-in-4bit", "--use-bnb-nested-quant", "--use-peft", "--lora-r", "4",
                "--lora-target-modules", "all-linear", "--lr", "5e-2", "--max-steps", "3", "--batch-size", "4")
                .assertSuccess();
    }

    @Test
    void trainingOverFourBitsWritesAnAdapterAndRecordsTheQuantization() throws Exception {
        assertTrue(Files.exists(adapter.resolve(LoraModel.WEIGHTS_FILE)));
        assertFalse(Files.exists(adapter.resolve("model.safetensors")));
        JsonNode config = new ObjectMapper().readTree(adapter.resolve("orpo_config.json").toFile());
        assertTrue(config.get("loadIn4bit").asBoolean());
        assertEquals("nf4", config.get("bnb4bitQuantType").asText());
        assertTrue(config.get("useBnbNestedQuant").asBoolean());
    }

    /**
     * eval over the same 4-bit base as training, and eval of the merged float16 folder, agree to float16's rounding;
     * the float base without quantization evaluates differently; generate runs over 4 bits.
     */
    @Test
    void evalGenerateAndMergeOverTheFourBitBase() throws Exception {
        JsonNode fourBit = eval("--model", model.toString(), "--adapter", adapter.toString(), "--load-in-4bit",
                "--use-bnb-nested-quant");
        JsonNode floatBase = eval("--model", model.toString(), "--adapter", adapter.toString());
        double loss = fourBit.get("eval_loss").asDouble();
        assertTrue(Math.abs(loss - floatBase.get("eval_loss").asDouble()) > 1e-6, "4-bit rounding shows");
        Path merged = tmp.resolve("merged");
        Cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--load-in-4bit",
                "--use-bnb-nested-quant", "--dtype", "float16", "--output", merged.toString()).assertSuccess();
        JsonNode config = new ObjectMapper().readTree(merged.resolve("config.json").toFile());
        assertEquals("float16", config.get("torch_dtype").asText());
        assertFalse(config.has("quantization_config"));
        try (CheckpointReader r = CheckpointReader.open(merged)) {
            assertEquals(DType.F16, r.info("model.layers.0.mlp.down_proj.weight").dtype());
        }
        assertEquals(loss, eval("--model", merged.toString()).get("eval_loss").asDouble(), 2e-3 * loss,
                "the merged float16 model evaluates as the adapter over the 4-bit base");
        String text = Cli.run("generate", "--model", model.toString(), "--adapter", adapter.toString(),
                "--load-in-4bit", "--prompt", "Tell me about dogs.", "--max-new-tokens", "4").assertSuccess().out();
        assertFalse(text.isBlank());
    }

    @Test
    void badFourBitRequestsAreOneLineErrors() throws Exception {
        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--output",
                tmp.resolve("full").toString(), "--load-in-4bit")
                .assertOneLineError(2, "--load-in-4bit needs --use-peft (or --adapter): a 4-bit base trains a LoRA"
                        + " adapter only, as PEFT");
        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--output",
                tmp.resolve("int4").toString(), "--load-in-4bit", "--use-peft", "--bnb-4bit-quant-type", "int4")
                .assertOneLineError(2, "--bnb-4bit-quant-type int4 must be nf4 or fp4");
        Cli.run("eval", "--model", model.toString(), "--data", heldout.toString(), "--load-in-4bit",
                "--bnb-4bit-quant-type", "int4").assertOneLineError(2, "--bnb-4bit-quant-type int4 must be nf4 or fp4");
        Cli.run("eval", "--model", model.toString(), "--data", heldout.toString(), "--use-bnb-nested-quant")
                .assertOneLineError(2, "--use-bnb-nested-quant only applies to a 4-bit load: add --load-in-4bit");
        Cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--dtype", "float8",
                "--output", tmp.resolve("f8").toString())
                .assertOneLineError(2, "--dtype float8 must be float32, bfloat16 or float16");
        Path config = Files.writeString(tmp.resolve("4bit.json"), "{\"load_in_4bit\": true}");
        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--output",
                tmp.resolve("cfg").toString(), "--config", config.toString())
                .assertOneLineError(1, "config " + config + ": loadIn4bit = true must be false unless usePeft is true"
                        + " (a 4-bit base trains a LoRA adapter only, as PEFT)");
    }

    /** A pre-quantized checkpoint (saved by orpo4j in transformers' layout) refuses a full fine-tune in one line. */
    @Test
    void aFourBitCheckpointRefusesFullFineTuning() throws Exception {
        Path quantized = tmp.resolve("quantized");
        Cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--output",
                tmp.resolve("plain").toString()).assertSuccess();
        try (var m = org.orpo4j.runtime.DjlRuntime.newManager(ai.djl.Device.cpu());
                var lm = org.orpo4j.model.CausalLm.load(model, m)) {
            lm.quantize(org.orpo4j.quantization.QuantConfig.of(org.orpo4j.quantization.QuantType.FP4, false));
            lm.save(quantized, org.orpo4j.safetensors.SaveOptions.defaults(), model);
        }
        Cli.run("train", "--model", quantized.toString(), "--data", train.toString(), "--output",
                tmp.resolve("ft").toString(), "--max-steps", "1")
                .assertOneLineError(1, "the model's weights are 4-bit (QLoRA): it trains through a LoRA adapter only");
    }

    private static JsonNode eval(String... modelArgs) throws Exception {
        String[] args = new String[modelArgs.length + 5];
        args[0] = "eval";
        System.arraycopy(modelArgs, 0, args, 1, modelArgs.length);
        System.arraycopy(new String[] {"--data", heldout.toString(), "--batch-size", "3"}, 0, args,
                modelArgs.length + 1, 4);
        return new ObjectMapper().readTree(Cli.run(args).assertSuccess().out());
    }
}
