package org.orpo4j.export;

import java.io.IOException;
import java.nio.file.Path;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.safetensors.SafetensorsFile;

/**
 * A PEFT LoRA adapter folded into the weights one tensor at a time, {@code W += s·B·A} as {@link LoraModel#merge}
 * does (the product summed in double, then scaled and added in float32), so an export never holds the model.
 */
final class LoraDelta implements AutoCloseable {

    private final LoraConfig config;
    private final SafetensorsFile weights;
    private final float scaling;

    private LoraDelta(LoraConfig config, SafetensorsFile weights) {
        this.config = config;
        this.weights = weights;
        this.scaling = (float) config.scaling();
    }

    /** The adapter in {@code adapterDir}, checked against the base's config (targets, shapes, keys). */
    static LoraDelta open(Path adapterDir, ModelConfig base) throws IOException {
        LoraConfig config = LoraModel.check(adapterDir, base);
        return new LoraDelta(config, SafetensorsFile.open(adapterDir.resolve(LoraModel.WEIGHTS_FILE)));
    }

    LoraConfig config() {
        return config;
    }

    /** Adds the adapter's update to {@code w} ([out, in], row-major) when it targets the tensor {@code hfName}. */
    void applyTo(String hfName, float[] w) {
        if (!hfName.endsWith(".weight")) {
            return;
        }
        String layer = hfName.substring(0, hfName.length() - ".weight".length());
        if (!config.targets(layer) || !weights.tensors().containsKey(LoraModel.key(layer, "lora_A.weight"))) {
            return;
        }
        float[] a = weights.readFloats(LoraModel.key(layer, "lora_A.weight")); // [r, in]
        float[] b = weights.readFloats(LoraModel.key(layer, "lora_B.weight")); // [out, r]
        int r = config.r();
        int in = a.length / r;
        int out = b.length / r;
        if ((long) in * out != w.length) {
            throw new IllegalArgumentException(hfName + ": adapter shapes do not fit the weight");
        }
        double[] row = new double[in];
        for (int o = 0; o < out; o++) {
            java.util.Arrays.fill(row, 0);
            for (int k = 0; k < r; k++) {
                double bk = b[o * r + k];
                for (int i = 0; i < in; i++) {
                    row[i] += bk * a[k * in + i];
                }
            }
            for (int i = 0; i < in; i++) {
                w[o * in + i] += (float) row[i] * scaling;
            }
        }
    }

    @Override
    public void close() {
        weights.close();
    }
}
