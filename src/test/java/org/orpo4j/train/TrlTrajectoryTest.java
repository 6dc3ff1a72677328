package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SafetensorsFile;

/**
 * TRL end to end (src/test/python/trl_golden.py): trl.experimental.orpo.ORPOTrainer itself trained a tiny random
 * Qwen3 with the real Qwen3 tokenizer and chat template on twelve conversational rows for six steps (cosine or linear
 * schedule, warmup, accumulation 2, max_length 64 truncating one answer, weight decay, clipping); orpo4j loads the
 * same JSONL with its own pipeline and trains the same model. Its tokenized rows equal TRL's, every logged metric is
 * within 1e-4 relative of TRL's (rewards/margins and log_odds_chosen, differences of nearly equal float32 numbers,
 * relative to the rewards and log-probabilities they subtract), every final weight within 1e-5 absolute; the same with PEFT's LoRA (rsLoRA, all
 * linear layers) from PEFT's own saved adapter to PEFT's own final one.
 */
class TrlTrajectoryTest {

    /**
     * TRL 1.16 cuts an over-long answer to max_length minus its prompt and never cuts the prompt; orpo4j keeps the
     * classic rules (prompt first, to max_prompt_length, then answers to max_length minus max_prompt_length;
     * docs/data-formats.md). They agree when the over-long row's prompt is exactly max_prompt_length tokens: the
     * golden's one truncated row (the photosynthesis answer) has a 27-token prompt.
     */
    static final int MAX_PROMPT_LENGTH = 27;
    static final int TRUNCATED_ROW = 4;
    static final String[] METRICS = {"loss", "grad_norm", "nll_loss", "log_odds_ratio", "log_odds_chosen",
        "rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen", "logps/rejected"};

    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path golden;
    private static HfTokenizer tokenizer;

    @TempDir
    Path out;

    @BeforeAll
    static void load() throws Exception {
        golden = TrajectoryParityTest.resource("/golden/trl");
        tokenizer = HfTokenizer.load(TrajectoryParityTest.resource("/tokenizers/qwen3"));
    }

    @Test
    void rowsTokenizeLikeTrl() throws Exception {
        PreferenceDataset dataset = dataset(JSON.readTree(golden.resolve("full/trajectory.json").toFile()));
        List<String> trl = Files.readAllLines(golden.resolve("tokenized.jsonl"));
        assertEquals(trl.size(), dataset.size());
        for (int i = 0; i < trl.size(); i++) {
            JsonNode want = JSON.readTree(trl.get(i));
            TokenizedPair got = dataset.row(i);
            assertArrayEquals(longs(want.get("prompt_input_ids")), got.prompt(), "prompt of row " + i);
            assertArrayEquals(longs(want.get("chosen_input_ids")), concat(got.prompt(), got.chosen()), "chosen " + i);
            assertArrayEquals(longs(want.get("rejected_input_ids")), concat(got.prompt(), got.rejected()),
                    "rejected " + i);
            assertArrayEquals(longs(want.get("chosen_labels")), labels(got.prompt(), got.chosen(),
                    got.chosenPromptTail()), "chosen labels " + i);
            assertArrayEquals(longs(want.get("rejected_labels")), labels(got.prompt(), got.rejected(),
                    got.rejectedPromptTail()), "rejected labels " + i);
        }
        assertEquals(MAX_PROMPT_LENGTH, JSON.readTree(trl.get(TRUNCATED_ROW)).get("prompt_input_ids").size());
        assertEquals(64, dataset.row(TRUNCATED_ROW).prompt().length + dataset.row(TRUNCATED_ROW).chosen().length,
                "the photosynthesis answer is cut at max_length");
        assertEquals(1, dataset.report().truncated());
    }

    /** The defaults: the shared-prompt layout, the chunked loss (4 rows x 63 positions x 151669 > 2^24 values). */
    @Test
    void fullFineTuningFollowsTrl() throws Exception {
        full(ChunkedLoss.AUTO, true);
    }

