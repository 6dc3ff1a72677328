package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.SaveOptions;

/**
 * The content of one {@code checkpoint-<step>/} folder: the trained weights (an HF model folder, or a LoRA run's
 * PEFT adapter files) with the tokenizer files, the AdamW moments in {@code optimizer/} (safetensors, sharded like
 * the weights when large) and {@code trainer_state.json}.
 */
final class TrainingCheckpoint {

    /** Subfolder holding the optimizer moments ({@code exp_avg.<param>}, {@code exp_avg_sq.<param>}). */
    static final String OPTIMIZER_DIR = "optimizer";

    private TrainingCheckpoint() {}

    static void write(Path dir, TrainedWeights weights, AdamW adamw, TrainerState state, Path tokenizerDir)
            throws IOException {
        weights.save(dir, tokenizerDir);
        CheckpointWriter.write(dir.resolve(OPTIMIZER_DIR), adamw.state(), SaveOptions.defaults());
        state.write(dir.resolve(TrainerState.FILE));
    }

    /** The saved trainer state of a checkpoint folder. */
    static TrainerState readState(Path dir) throws IOException {
        Path stateFile = dir.resolve(TrainerState.FILE);
        if (!Files.isRegularFile(stateFile)) {
            throw new IOException("cannot resume from " + dir + ": no " + TrainerState.FILE);
        }
        return TrainerState.read(stateFile);
    }

    /** Copies the checkpoint's weights into {@code weights} and its moments (after {@code steps} updates) into adamw. */
    static void restore(Path dir, TrainedWeights weights, AdamW adamw, long steps, NDManager scratch)
            throws IOException {
        weights.restore(dir, scratch);
        try (NDManager m = scratch.newSubManager();
                CheckpointReader moments = CheckpointReader.open(dir.resolve(OPTIMIZER_DIR))) {
            Map<String, NDArray> state = new LinkedHashMap<>();
            NDArray first = weights.parameters().values().iterator().next();
            for (String name : moments.names()) {
                state.put(name, moments.load(name, m).toDevice(first.getDevice(), false));
            }
            adamw.loadState(steps, state);
        }
    }
}
