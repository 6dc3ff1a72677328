package org.orpo4j.export;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.TensorInfo;

/**
 * The tensors of an export, in the converter's order (generated tensors first, then the checkpoint's), each with
 * its llama.cpp name, shape and type: 1-D tensors, norms and biases float32; matrices the out type, Q8_0 falling
 * back to F16 where a row does not split into blocks of 32.
 */
final class TensorPlanner {

    private final ModelConfig config;
    private final GgufArch arch;
    private final OutType outType;
    private final CheckpointReader reader;
    private final LoraDelta lora;
    private final TokenizerFiles tokenizer;

    TensorPlanner(ModelConfig config, GgufArch arch, OutType outType, CheckpointReader reader, LoraDelta lora,
            TokenizerFiles tokenizer) {
        this.config = config;
        this.arch = arch;
        this.outType = outType;
        this.reader = reader;
        this.lora = lora;
        this.tokenizer = tokenizer;
    }

    List<TensorPlan> plan() {
        List<TensorPlan> plan = new ArrayList<>(generated());
        for (String hf : GgufExport.fileOrder(reader)) {
            String name = arch.tensorName(hf);
            if (name == null) {
                continue;
            }
            TensorInfo info = reader.info(hf);
            long[] shape = info.shape();
            int keepRows = keptRows(hf, shape);
            if (keepRows >= 0) {
                shape = new long[] {keepRows, shape[1]};
            }
            GgmlType type = typeOf(name, shape);
            long[] finalShape = shape;
            plan.add(new TensorPlan(new GgufTensorInfo(name, finalShape, type), () -> values(hf, finalShape)));
        }
        return plan;
    }

    /** Gemma3 drops embedding rows past the tokenizer's vocabulary (-1: keep all). */
    private int keptRows(String hf, long[] shape) {
        if (arch != GgufArch.GEMMA3 || !hf.equals("model.embed_tokens.weight")) {
            return -1;
        }
        int real = java.nio.file.Files.isRegularFile(tokenizer.folder().resolve("tokenizer.model"))
                ? config.vocabSize() // the converter's tokenizer.model vocabulary is vocab_size long
                : tokenizer.model().path("vocab").size() + tokenizer.addedTokens().size();
        return (int) Math.min(real, shape[0]);
    }

    private GgmlType typeOf(String name, long[] shape) {
        if (shape.length <= 1 || name.endsWith("_norm.weight") || !name.endsWith(".weight")) {
            return GgmlType.F32;
        }
        GgmlType t = outType.matrixType;
        if (t == GgmlType.Q8_0 && shape[shape.length - 1] % Q8Blocks.BLOCK != 0) {
            return GgmlType.F16;
        }
        return t;
    }

    private float[] values(String hf, long[] shape) {
        float[] v = reader.readFloats(hf);
        if (shape.length == 2 && v.length != shape[0] * shape[1]) {
            v = java.util.Arrays.copyOf(v, (int) (shape[0] * shape[1]));
        }
        if (lora != null) {
            lora.applyTo(hf, v);
        }
        if (arch.permutesQk()) {
            int cols = shape.length == 2 ? (int) shape[1] : 1;
            if (hf.endsWith("self_attn.q_proj.weight") || hf.endsWith("self_attn.q_proj.bias")) {
                v = QkPermutation.apply(v, config.numAttentionHeads(), cols);
            } else if (hf.endsWith("self_attn.k_proj.weight") || hf.endsWith("self_attn.k_proj.bias")) {
                v = QkPermutation.apply(v, config.numKeyValueHeads(), cols);
            }
        }
        if (arch.shiftsNorm(hf)) {
            for (int i = 0; i < v.length; i++) {
                v[i] += 1f;
            }
        }
        return v;
    }

    /** Tensors the converter computes: llama3's rope factors, phi3's long and short rope factors. */
    private List<TensorPlan> generated() {
        List<TensorPlan> out = new ArrayList<>();
        JsonNode rs = GgufArch.ropeScaling(config.raw());
        String type = rs.path("rope_type").asText(rs.path("type").asText(""));
        if (arch == GgufArch.LLAMA && type.equals("llama3") && config.ropeScaling() != null) {
            float[] f = llama3Factors(config);
            out.add(new TensorPlan(new GgufTensorInfo("rope_freqs.weight", new long[] {f.length}, GgmlType.F32),
                    () -> f));
        }
        if (arch == GgufArch.PHI3 && rs.path("long_factor").isArray() && rs.path("long_factor").size() > 0) {
            for (String which : new String[] {"long", "short"}) {
                JsonNode list = rs.path(which + "_factor");
                float[] f = new float[list.size()];
                for (int i = 0; i < f.length; i++) {
                    f[i] = (float) list.get(i).asDouble();
                }
                out.add(new TensorPlan(new GgufTensorInfo("rope_factors_" + which + ".weight",
                        new long[] {f.length}, GgmlType.F32), () -> f));
            }
        }
        return out;
    }

    /** The converter's per-frequency divisors for llama3 RoPE, computed in float32 as it computes them. */
    static float[] llama3Factors(ModelConfig c) {
        ModelConfig.RopeScaling s = c.ropeScaling();
        int dim = c.headDim();
        float factor = (float) s.factor();
        float low = (float) s.lowFreqFactor();
        float high = (float) s.highFreqFactor();
        float old = s.originalMaxPositionEmbeddings();
        float lowWavelen = old / low;
        float highWavelen = old / high;
        float[] out = new float[dim / 2];
        for (int i = 0; i < out.length; i++) {
            float exponent = (float) (2 * i) / (float) dim;
            float freq = 1f / (float) Math.pow(c.ropeTheta(), exponent);
            float wavelen = (float) (2 * Math.PI) / freq;
            if (wavelen < highWavelen) {
                out[i] = 1;
            } else if (wavelen > lowWavelen) {
                out[i] = factor;
            } else {
                float smooth = (old / wavelen - low) / (high - low);
                out[i] = 1f / ((1 - smooth) / factor + smooth);
            }
        }
        return out;
    }
}
