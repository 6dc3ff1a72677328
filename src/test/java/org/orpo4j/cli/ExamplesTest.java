package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.examples.CustomLoop;
import org.orpo4j.examples.FineTuneHfCheckpoint;
import org.orpo4j.examples.FineTuneWithLora;
import org.orpo4j.examples.QuickStart;
import org.orpo4j.examples.TinyModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.MetricsWriter;

/** The example programs run on a tiny model (they are compiled from examples/ with the tests). */
class ExamplesTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path pairs;

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        pairs = Cli.demoData(tmp, DemoAssets.TRAIN, 24);
    }

    private static float[] embedding(Path dir) throws Exception {
        try (NDManager m = DjlRuntime.newManager(DjlRuntime.defaultDevice()); CausalLm lm = CausalLm.load(dir, m)) {
            return lm.parameters().get("model.embed_tokens.weight").toFloatArray();
        }
    }

    @Test
    void tinyModelSizesItsVocabularyToTheTokenizer() throws Exception {
        Path out = tmp.resolve("tiny-example");
        TinyModel.main(new String[] {DemoAssets.writeTokenizer(tmp.resolve("tok")).toString(), out.toString()});
        try (NDManager m = DjlRuntime.newManager(DjlRuntime.defaultDevice()); CausalLm lm = CausalLm.load(out, m)) {
            assertEquals(180, lm.config().vocabSize());
            assertEquals(java.util.List.of(2), lm.config().eosTokenIds(), "the demo tokenizer's <|im_end|>, not a default");
        }
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
    }

    @Test
    void fineTuneWithLoraWritesThePeftAdapterAndTheMergedModel() throws Exception {
        Path out = tmp.resolve("lora");
        FineTuneWithLora.main(new String[] {model.toString(), pairs.toString(), out.toString(), "2"});
        assertTrue(Files.exists(out.resolve("adapter_model.safetensors")));
        assertTrue(Files.exists(out.resolve("adapter_config.json")));
        assertFalse(Files.exists(out.resolve("model.safetensors")));
        try (NDManager m = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm base = CausalLm.load(model, m); CausalLm merged = CausalLm.load(out.resolve("merged"), m)) {
            assertArrayEquals(base.parameters().get("model.embed_tokens.weight").toFloatArray(),
                    merged.parameters().get("model.embed_tokens.weight").toFloatArray(), "the embedding is not adapted");
            assertFalse(Arrays.equals(base.parameters().get("model.layers.0.mlp.up_proj.weight").toFloatArray(),
                    merged.parameters().get("model.layers.0.mlp.up_proj.weight").toFloatArray()), "all-linear merged");
        }
    }

    @Test
    void quickStartTrainsIntoAHfFolder() throws Exception {
        Path out = tmp.resolve("quick");
        QuickStart.main(new String[] {model.toString(), pairs.toString(), out.toString(), "2"});
        List<Map<String, Object>> lines = MetricsWriter.read(out.resolve(MetricsWriter.FILE));
        assertEquals(2L, lines.get(lines.size() - 1).get("step"));
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
        assertFalse(Arrays.equals(embedding(model), embedding(out)));
    }

    @Test
    void fineTuneWritesTheModelEvaluatesAndABf16Copy() throws Exception {
        Path out = tmp.resolve("finetune");
        Path eval = Cli.demoData(tmp, DemoAssets.HELDOUT, 6);
        FineTuneHfCheckpoint.main(new String[] {model.toString(), pairs.toString(), out.toString(), eval.toString(), "2"});
        assertTrue(MetricsWriter.read(out.resolve(MetricsWriter.FILE)).stream().anyMatch(l -> l.containsKey("eval_loss")));
        assertTrue(Files.isDirectory(out.resolve("checkpoint-2")));
        assertEquals("bfloat16", ModelConfig.load(out.resolve("bf16").resolve("config.json")).torchDtype());
        assertTrue(Files.size(out.resolve("bf16").resolve("model.safetensors"))
                < 0.6 * Files.size(out.resolve("model.safetensors")));
    }

    @Test
    void customLoopLowersTheLoss() throws Exception {
        List<Double> losses = CustomLoop.train(model, pairs, 24, 3e-3f);
        assertEquals(24, losses.size());
        double first = (losses.get(0) + losses.get(1) + losses.get(2)) / 3;
        double last = (losses.get(21) + losses.get(22) + losses.get(23)) / 3;
        assertTrue(last < 0.8 * first, "loss " + first + " -> " + last);
    }
}
