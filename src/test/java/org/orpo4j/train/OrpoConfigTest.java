package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.orpo4j.model.AttnImplementation;
import org.orpo4j.quantization.QuantType;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.TruncationMode;
import org.junit.jupiter.api.io.TempDir;

class OrpoConfigTest {

    @TempDir
    Path dir;

    @Test
    void defaultsAreTrlAndHf() {
        OrpoConfig c = OrpoConfig.builder().build();
        assertEquals(1e-6, c.learningRate());
        assertEquals(0.1, c.beta());
        assertEquals(1.0, c.alpha());
        assertTrue(c.promptLoss());
        assertEquals(1024, c.maxLength());
        assertEquals(512, c.maxPromptLength());
        assertNull(c.maxCompletionLength());
        assertEquals("keep_end", c.truncationMode());
        assertEquals(8, c.perDeviceTrainBatchSize());
        assertEquals(8, c.perDeviceEvalBatchSize());
        assertEquals(1, c.gradientAccumulationSteps());
        assertEquals(3.0, c.numTrainEpochs());
        assertEquals(-1, c.maxSteps());
        assertEquals(LrSchedulerType.LINEAR, c.lrSchedulerType());
        assertEquals(0, c.warmupSteps());
        assertEquals(0.0, c.warmupRatio());
        assertEquals(0.0, c.weightDecay());
        assertEquals(0.9, c.adamBeta1());
        assertEquals(0.999, c.adamBeta2());
        assertEquals(1e-8, c.adamEpsilon());
        assertEquals(1.0, c.maxGradNorm());
        assertEquals(42, c.seed());
        assertTrue(c.shuffle());
        assertEquals(10, c.loggingSteps());
        assertEquals("no", c.evalStrategy());
        assertEquals(10, c.effectiveEvalSteps());
        assertEquals("steps", c.saveStrategy());
        assertEquals(500, c.saveSteps());
        assertNull(c.saveTotalLimit());
        assertNull(c.resumeFromCheckpoint());
    }

    @Test
    void jsonRoundTripKeepsEveryKnob() throws IOException {
        OrpoConfig c = OrpoConfig.builder().learningRate(5e-5).beta(0.25).alpha(0.5).promptLoss(false)
                .maxLength(256).maxPromptLength(128).maxCompletionLength(64).truncationMode("keep_start")
                .perDeviceTrainBatchSize(2).perDeviceEvalBatchSize(3).gradientAccumulationSteps(4)
                .numTrainEpochs(1.5).maxSteps(77).lrSchedulerType(LrSchedulerType.COSINE).warmupSteps(3)
                .warmupRatio(0.1).weightDecay(0.01).adamBeta1(0.8).adamBeta2(0.99).adamEpsilon(1e-6)
                .maxGradNorm(0.5).seed(7).shuffle(false).groupByLength(false).loggingSteps(2).loggingFirstStep(true)
                .set(Settings.REPORT_TO, List.of("tensorboard", "mlflow")).set(Settings.RUN_NAME, "r")
                .set(Settings.GENERATE_DURING_EVAL, true).set(Settings.GENERATE_SAMPLES, 3)
                .set(Settings.GENERATE_MAX_NEW_TOKENS, 20).evalStrategy("steps").evalSteps(5).saveStrategy("epoch").saveSteps(9).saveTotalLimit(2)
                .outputDir("runs/x").resumeFromCheckpoint("latest").maxNonFiniteSteps(3)
                .chunkedLoss(ChunkedLoss.ON).lossChunkValues(4096).fp16(true).overwriteOutputDir(true).usePeft(true).loraR(8).loraAlpha(16)
                .loraDropout(0.1).loraTargetModules(List.of("q_proj", "k_proj")).useRslora(true).gradientCheckpointing(false).sharedPrompt(false)
                .set(Settings.PUSH_TO_HUB, true).set(Settings.HUB_MODEL_ID, "org/tuned")
                .set(Settings.DDP_BACKEND, "gloo").set(Settings.DDP_TIMEOUT, 60)
                .set(Settings.LOAD_IN_4BIT, true).set(Settings.BNB_4BIT_QUANT_TYPE, QuantType.FP4)
                .set(Settings.USE_BNB_NESTED_QUANT, true)
                .set(Settings.ATTN_IMPLEMENTATION, AttnImplementation.SDPA).build();
        Path file = dir.resolve("orpo.json");
        c.write(file);
        OrpoConfig back = OrpoConfig.read(file);
        assertEquals(c, back);
        assertEquals(c.toJson(), back.toJson());
        assertEquals("cosine", back.toJson().get("lrSchedulerType").asText());
        assertEquals(c, c.toBuilder().build());
        assertEquals(60, c.toJson().size());
        assertEquals("sdpa", back.toJson().get("attnImplementation").asText());
        assertEquals("fp4", back.toJson().get("bnb4bitQuantType").asText());
        assertEquals(List.of("tensorboard", "mlflow"), back.get(Settings.REPORT_TO));
        assertEquals("org/tuned", back.get(Settings.HUB_MODEL_ID));
        assertEquals(List.of("q_proj", "k_proj"), back.loraTargetModules());
        assertEquals(16 / Math.sqrt(8), back.loraConfig().scaling(), 1e-12);
    }

