package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;

/** generateDuringEval is refused before training when it could not generate (samples themselves: EvalDuringTrainingTest). */
class SampleGenerationTest {

    @TempDir
    Path tmp;

    @Test
    void withoutEvalDataOrTokenizerTheRunIsRefusedBeforeItStarts() {
        OrpoConfig config = OrpoConfig.builder().outputDir(tmp.resolve("out").toString()).maxSteps(2)
                .perDeviceTrainBatchSize(4).set(Settings.GENERATE_DURING_EVAL, true).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
            OrpoTrainer trainer = new OrpoTrainer(model, config);
            IllegalArgumentException noEval = assertThrows(IllegalArgumentException.class,
                    () -> trainer.train(Synthetic.pairs(8, 1), null));
            assertTrue(noEval.getMessage().contains("generateDuringEval needs evaluation data"), noEval.getMessage());
            IllegalArgumentException noTokenizer = assertThrows(IllegalArgumentException.class,
                    () -> trainer.train(Synthetic.pairs(8, 1), Synthetic.pairs(4, 2)));
            assertTrue(noTokenizer.getMessage().contains("tokenizerDir"), noTokenizer.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("out").resolve(MetricsWriter.FILE)), "nothing written");
    }
}
