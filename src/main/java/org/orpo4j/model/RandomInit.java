package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;
import java.util.Random;

/**
 * HF's {@code _init_weights} for every family, with the numbers drawn by {@link Random} (whose Gaussian is
 * specified by the JDK) so a seed gives the same model on every engine and machine.
 */
final class RandomInit {

    private static final double DEFAULT_INITIALIZER_RANGE = 0.02;

    private RandomInit() {}

    static void initialize(CausalLm lm, long seed) {
        ModelConfig config = lm.config();
        double std = config.raw().path("initializer_range").asDouble(DEFAULT_INITIALIZER_RANGE);
        Random random = new Random(seed);
        lm.slots().forEach((name, slot) -> {
            int size = Math.toIntExact(slot.shape().size());
            float[] values = new float[size];
            switch (slot.kind()) {
                case NORM -> Arrays.fill(values, 1f); // RMSNorm weights
                case CENTRED_NORM -> Arrays.fill(values, 0f); // gemma's RMSNorm applies 1 + w
                case BIAS -> Arrays.fill(values, 0f);
                default -> {
                    for (int i = 0; i < size; i++) {
                        values[i] = (float) (random.nextGaussian() * std);
                    }
                }
            }
            Integer pad = config.padTokenId();
            if (name.equals("model.embed_tokens.weight") && pad != null && pad >= 0 && pad < config.vocabSize()) {
                int h = config.hiddenSize();
                Arrays.fill(values, pad * h, (pad + 1) * h, 0f); // nn.Embedding(padding_idx) row
            }
            try (NDArray javaBacked = lm.manager().create(values, slot.shape())) { // a view of a direct buffer
                set(slot, javaBacked.duplicate()); // in libtorch's memory: no direct-buffer limit on model size
            }
        });
    }

    /** Gives a slot its array, tracked for gradients. */
    static void set(Weight slot, NDArray array) {
        array.setRequiresGradient(true);
        slot.set(array);
    }
}
