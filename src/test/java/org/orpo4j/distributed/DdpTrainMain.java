package org.orpo4j.distributed;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.ChunkedLoss;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.TrainResult;

/**
 * One rank of a test run, in a process of its own (one gradient collector per process): a tiny random llama
 * trained on equal-length synthetic pairs (the NLL is a token mean per rank, so equal lengths make N ranks × B rows
 * the same gradient as one process × N·B rows), data-parallel when torchrun's variables are set. Dumps the trained
 * weights (sorted by name, float32) to {@code DUMP/rank<r>.bin}, outside the output folder.
 *
 * <p>Arguments: {@code OUTPUT DUMP lora|plain BATCH ACCUMULATION STEPS SAVE_STEPS [RESUME]} (SAVE_STEPS 0: no
 * checkpoints).
 */
public final class DdpTrainMain {

    private DdpTrainMain() {}

    public static void main(String[] args) throws IOException {
        DjlRuntime.engine();
        JniUtils.setNumThreads(1);
        Path output = Path.of(args[0]);
        Path dump = Path.of(args[1]);
        boolean lora = args[2].equals("lora");
        int save = Integer.parseInt(args[6]);
        OrpoConfig config = OrpoConfig.builder().perDeviceTrainBatchSize(Integer.parseInt(args[3]))
                .gradientAccumulationSteps(Integer.parseInt(args[4])).maxSteps(Integer.parseInt(args[5]))
                .learningRate(1e-3).warmupSteps(0).shuffle(true).groupByLength(false).loggingSteps(1)
                .saveStrategy(save > 0 ? "steps" : "no").saveSteps(Math.max(save, 1)).outputDir(output.toString())
                .chunkedLoss(ChunkedLoss.OFF).usePeft(lora).loraR(4).loraDropout(0).seed(7)
                .resumeFromCheckpoint(args.length > 7 ? args[7] : null).build();
        Optional<Distributed> ranks = Distributed.fromEnvironment("auto", Duration.ofSeconds(30));
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.random(ModelConfig.builder("llama").vocabSize(32).hiddenSize(32)
                        .intermediateSize(64).numHiddenLayers(2).numAttentionHeads(4).numKeyValueHeads(2)
                        .padTokenId(0).build(), manager, 11)) {
            OrpoTrainer trainer = new OrpoTrainer(model, config);
            ranks.ifPresent(trainer::dataParallel);
            TrainResult result = trainer.train(pairs(24), null);
            Map<String, NDArray> trained = LoraModel.of(model).map(LoraModel::parameters)
                    .orElseGet(model::parameters);
            int rank = ranks.map(Distributed::rank).orElse(0);
            Files.createDirectories(dump);
            try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(dump.resolve("rank" + rank
                    + ".bin")))) {
                for (Map.Entry<String, NDArray> e : new TreeMap<>(trained).entrySet()) {
                    out.writeUTF(e.getKey());
                    float[] v = e.getValue().toFloatArray();
                    out.writeInt(v.length);
                    for (float f : v) {
                        out.writeFloat(f);
                    }
                }
            }
            System.out.println("RESULT rank=" + rank + " steps=" + result.globalStep());
        } finally {
            ranks.ifPresent(Distributed::close);
        }
    }

    /** Pairs of equal lengths (prompt 3, answers 3 tokens each), distinct contents. */
    static PreferenceDataset pairs(int n) {
        List<TokenizedPair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new TokenizedPair(new long[] {1, 19 + i % 13, 19 + (i * 7) % 13},
                    new long[] {3 + i % 8, 3 + (i * 3) % 8, 2}, new long[] {11 + i % 8, 11 + (i * 5) % 8, 2}, i + 1));
        }
        return PreferenceDataset.of(out, 0);
    }
}
