package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.quantization.QuantConfig;
import org.orpo4j.quantization.QuantType;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.DType;
import org.orpo4j.safetensors.SaveOptions;

/**
 * QLoRA from the command line: train an adapter over a base quantized while it loads, evaluate, generate and merge
 * with the same 4-bit base (the merged folder written as float16), and the one-line refusals of acceptance 4 (a
 * 4-bit full fine-tune, an unknown quant type, a broken quant_state).
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
        Cli.run("train", "--model", quantized("fp4").toString(), "--data", train.toString(), "--output",
                tmp.resolve("ft").toString(), "--max-steps", "1")
                .assertOneLineError(1, "the model's weights are 4-bit (QLoRA): it trains through a LoRA adapter only");
    }

    /** A pre-quantized checkpoint whose quant_state is not JSON: eval stops with one line naming file and tensor. */
    @Test
    void aBrokenQuantStateIsOneLineFromTheCommandLine() throws Exception {
        Path broken = quantized("broken");
        String state = "model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__fp4";
        try (NDManager m = DjlRuntime.newManager(Device.cpu());
                CheckpointReader reader = CheckpointReader.open(broken)) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String name : reader.names()) {
                tensors.put(name, reader.load(name, m));
            }
            byte[] json = "{\"quant_type\": ".getBytes(StandardCharsets.UTF_8);
            tensors.put(state, m.create(ByteBuffer.wrap(json), new Shape(json.length), DataType.UINT8));
            CheckpointWriter.write(broken, tensors, SaveOptions.defaults());
        }
        Cli.run("eval", "--model", broken.toString(), "--data", heldout.toString())
                .assertOneLineError(1, broken.resolve("model.safetensors") + ": tensor '" + state
                        + "': quant_state is not valid JSON");
    }

    /** The tiny model with its decoder linear weights in fp4, saved as transformers saves a 4-bit model. */
    private static Path quantized(String name) {
        Path dir = tmp.resolve("quantized-" + name);
        try (NDManager m = DjlRuntime.newManager(Device.cpu()); CausalLm lm = CausalLm.load(model, m)) {
            lm.quantize(QuantConfig.of(QuantType.FP4, false));
            lm.save(dir, SaveOptions.defaults(), model);
        }
        return dir;
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