    /** TRL's own layout, two padded rows per pair, with the plain loss: logits/* are TRL's (pads included). */
    @Test
    void fullFineTuningInTheTwoRowLayoutFollowsTrl() throws Exception {
        full(ChunkedLoss.OFF, false);
    }

    @Test
    void loraFollowsTrlWithPeft() throws Exception {
        JsonNode reference = JSON.readTree(golden.resolve("lora/trajectory.json").toFile());
        Path run = out.resolve("lora");
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(golden.resolve("model"), manager)) {
            float[] baseBefore = model.parameters().get("model.layers.0.self_attn.q_proj.weight").toFloatArray();
            LoraModel lora = LoraModel.load(model, golden.resolve("lora/adapter"));
            assertEquals(28, lora.parameters().size(), "A and B of 7 linear layers in each of 2 layers");
            new OrpoTrainer(model, config(reference, run, ChunkedLoss.AUTO, true)).train(dataset(reference), null);
            double metricRel = compareLog(reference, run, true);
            double worst = 0;
            try (SafetensorsFile expected = SafetensorsFile.open(golden.resolve("lora/final/adapter_model.safetensors"))) {
                assertEquals(expected.tensors().keySet(), lora.parameters().keySet());
                for (Map.Entry<String, NDArray> e : lora.parameters().entrySet()) {
                    worst = Math.max(worst, compare(expected.readFloats(e.getKey()), e.getValue().toFloatArray(),
                            e.getKey()));
                }
            }
            assertArrayEquals(baseBefore, model.parameters().get("model.layers.0.self_attn.q_proj.weight")
                    .toFloatArray(), "base frozen");
            System.out.printf("TRL+PEFT LoRA parity: max metric rel. error %.2e, max adapter abs. error %.2e%n",
                    metricRel, worst);
        }
    }

    private void full(ChunkedLoss chunkedLoss, boolean sharedPrompt) throws Exception {
        JsonNode reference = JSON.readTree(golden.resolve("full/trajectory.json").toFile());
        Path run = out.resolve("full-" + chunkedLoss + "-" + sharedPrompt);
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(golden.resolve("model"), manager)) {
            new OrpoTrainer(model, config(reference, run, chunkedLoss, sharedPrompt)).train(dataset(reference), null);
            double metricRel = compareLog(reference, run, sharedPrompt);
            double worst = 0;
            try (SafetensorsFile expected = SafetensorsFile.open(golden.resolve("full/final.safetensors"));
                    SafetensorsFile start = SafetensorsFile.open(golden.resolve("model/model.safetensors"))) {
                assertEquals(expected.tensors().keySet(), model.parameters().keySet());
                for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
                    float[] want = expected.readFloats(e.getKey());
                    worst = Math.max(worst, compare(want, e.getValue().toFloatArray(), e.getKey()));
                    float[] initial = start.readFloats(e.getKey());
                    double moved = 0;
                    for (int i = 0; i < want.length; i++) {
                        moved = Math.max(moved, Math.abs(want[i] - initial[i]));
                    }
                    assertTrue(moved > 1e-4, e.getKey() + " barely moved: " + moved);
                }
            }
            System.out.printf("TRL parity (%s loss, %s): max metric rel. error %.2e, max weight abs. error %.2e%n",
                    chunkedLoss, sharedPrompt ? "shared prompt" : "two rows", metricRel, worst);
        }
    }

    private static OrpoConfig config(JsonNode reference, Path run, ChunkedLoss chunkedLoss, boolean sharedPrompt) {
        return OrpoConfig.builder()
                .perDeviceTrainBatchSize(reference.get("per_device_train_batch_size").asInt())
                .gradientAccumulationSteps(reference.get("gradient_accumulation_steps").asInt())
                .maxSteps(reference.get("max_steps").asInt()).learningRate(reference.get("learning_rate").asDouble())
                .lrSchedulerType(LrSchedulerType.parse(reference.get("lr_scheduler_type").asText()))
                .warmupSteps(reference.get("warmup_steps").asInt())
                .weightDecay(reference.get("weight_decay").asDouble())
                .maxGradNorm(reference.get("max_grad_norm").asDouble()).beta(reference.get("beta").asDouble())
                .maxLength(reference.get("max_length").asInt()).maxPromptLength(MAX_PROMPT_LENGTH)
                .seed(reference.get("seed").asLong()).shuffle(false).loggingSteps(1).saveStrategy("no")
                .outputDir(run.toString()).chunkedLoss(chunkedLoss).sharedPrompt(sharedPrompt).build();
    }

    private static PreferenceDataset dataset(JsonNode reference) throws Exception {
        DataOptions options = DataOptions.builder().maxLength(reference.get("max_length").asInt())
                .maxPromptLength(MAX_PROMPT_LENGTH).build();
        return PreferenceDataset.load(golden.resolve("pairs.jsonl"), tokenizer, options);
    }

    /** Every logged metric of every step against TRL's; returns the largest relative error. */
    private static double compareLog(JsonNode reference, Path run, boolean sharedPrompt) throws Exception {
        List<Map<String, Object>> lines = MetricsWriter.read(run.resolve(MetricsWriter.FILE));
        JsonNode log = reference.get("log");
        assertEquals(log.size(), lines.size());
        double worst = 0;
        for (int k = 0; k < log.size(); k++) {
            JsonNode want = log.get(k);
            Map<String, Object> got = lines.get(k);
            assertEquals(want.get("step").asLong(), ((Number) got.get("step")).longValue());
            assertEquals(want.get("learning_rate").asDouble(), (Double) got.get("learning_rate"), 1e-12);
            assertEquals(want.get("epoch").asDouble(), ((Number) got.get("epoch")).doubleValue(), 1e-9);
            assertEquals(want.get("rewards/accuracies").asDouble(), (Double) got.get("rewards/accuracies"), 1e-9);
            for (String name : METRICS) {
                // the margins and the log odds are differences of nearly equal float32 numbers: relative to those
                double scale = name.equals("rewards/margins") ? Math.abs(want.get("rewards/chosen").asDouble())
                        : name.equals("log_odds_chosen") ? Math.abs(want.get("logps/chosen").asDouble()) : 0;
                worst = Math.max(worst, relative(want.get(name).asDouble(), (Double) got.get(name), scale, name, k));
            }
            for (String half : new String[] {"chosen", "rejected"}) {
                // the shared-prompt layout computes no padding: its logits/* average the real positions
                String wantName = (sharedPrompt ? "real_logits/" : "logits/") + half;
                worst = Math.max(worst, relative(want.get(wantName).asDouble(), (Double) got.get("logits/" + half),
                        0, "logits/" + half, k));
            }
        }
        return worst;
    }

    /** The error relative to max(|want|, scale), asserted at most 1e-4. */
    private static double relative(double want, double got, double scale, String name, int k) {
        double rel = Math.abs(got - want) / Math.max(Math.abs(want), scale);
        assertTrue(rel <= 1e-4, name + " at step " + (k + 1) + ": " + got + " vs TRL " + want);
        return rel;
    }

    private static double compare(float[] want, float[] got, String name) {
        assertEquals(want.length, got.length, name);
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            double error = Math.abs(want[i] - got[i]);
            assertTrue(error <= 1e-5, name + "[" + i + "]: " + got[i] + " vs " + want[i]);
            worst = Math.max(worst, error);
        }
        return worst;
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private static long[] concat(long[] a, long[] b) {
        return LongStream.concat(Arrays.stream(a), Arrays.stream(b)).toArray();
    }

    /** TRL's labels: -100 over the prompt (and the prompt tokens an answer's joint tokenization moved), then ids. */
    private static long[] labels(long[] prompt, long[] answer, int promptTail) {
        long[] out = concat(prompt, answer);
        Arrays.fill(out, 0, prompt.length + promptTail, -100);
        return out;
    }
}