    /**
     * TRL's ModelConfig names for QLoRA read as given (load_in_4bit, bnb_4bit_quant_type, use_bnb_nested_quant);
     * 4-bit without usePeft and an unknown quant type are refused naming the setting.
     */
    @Test
    void trlQuantizationNamesAndRules() throws IOException {
        OrpoConfig c = OrpoConfig.fromJson("{\"load_in_4bit\": true, \"bnb_4bit_quant_type\": \"fp4\","
                + " \"use_bnb_nested_quant\": true, \"use_peft\": true}", "qlora.json");
        assertTrue(c.get(Settings.LOAD_IN_4BIT));
        assertEquals(QuantType.FP4, c.get(Settings.BNB_4BIT_QUANT_TYPE));
        assertTrue(c.get(Settings.USE_BNB_NESTED_QUANT));
        assertEquals(QuantType.NF4, OrpoConfig.builder().build().get(Settings.BNB_4BIT_QUANT_TYPE), "TRL's default");
        assertEquals("config full.json: loadIn4bit = true must be false unless usePeft is true (a 4-bit base trains a"
                + " LoRA adapter only, as PEFT)", assertThrows(IllegalArgumentException.class,
                        () -> OrpoConfig.fromJson("{\"load_in_4bit\": true}", "full.json")).getMessage());
        assertEquals("config key 'bnb_4bit_quant_type' in q.json: bnb4bitQuantType = \"int4\" must be nf4 or fp4",
                assertThrows(IllegalArgumentException.class,
                        () -> OrpoConfig.fromJson("{\"bnb_4bit_quant_type\": \"int4\"}", "q.json")).getMessage());
    }

    /** TRL's CLI names for LoRA read as given, a comma-separated target list included; defaults are TRL's CLI's. */
    @Test
    void trlPeftNamesAndDefaults() throws IOException {
        Path file = dir.resolve("peft.json");
        Files.writeString(file, "{\"use_peft\": true, \"lora_r\": 4, \"lora_alpha\": 8, \"lora_dropout\": 0.0,"
                + " \"lora_target_modules\": \"q_proj, v_proj,o_proj\", \"use_rslora\": false}");
        OrpoConfig c = OrpoConfig.read(file);
        assertTrue(c.usePeft());
        assertEquals(List.of("q_proj", "v_proj", "o_proj"), c.loraTargetModules());
        assertEquals(2.0, c.loraConfig().scaling());
        OrpoConfig defaults = OrpoConfig.builder().build();
        assertEquals(16, defaults.loraR());
        assertEquals(32, defaults.loraAlpha());
        assertEquals(0.05, defaults.loraDropout());
        assertEquals(List.of("q_proj", "v_proj"), defaults.loraConfig().targetModules());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OrpoConfig.builder().loraTargetModules(List.of("qproj")).build());
        assertTrue(e.getMessage().startsWith("loraTargetModules = qproj must be module names among q_proj,"),
                e.getMessage());
    }

    @Test
    void tokenizationKnobsBecomeDataOptions() {
        DataOptions d = OrpoConfig.builder().maxLength(300).maxPromptLength(100).maxCompletionLength(50)
                .truncationMode("keep_start").build().dataOptions();
        assertEquals(300, d.maxLength());
        assertEquals(100, d.maxPromptLength());
        assertEquals(50, d.maxCompletionLength());
        assertEquals(TruncationMode.KEEP_START, d.truncationMode());
        assertEquals(DataOptions.defaults(), OrpoConfig.builder().build().dataOptions());
    }

    @Test
    void snakeCaseKeysAndGuideAliases() {
        OrpoConfig c = OrpoConfig.fromJson("{\"learning_rate\": 1e-5, \"orpo_alpha\": 1.0, \"orpo_beta\": 0.2,"
                + " \"per_device_train_batch_size\": 2, \"lr_scheduler_type\": \"constant_with_warmup\","
                + " \"max_completion_length\": null}",
                "inline");
        assertEquals(1e-5, c.learningRate());
        assertEquals(0.2, c.beta());
        assertEquals(1.0, c.alpha());
        assertEquals(2, c.perDeviceTrainBatchSize());
        assertEquals(LrSchedulerType.CONSTANT_WITH_WARMUP, c.lrSchedulerType());
        assertEquals(0.3, OrpoConfig.builder().orpoBeta(0.3).orpoAlpha(2).build().beta());
        assertEquals(2.0, OrpoConfig.builder().orpoBeta(0.3).orpoAlpha(2).build().alpha());
    }

    @Test
    void errorsNameTheKeyAndTheFile() throws IOException {
        Path file = dir.resolve("bad.json");
        Files.writeString(file, "{\"learningRate\": 1e-5, \"learning_rat\": 2}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OrpoConfig.read(file));
        assertTrue(e.getMessage().contains("'learning_rat'") && e.getMessage().contains(file.toString()),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OrpoConfig.fromJson("{\"beta\": 0.1, \"orpo_beta\": 0.2}", "dup.json"));
        assertTrue(e.getMessage().contains("orpo_beta") && e.getMessage().contains("dup.json"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OrpoConfig.fromJson("{\"seed\": \"x\"}", "types.json"));
        assertTrue(e.getMessage().contains("'seed'") && e.getMessage().contains("integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OrpoConfig.fromJson("{\"truncation_mode\": \"middle\"}", "t.json"));
        assertTrue(e.getMessage().contains("truncationMode") && e.getMessage().contains("t.json"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OrpoConfig.fromJson("{\"lr_scheduler_type\": \"polynomial\"}", "s.json"));
        assertTrue(e.getMessage().contains("polynomial"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OrpoConfig.builder().perDeviceTrainBatchSize(0).build());
        assertThrows(IllegalArgumentException.class, () -> OrpoConfig.builder().maxPromptLength(2048).build());
    }
}
