package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.node.DoubleNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.precision.MasterWeights;
import org.orpo4j.precision.Precision;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.Scalars;

/** Numbers computed as HF Trainer and TRL compute them, where an easier way would differ. */
@ExtendWith(SingleThread.class)
class TrainingNumbersTest {

    @TempDir
    Path out;

    private OrpoConfig.Builder base(String run) {
        return OrpoConfig.builder().learningRate(1e-3).shuffle(false).loggingSteps(1).saveStrategy("no")
                .outputDir(out.resolve(run).toString()).chunkedLoss(ChunkedLoss.OFF);
    }

    /**
     * fp16 with 8 micro-batches per step: the step's gradient is the float32 sum of the eight half-precision
     * gradients, each widened and unscaled as it arrives (HF keeps float32 gradients); summing them in float16
     * first, then widening, loses about 10 bits of each.
     */
    @Test
    void fp16AccumulatesTheMicroBatchGradientsInFloat32() throws Exception {
        PreferenceDataset data = Synthetic.pairs(8, 4);
        double logged;
        try (NDManager manager = DjlRuntime.newManager(Device.cpu()); CausalLm model = Synthetic.model(manager, 16, 1, 5)) {
            new OrpoTrainer(model, base("fp16").fp16(true).gradientAccumulationSteps(8).perDeviceTrainBatchSize(1)
                    .maxSteps(1).maxGradNorm(0).sharedPrompt(false).gradientCheckpointing(false).build())
                    .train(data, null);
            logged = (Double) MetricsWriter.read(out.resolve("fp16").resolve(MetricsWriter.FILE)).get(0).get("grad_norm");
        }
        double scale = 65536; // GradScaler's initial scale; the first step did not overflow (it was logged)
        try (NDManager manager = DjlRuntime.newManager(Device.cpu()); CausalLm model = Synthetic.model(manager, 16, 1, 5);
                MasterWeights halves = MasterWeights.install(model, Precision.FP16)) {
            PairSource source = PairSource.of(data);
            Map<String, NDArray> sums = new LinkedHashMap<>();
            for (int i = 0; i < 8; i++) {
                try (NDManager mb = manager.newSubManager();
                        GradientCollector collector = manager.getEngine().newGradientCollector()) {
                    MicroBatch batch = source.collate(new int[] {i}, mb);
                    NDArray hidden = model.trainingForward(batch.inputIds(), batch.attentionMask(), false, null)
                            .hidden();
                    NDArray loss = OrpoLoss.builder().build().compute(model.logits(hidden), batch.inputIds(),
                            batch.attentionMask(), batch.labels()).loss();
                    collector.backward(loss.mul(Scalars.like(loss, scale / 8)));
                }
                try (GradMode off = GradMode.enabled(false)) {
                    halves.halves().forEach((name, half) -> {
                        NDArray wide = half.getGradient().toType(ai.djl.ndarray.types.DataType.FLOAT32, true);
                        sums.merge(name, wide, (sum, more) -> {
                            sum.addi(more);
                            return sum;
                        });
                        half.getGradient().muli(0);
                    });
                }
            }
            NDList norms = new NDList();
            sums.values().forEach(sum -> norms.add(sum.mul(Scalars.like(sum, 1 / scale)).norm()));
            double expected = NDArrays.stack(norms).norm().getFloat();
            assertEquals(expected, logged, 1e-6 * expected, "float32 accumulation of the half gradients");
        }
    }

