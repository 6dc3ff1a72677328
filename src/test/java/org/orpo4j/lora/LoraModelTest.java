package org.orpo4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.safetensors.SafetensorsFile;

/** PEFT's files and semantics: what loads, what is written, what merging gives, and what is refused. */
class LoraModelTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static Path golden(String name) throws URISyntaxException {
        return Path.of(LoraModelTest.class.getResource("/golden/lora/" + name).toURI());
    }

    private static float[] logits(CausalLm model, long[][] ids, long[][] mask) {
        try (NDManager m = DjlRuntime.newManager(Device.cpu()); GradMode off = GradMode.enabled(false)) {
            int n = ids.length;
            int t = ids[0].length;
            long[] flatIds = new long[n * t];
            long[] flatMask = new long[n * t];
            for (int i = 0; i < n; i++) {
                System.arraycopy(ids[i], 0, flatIds, i * t, t);
                System.arraycopy(mask[i], 0, flatMask, i * t, t);
            }
            return model.forward(m.create(flatIds, new Shape(n, t)), m.create(flatMask, new Shape(n, t)))
                    .toFloatArray();
        }
    }

    /**
     * An adapter laid out as PEFT writes it from a bf16 run (BF16 tensors, PEFT's keys and config) loads, gives
     * the logits the PyTorch reference computes with it, and gives them again once merged into the weights, which
     * then hold W + s·B·A (checked element by element in double).
     */
    @Test
    void aPeftBf16AdapterLoadsEvaluatesAndMergesToTheSameLogits() throws Exception {
        JsonNode want = JSON.readTree(golden("qwen2_qv/peft_bf16_logits.json").toFile());
        long[][] ids = JSON.convertValue(want.get("input_ids"), long[][].class);
        long[][] mask = JSON.convertValue(want.get("attention_mask"), long[][].class);
        float[] reference = JSON.convertValue(want.get("logits"), float[].class);
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(golden("qwen2_qv/base"), manager)) {
            float[] base = logits(model, ids, mask);
            LoraModel lora = LoraModel.load(model, golden("qwen2_qv/peft_bf16"));
            assertFalse(lora.training(), "loaded for use: no dropout");
            assertEquals(2.0, lora.config().scaling());
            float[] adapted = logits(model, ids, mask);
            assertArrayEquals(reference, adapted, 1e-5f);
            assertTrue(maxDiff(base, adapted) > 1e-3, "the adapter changes the logits");
            NDArray q = model.parameters().get("model.layers.0.self_attn.q_proj.weight");
            float[] qBefore = q.toFloatArray();
            float[] a = lora.parameters().get(LoraModel.key("model.layers.0.self_attn.q_proj", "lora_A.weight"))
                    .toFloatArray();
            float[] b = lora.parameters().get(LoraModel.key("model.layers.0.self_attn.q_proj", "lora_B.weight"))
                    .toFloatArray();
            lora.merge();
            assertTrue(LoraModel.of(model).isEmpty(), "merging uninstalls the adapters");
            assertTrue(JniUtils.requiresGrad((PtNDArray) q), "and unfreezes the base");
            float[] qAfter = q.toFloatArray();
            int in = 16;
            int r = 4;
            for (int o = 0; o < 16; o++) {
                for (int i = 0; i < in; i++) {
                    double delta = 0;
                    for (int k = 0; k < r; k++) {
                        delta += (double) b[o * r + k] * a[k * in + i];
                    }
                    assertEquals(qBefore[o * in + i] + 2.0 * delta, qAfter[o * in + i], 1e-6);
                }
            }
            assertArrayEquals(adapted, logits(model, ids, mask), 1e-5f);
        }
    }

    /** Saving writes exactly PEFT's keys and config fields, and the tensors round-trip bit for bit. */
    @Test
    void filesRoundTripBitExactlyWithPeftNamesAndFields() throws Exception {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(golden("llama_tied_all/base"), manager)) {
            LoraModel lora = LoraModel.load(model, golden("llama_tied_all/adapter"));
            Path saved = tmp.resolve("saved");
            lora.save(saved);
            Path original = golden("llama_tied_all/adapter/adapter_model.safetensors");
            try (SafetensorsFile source = SafetensorsFile.open(original);
                    SafetensorsFile copy = SafetensorsFile.open(saved.resolve(LoraModel.WEIGHTS_FILE))) {
                assertEquals(new TreeSet<>(source.tensors().keySet()), new TreeSet<>(copy.tensors().keySet()));
                assertTrue(copy.tensors().containsKey("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
                for (String key : source.tensors().keySet()) {
                    assertArrayEquals(source.readFloats(key), copy.readFloats(key), 0f, key);
                }
            }
            JsonNode config = JSON.readTree(saved.resolve(LoraConfig.FILE).toFile());
            assertEquals(new TreeSet<>(List.of("alpha_pattern", "auto_mapping", "base_model_name_or_path", "bias",
                    "fan_in_fan_out", "inference_mode", "init_lora_weights", "layers_pattern", "layers_to_transform",
                    "lora_alpha", "lora_dropout", "modules_to_save", "peft_type", "r", "rank_pattern", "revision",
                    "target_modules", "task_type", "use_dora", "use_rslora")), fieldNames(config));
            assertEquals("LORA", config.get("peft_type").asText());
            assertEquals("CAUSAL_LM", config.get("task_type").asText());
            assertEquals("none", config.get("bias").asText());
            assertTrue(config.get("lora_alpha").isInt(), "an integer alpha is written as PEFT writes it");
            assertEquals(8, config.get("lora_alpha").asInt());
            assertTrue(config.get("use_rslora").asBoolean());
            assertFalse(config.get("use_dora").asBoolean());
            assertTrue(config.get("modules_to_save").isNull());
            assertEquals(List.of("down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"),
                    JSON.convertValue(config.get("target_modules"), List.class));
            lora.close();
            try (LoraModel again = LoraModel.load(model, saved)) {
                assertEquals(28, again.parameters().size());
            }
        }
    }

    /**
     * Phi3's fused qkv_proj and gate_up_proj take adapters under PEFT's names (one A, B pair each, B spanning the
     * fused rows); the adapted logits equal the merged ones, and PEFT's lack of a phi3 default is refused.
     */
    @Test
    void phi3FusedModulesTakeAdaptersUnderPeftNamesAndMergeExactly() throws Exception {
        Path base = Path.of(LoraModelTest.class.getResource("/golden/model/phi3_longrope").toURI());
        long[][] ids = {{3, 17, 40, 9, 88, 5, 61, 12}, {7, 7, 30, 2, 0, 0, 0, 0}};
        long[][] mask = {{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0, 0}};
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> LoraConfig.defaultTargets(org.orpo4j.model.ModelConfig.load(base.resolve("config.json"))));
        assertEquals("PEFT has no default LoRA target modules for model_type 'phi3': set loraTargetModules "
                + "(--lora-target-modules) to some of qkv_proj, o_proj, gate_up_proj, down_proj, or all-linear",
                none.getMessage());
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(base, manager)) {
            float[] before = logits(model, ids, mask);
            LoraConfig config = new LoraConfig(4, 8, 0.0, List.of("qkv_proj", "gate_up_proj"), false, null);
            LoraModel lora = LoraModel.attach(model, config, 3);
            String b = LoraModel.key("model.layers.0.self_attn.qkv_proj", "lora_B.weight");
            assertEquals(new Shape((4 + 2 * 2) * 8, 4), lora.parameters().get(b).getShape()); // (Hq + 2 Hkv)·D rows
            assertEquals(new Shape(2 * 48, 4),
                    lora.parameters().get(LoraModel.key("model.layers.2.mlp.gate_up_proj", "lora_B.weight")).getShape());
            try (GradMode off = GradMode.enabled(false); NDManager m = DjlRuntime.newManager(Device.cpu())) {
                lora.parameters().forEach((name, t) -> { // a trained-looking B
                    if (name.endsWith("lora_B.weight")) {
                        t.addi(m.randomNormal(0, 0.5f, t.getShape(), t.getDataType()));
                    }
                });
            }
            lora.train(false);
            float[] adapted = logits(model, ids, mask);
            assertTrue(maxDiff(before, adapted) > 1e-2, "the adapters change the logits");
            Path saved = tmp.resolve("phi3-adapter");
            lora.save(saved);
            assertEquals(List.of("gate_up_proj", "qkv_proj"), JSON.convertValue(
                    JSON.readTree(saved.resolve(LoraConfig.FILE).toFile()).get("target_modules"), List.class));
            try (SafetensorsFile file = SafetensorsFile.open(saved.resolve(LoraModel.WEIGHTS_FILE))) {
                assertTrue(file.tensors().containsKey(
                        "base_model.model.model.layers.1.self_attn.qkv_proj.lora_A.weight"));
                assertEquals(3 * 2 * 2, file.tensors().size());
            }
            lora.merge();
            // float32: W + s·B·A is rounded once where the adapter path adds two products; through the layers
            // (and the BLAS's thread split, which follows the machine's load) that moves logits near 1 by ~1e-5
            assertArrayEquals(adapted, logits(model, ids, mask), 5e-5f);
            assertTrue(model.parameters().containsKey("model.layers.0.self_attn.qkv_proj.weight"), "still fused");
        }
    }

    /** A new adapter is PEFT's default: A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0 (the model is unchanged), seeded. */
    @Test
    void attachInitialisesAsPeftAndFreezesTheBase() throws Exception {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(golden("qwen2_qv/base"), manager);
                CausalLm twin = CausalLm.load(golden("qwen2_qv/base"), manager)) {
            long[][] ids = {{1, 5, 9, 2}};
            long[][] mask = {{1, 1, 1, 1}};
            float[] before = logits(model, ids, mask);
            LoraConfig config = new LoraConfig(8, 16, 0.0, List.of(LoraConfig.ALL_LINEAR), false, null);
            try (LoraModel lora = LoraModel.attach(model, config, 7);
                    LoraModel same = LoraModel.attach(twin, config, 7)) {
                assertEquals(2 * 7 * 2, lora.parameters().size());
                assertEquals(golden("qwen2_qv/base").toString(), lora.config().baseModelNameOrPath());
                String a = LoraModel.key("model.layers.1.mlp.down_proj", "lora_A.weight");
                assertEquals(new Shape(8, 32), lora.parameters().get(a).getShape());
                float bound = (float) (1 / Math.sqrt(32));
                for (float v : lora.parameters().get(a).toFloatArray()) {
                    assertTrue(Math.abs(v) <= bound, "A within the kaiming bound");
                }
                lora.parameters().values().forEach(t -> assertTrue(JniUtils.requiresGrad((PtNDArray) t)));
                model.parameters().values().forEach(p -> assertFalse(JniUtils.requiresGrad((PtNDArray) p)));
                assertArrayEquals(before, logits(model, ids, mask), 0f, "B = 0: the model is unchanged");
                assertArrayEquals(lora.parameters().get(a).toFloatArray(), same.parameters().get(a).toFloatArray(), 0f,
                        "seeded");
            }
        }
    }

    @Test
    void whatOrpo4jCannotHonourIsRefusedInOneLineNamingTheFile() throws Exception {
        Path good = golden("qwen2_qv/adapter");
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(golden("qwen2_qv/base"), manager)) {
            Map<String, String> edits = Map.of("\"use_dora\": false", "\"use_dora\": true",
                    "\"modules_to_save\": null", "\"modules_to_save\": [\"lm_head\"]",
                    "\"bias\": \"none\"", "\"bias\": \"all\"",
                    "\"q_proj\"", "\"c_attn\"");
            int k = 0;
            for (Map.Entry<String, String> edit : edits.entrySet()) {
                Path dir = copy(good, tmp.resolve("bad" + k++));
                Path file = dir.resolve(LoraConfig.FILE);
                String text = Files.readString(file);
                assertTrue(text.contains(edit.getKey()), edit.getKey());
                Files.writeString(file, text.replace(edit.getKey(), edit.getValue()));
                IOException e = assertThrows(IOException.class, () -> LoraModel.load(model, dir));
                assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
                assertEquals(1, e.getMessage().lines().count());
            }
            IOException noConfig = assertThrows(IOException.class, () -> LoraModel.load(model, golden("qwen2_qv/base")));
            assertEquals(golden("qwen2_qv/base") + ": no adapter_config.json (is this a PEFT adapter folder?)",
                    noConfig.getMessage());
            assertTrue(LoraModel.of(model).isEmpty(), "nothing stays installed after a failed load");
        }
        ModelConfig wider = ModelConfig.builder("qwen2").vocabSize(32).hiddenSize(32).intermediateSize(32)
                .numHiddenLayers(2).numAttentionHeads(4).numKeyValueHeads(2).attentionBias(true).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu()); CausalLm other = CausalLm.random(wider, manager, 1)) {
            IOException e = assertThrows(IOException.class, () -> LoraModel.load(other, good));
            assertEquals(good.resolve(LoraModel.WEIGHTS_FILE) + ": tensor 'base_model.model.model.layers.0.self_attn"
                    + ".q_proj.lora_A.weight' has shape [4, 16] but the base model and r = 4 need [4, 32]",
                    e.getMessage());
        }
    }

    private static TreeSet<String> fieldNames(JsonNode n) {
        TreeSet<String> names = new TreeSet<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }
}
