package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.IntConsumer;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.SaveOptions;

/**
 * What a run trains and writes: every weight of the model (saved as an HF folder) or a LoRA adapter on the frozen
 * model (saved as PEFT's adapter files, without the base). Checkpoints, the final output and resuming go through it.
 */
interface TrainedWeights {

    /** The tensors AdamW updates, clipping measures and checkpoints keep, by their file names. */
    Map<String, NDArray> parameters();

    /** Writes the trained weights (and the tokenizer files of {@code tokenizerDir}, nullable) into {@code dir}. */
    void save(Path dir, Path tokenizerDir) throws IOException;

    /** True when {@code dir} holds the weights {@link #save} writes (a finished run's output). */
    boolean savedIn(Path dir);

    /** Copies the weights a checkpoint folder holds into {@link #parameters()}, in place. */
    void restore(Path checkpoint, NDManager scratch) throws IOException;

    /**
     * What to call before each decoder layer of the micro-batch numbered {@code seed} runs (or is recomputed by
     * gradient checkpointing): it reseeds what the layer draws at random (LoRA dropout), so the draws repeat; null
     * when nothing is random.
     */
    default IntConsumer layerSeeds(long seed) {
        return null;
    }

    /** True when a layer draws at random in training (LoRA dropout): each row must then get its own draws. */
    default boolean drawsAtRandom() {
        return false;
    }

    /** The model's weights, all trained. */
    static TrainedWeights fullModel(CausalLm model) {
        return new TrainedWeights() {
            @Override
            public Map<String, NDArray> parameters() {
                return model.parameters();
            }

            @Override
            public void save(Path dir, Path tokenizerDir) {
                model.save(dir, SaveOptions.defaults(), tokenizerDir);
            }

            @Override
            public boolean savedIn(Path dir) {
                return Files.isRegularFile(dir.resolve(CheckpointReader.SINGLE_FILE))
                        || Files.isRegularFile(dir.resolve(CheckpointReader.INDEX_FILE));
            }

            @Override
            public void restore(Path checkpoint, NDManager scratch) throws IOException {
                try (NDManager m = scratch.newSubManager(); CheckpointReader weights = CheckpointReader.open(checkpoint);
                        GradMode noGrad = GradMode.enabled(false)) {
                    for (Map.Entry<String, NDArray> e : parameters().entrySet()) {
                        if (!weights.contains(e.getKey())) {
                            throw new IOException(checkpoint + ": checkpoint lacks weight " + e.getKey());
                        }
                        NDArray loaded = weights.load(e.getKey(), m);
                        if (!loaded.getShape().equals(e.getValue().getShape())) {
                            throw new IOException(checkpoint + ": weight " + e.getKey() + " has shape "
                                    + loaded.getShape() + ", the model has " + e.getValue().getShape());
                        }
                        e.getValue().set(new NDIndex("..."), loaded.toDevice(e.getValue().getDevice(), false));
                    }
                }
            }
        };
    }

    /** A LoRA adapter on the frozen model. */
    static TrainedWeights adapter(LoraModel lora) {
        return new TrainedWeights() {
            @Override
            public Map<String, NDArray> parameters() {
                return lora.parameters();
            }

            @Override
            public void save(Path dir, Path tokenizerDir) throws IOException {
                lora.save(dir);
                if (tokenizerDir != null) {
                    CausalLm.copyTokenizerFiles(tokenizerDir, dir);
                }
            }

            @Override
            public boolean savedIn(Path dir) {
                return Files.isRegularFile(dir.resolve(LoraModel.WEIGHTS_FILE));
            }

            @Override
            public void restore(Path checkpoint, NDManager scratch) throws IOException {
                lora.loadWeights(checkpoint);
            }

            @Override
            public IntConsumer layerSeeds(long seed) {
                return drawsAtRandom() ? layer -> lora.seedDropout(seed * 131 + layer) : null;
            }

            @Override
            public boolean drawsAtRandom() {
                return lora.config().dropout() > 0;
            }
        };
    }
}