    /**
     * A step skipped for fp16 overflow advances the step count but not the LR schedule (HF steps its scheduler only
     * when the optimizer stepped): with warmup, every logged learning_rate is the schedule at the number of steps
     * actually taken before it.
     */
    @Test
    void fp16OverflowSkipsDoNotAdvanceTheSchedule() throws Exception {
        ModelConfig config = ModelConfig.builder("llama").vocabSize(Synthetic.VOCAB).hiddenSize(16)
                .intermediateSize(32).numHiddenLayers(1).numAttentionHeads(4).numKeyValueHeads(2).padTokenId(0)
                .set("initializer_range", DoubleNode.valueOf(2.0)) // large weights, large gradients: overflows
                .build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.random(config, manager, 3)) {
            new OrpoTrainer(model, base("skips").fp16(true).perDeviceTrainBatchSize(2).maxSteps(16).warmupSteps(6)
                    .build()).train(Synthetic.pairs(32, 1), null);
        }
        LrSchedule schedule = new LrSchedule(LrSchedulerType.LINEAR, 1e-3, 6, 16);
        List<Long> logged = new ArrayList<>();
        long skipped = 0;
        long expectedStep = 1;
        for (Map<String, Object> line : MetricsWriter.read(out.resolve("skips").resolve(MetricsWriter.FILE))) {
            long step = (Long) line.get("step");
            skipped += step - expectedStep; // steps without a line were skipped
            expectedStep = step + 1;
            assertEquals(schedule.lr(step - 1 - skipped), (Double) line.get("learning_rate"), 1e-15, "step " + step);
            logged.add(step);
        }
        assertTrue(skipped > 0 && !logged.isEmpty(), "the run must overflow at least once and then train: " + logged);
    }

    /**
     * eval_loss is the mean over pairs (HF repeats each batch's loss once per pair), the other eval_ metrics the
     * mean over batches (TRL's stored metrics): with batches of 3, 3 and 1 pairs the two differ.
     */
    @Test
    void evalLossIsWeightedByBatchSizeAndTheOtherMetricsAreBatchMeans() throws Exception {
        PreferenceDataset all = Synthetic.pairs(7, 9);
        try (NDManager manager = DjlRuntime.newManager(Device.cpu()); CausalLm model = Synthetic.model(manager, 16, 1, 2)) {
            OrpoTrainer trainer = new OrpoTrainer(model, base("eval").perDeviceEvalBatchSize(3).build());
            Map<String, Double> whole = trainer.evaluate(all);
            int[][] batches = {{0, 1, 2}, {3, 4, 5}, {6}};
            double loss = 0;
            double accuracy = 0;
            for (int[] rows : batches) {
                List<TokenizedPair> part = new ArrayList<>();
                for (int row : rows) {
                    part.add(all.row(row));
                }
                Map<String, Double> one = trainer.evaluate(PreferenceDataset.of(part, 0));
                loss += one.get("eval_loss") * rows.length / 7;
                accuracy += one.get("eval_rewards/accuracies") / 3;
            }
            assertEquals(loss, whole.get("eval_loss"), 1e-12 * Math.abs(loss));
            assertEquals(accuracy, whole.get("eval_rewards/accuracies"), 1e-12);
        }
    }

    /**
     * LoRA dropout draws a mask per row: TRL's chosen and rejected rows see their prompt through different masks,
     * which one shared prompt cannot, so such a run trains on two rows whatever sharedPrompt says, and both
     * settings give the same adapter bit for bit.
     */
    @Test
    void loraDropoutTrainsOnTwoRowsSoTheSharedPromptSettingChangesNothing() throws Exception {
        Map<String, float[]> adapters = new LinkedHashMap<>();
        for (boolean shared : new boolean[] {true, false}) {
            try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                    CausalLm model = Synthetic.model(manager, 16, 1, 6)) {
                new OrpoTrainer(model, base("lora-" + shared).usePeft(true).loraDropout(0.3).loraR(4)
                        .perDeviceTrainBatchSize(4).maxSteps(3).sharedPrompt(shared).build())
                        .train(Synthetic.pairs(16, 2), null);
                LoraModel.of(model).orElseThrow().parameters()
                        .forEach((name, a) -> adapters.merge(name, a.toFloatArray(), (was, now) -> {
                            assertArrayEquals(was, now, name);
                            return now;
                        }));
            }
        }
        assertTrue(!adapters.isEmpty());
    }
}
