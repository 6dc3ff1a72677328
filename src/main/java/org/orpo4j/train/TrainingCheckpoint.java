package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.SaveOptions;

/**
 * The content of one {@code checkpoint-<step>/} folder: the HF model folder (config.json, model.safetensors,
 * tokenizer files), the AdamW moments in {@code optimizer/} (safetensors, sharded like the weights when large)
 * and {@code trainer_state.json}.
 */
final class TrainingCheckpoint {

    /** Subfolder holding the optimizer moments ({@code exp_avg.<param>}, {@code exp_avg_sq.<param>}). */
    static final String OPTIMIZER_DIR = "optimizer";

    private TrainingCheckpoint() {}

    static void write(Path dir, CausalLm model, AdamW adamw, TrainerState state, Path tokenizerDir)
            throws IOException {
        model.save(dir, SaveOptions.defaults(), tokenizerDir);
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

    /** Copies the checkpoint's weights into {@code params} and its moments (after {@code steps} updates) into adamw. */
    static void restore(Path dir, Map<String, NDArray> params, AdamW adamw, long steps, NDManager scratch)
            throws IOException {
        try (NDManager m = scratch.newSubManager();
                CheckpointReader weights = CheckpointReader.open(dir);
                CheckpointReader moments = CheckpointReader.open(dir.resolve(OPTIMIZER_DIR));
                GradMode noGrad = GradMode.enabled(false)) {
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                if (!weights.contains(e.getKey())) {
                    throw new IOException(dir + ": checkpoint lacks weight " + e.getKey());
                }
                NDArray loaded = weights.load(e.getKey(), m);
                if (!loaded.getShape().equals(e.getValue().getShape())) {
                    throw new IOException(dir + ": weight " + e.getKey() + " has shape " + loaded.getShape()
                            + ", the model has " + e.getValue().getShape());
                }
                e.getValue().set(new NDIndex("..."), loaded.toDevice(e.getValue().getDevice(), false));
            }
            Map<String, NDArray> state = new LinkedHashMap<>();
            for (String name : moments.names()) {
                state.put(name, moments.load(name, m).toDevice(params.values().iterator().next().getDevice(), false));
            }
            adamw.loadState(steps, state);
        }
    }
}
