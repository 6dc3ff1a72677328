package org.orpo4j.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Locale;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.precision.MasterWeights;
import org.orpo4j.precision.Precision;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.NativeFeatures;

/**
 * The first thing the GPU check kit runs after building the JNI (docs/gpu.md): which engine and JNI DJL loaded,
 * what it sees, and one forward pass of a small random llama on the GPU against the same on the CPU, in float32
 * and in each half precision available. Exits non-zero when the GPU's float32 logits stray (> 1e-3 of the largest).
 */
public final class GpuSmoke {

    private GpuSmoke() {}

    public static void main(String[] args) {
        Engine engine = DjlRuntime.engine();
        int gpus = DjlRuntime.gpuCount();
        System.out.printf(Locale.ROOT, "engine %s %s, GPUs %d, bf16 %s, differentiable casts %s%n",
                engine.getEngineName(), engine.getVersion(), gpus, NativeFeatures.bfloat16(),
                NativeFeatures.differentiableCasts());
        if (gpus == 0) {
            System.out.println("no GPU visible to PyTorch");
            System.exit(1);
        }
        ModelConfig config = ModelConfig.builder("llama").vocabSize(512).hiddenSize(256).numHiddenLayers(4)
                .numAttentionHeads(8).numKeyValueHeads(4).intermediateSize(512).maxPositionEmbeddings(256)
                .tieWordEmbeddings(false).build();
        long[] ids = new long[2 * 64];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7919L) % 512;
        }
        float[] reference = logits(config, Device.cpu(), Precision.FP32, ids);
        double scale = 0;
        for (float v : reference) {
            scale = Math.max(scale, Math.abs(v));
        }
        boolean ok = true;
        for (Precision p : Precision.values()) {
            if (p == Precision.BF16 && !NativeFeatures.bfloat16()) {
                continue;
            }
            float[] gpu = logits(config, Device.gpu(), p, ids);
            double err = 0;
            for (int i = 0; i < gpu.length; i++) {
                err = Math.max(err, Math.abs(gpu[i] - reference[i]));
            }
            System.out.printf(Locale.ROOT, "GPU %s logits vs CPU float32: max error %.3e of max |logit| %.3e%n", p,
                    err, scale);
            ok &= p != Precision.FP32 || err <= 1e-3 * scale;
        }
        System.exit(ok ? 0 : 1);
    }

    private static float[] logits(ModelConfig config, Device device, Precision precision, long[] ids) {
        try (NDManager manager = DjlRuntime.newManager(device);
                CausalLm lm = CausalLm.random(config, manager, 5);
                MasterWeights half = precision.mixed() ? MasterWeights.install(lm, precision) : null) {
            NDArray input = manager.create(ids, new ai.djl.ndarray.types.Shape(2, 64));
            return lm.forward(input, null).toFloatArray();
        }
    }
}
