package org.orpo4j.export;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.orpo4j.model.ModelConfig;

/**
 * What llama.cpp calls a family: its architecture name, the hyper-parameter keys its converter writes (from the
 * config as transformers resolves it, defaults included), the tensor names, and the per-tensor changes it expects
 * (llama's interleaved Q/K rows, gemma's {@code 1 + w} norms stored with the one added, gemma and gemma2 without
 * {@code lm_head}).
 */
enum GgufArch {
    LLAMA("llama"), QWEN2("qwen2"), QWEN3("qwen3"), GEMMA("gemma"), GEMMA2("gemma2"), GEMMA3("gemma3"),
    PHI3("phi3"), SMOLLM3("smollm3");

    final String name;

    GgufArch(String name) {
        this.name = name;
    }

    static GgufArch of(ModelConfig config) {
        return switch (config.modelType()) {
            case "llama", "mistral" -> LLAMA;
            case "qwen2" -> QWEN2;
            case "qwen3" -> QWEN3;
            case "gemma" -> GEMMA;
            case "gemma2" -> GEMMA2;
            case "gemma3_text" -> GEMMA3;
            case "phi3" -> PHI3;
            case "smollm3" -> SMOLLM3;
            default -> throw new IllegalArgumentException("no GGUF mapping for model_type " + config.modelType());
        };
    }

    /** llama.cpp rotates pairs of adjacent dims for these (HF rotates halves): q/k rows are interleaved. */
    boolean permutesQk() {
        return this == LLAMA || this == SMOLLM3;
    }

    boolean gemma() {
        return this == GEMMA || this == GEMMA2 || this == GEMMA3;
    }

    /**
     * Whether transformers' config holds a {@code head_dim} (its class defines one, or config.json states it), which
     * the converter then writes as the key/value length.
     */
    private static boolean statesHeadDim(ModelConfig c) {
        return c.raw().hasNonNull("head_dim") || switch (c.modelType()) {
            case "llama", "mistral", "qwen3", "gemma", "gemma2", "gemma3_text" -> true;
            default -> false;
        };
    }

    /** The hyper-parameter keys, in the converter's order, with its types. */
    void addHyperParameters(GgufMetadata m, ModelConfig c, OutType out) {
        String a = name + ".";
        switch (this) {
            case GEMMA, GEMMA2 -> {
                m.putUint32(a + "context_length", c.maxPositionEmbeddings());
                m.putUint32(a + "embedding_length", c.hiddenSize());
                m.putUint32(a + "block_count", c.numHiddenLayers());
                m.putUint32(a + "feed_forward_length", c.intermediateSize());
                m.putUint32(a + "attention.head_count", c.numAttentionHeads());
                m.putUint32(a + "attention.head_count_kv", c.numKeyValueHeads());
                m.putFloat32(a + "attention.layer_norm_rms_epsilon", c.rmsNormEps());
                m.putUint32(a + "attention.key_length", c.headDim());
                m.putUint32(a + "attention.value_length", c.headDim());
                m.putUint32("general.file_type", out.fileType);
                if (this == GEMMA2) {
                    putIfSet(m, a + "attn_logit_softcapping", c.attnLogitSoftcapping());
                    putIfSet(m, a + "final_logit_softcapping", c.finalLogitSoftcapping());
                    if (c.slidingWindow() != null) {
                        m.putUint32(a + "attention.sliding_window", c.slidingWindow());
                    }
                }
            }
            case PHI3 -> {
                JsonNode raw = c.raw();
                m.putUint32(a + "context_length", c.maxPositionEmbeddings());
                m.putUint32(a + "rope.scaling.original_context_length", originalContext(raw));
                m.putUint32(a + "embedding_length", c.hiddenSize());
                m.putUint32(a + "feed_forward_length", c.intermediateSize());
                m.putUint32(a + "block_count", c.numHiddenLayers());
                m.putUint32(a + "attention.head_count", c.numAttentionHeads());
                m.putUint32(a + "attention.head_count_kv", c.numKeyValueHeads());
                m.putFloat32(a + "attention.layer_norm_rms_epsilon", c.rmsNormEps());
                double pct = raw.path("partial_rotary_factor").asDouble(1.0);
                m.putUint32(a + "rope.dimension_count", (int) (pct * c.hiddenSize()) / c.numAttentionHeads());
                m.putFloat32(a + "rope.freq_base", c.ropeTheta());
                m.putUint32("general.file_type", out.fileType);
                m.putUint32(a + "attention.sliding_window", c.slidingWindow() == null ? 0 : c.slidingWindow());
                JsonNode rs = ropeScaling(raw);
                if (rs.path("long_factor").isArray() && rs.path("long_factor").size() > 0) {
                    double scale = (double) c.maxPositionEmbeddings() / originalContext(raw);
                    String type = rs.path("rope_type").asText(rs.path("type").asText(""));
                    double attn = type.equals("yarn") ? (scale > 1 ? 0.1 * Math.log(scale) + 1 : 1)
                            : scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(originalContext(raw))) : 1;
                    m.putFloat32(a + "rope.scaling.attn_factor", attn);
                }
            }
            default -> textModelParameters(m, c, out);
        }
    }

    /** TextModel.set_gguf_parameters and the llama, qwen and gemma3 additions to it. */
    private void textModelParameters(GgufMetadata m, ModelConfig c, OutType out) {
        String a = name + ".";
        m.putUint32(a + "block_count", c.numHiddenLayers());
        m.putUint32(a + "context_length", c.maxPositionEmbeddings());
        m.putUint32(a + "embedding_length", c.hiddenSize());
        m.putUint32(a + "feed_forward_length", c.intermediateSize());
        m.putUint32(a + "attention.head_count", c.numAttentionHeads());
        m.putUint32(a + "attention.head_count_kv", c.numKeyValueHeads());
        JsonNode rs = ropeScaling(c.raw());
        String type = rs.path("rope_type").asText(rs.path("type").asText(""));
        if (type.equals("linear") && rs.has("factor")) {
            m.putString(a + "rope.scaling.type", "linear");
            m.putFloat32(a + "rope.scaling.factor", rs.get("factor").asDouble());
        } else if (!type.isEmpty() && !type.equals("default") && !type.equals("llama3")) {
            throw new IllegalArgumentException("rope_scaling type '" + type + "' has no GGUF mapping in orpo4j");
        }
        m.putFloat32(a + "rope.freq_base", c.ropeTheta());
        if (this == GEMMA3) {
            m.putFloat32(a + "rope.freq_base_swa", c.slidingRopeTheta());
        }
        m.putFloat32(a + "attention.layer_norm_rms_epsilon", c.rmsNormEps());
        if (statesHeadDim(c)) {
            m.putUint32(a + "attention.key_length", c.headDim());
            m.putUint32(a + "attention.value_length", c.headDim());
        }
        m.putUint32("general.file_type", out.fileType);
        if (this == LLAMA || this == SMOLLM3) {
            m.putUint32(a + "vocab_size", c.vocabSize());
            m.putUint32(a + "rope.dimension_count", c.headDim());
        }
        if (this == GEMMA3) {
            m.putUint32(a + "context_length", c.maxPositionEmbeddings());
            m.putUint32(a + "attention.head_count", c.numAttentionHeads());
            m.putFloat32(a + "attention.layer_norm_rms_epsilon", c.rmsNormEps());
            m.putUint32(a + "attention.key_length", c.headDim());
            m.putUint32(a + "attention.value_length", c.headDim());
            m.putFloat32(a + "rope.freq_base", c.ropeTheta());
            putIfSet(m, a + "final_logit_softcapping", c.finalLogitSoftcapping());
            if (c.slidingWindow() != null) {
                m.putUint32(a + "attention.sliding_window", c.slidingWindow());
            }
            m.putUint32(a + "attention.head_count_kv", c.numKeyValueHeads());
        }
    }

    private static void putIfSet(GgufMetadata m, String key, Double v) {
        if (v != null && v != 0) {
            m.putFloat32(key, v);
        }
    }

    static JsonNode ropeScaling(JsonNode raw) {
        JsonNode rs = raw.path("rope_scaling");
        return rs.isObject() ? rs : raw.path("rope_parameters");
    }

    private static int originalContext(JsonNode raw) {
        JsonNode v = raw.path("original_max_position_embeddings");
        if (v.isNull() || v.isMissingNode()) {
            v = ropeScaling(raw).path("original_max_position_embeddings");
        }
        return v.asInt(4096);
    }

    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)\\.(weight|bias)");
    private static final Map<String, String> LAYER_NAMES = Map.ofEntries(
            Map.entry("input_layernorm", "attn_norm"),
            Map.entry("self_attn.q_proj", "attn_q"), Map.entry("self_attn.k_proj", "attn_k"),
            Map.entry("self_attn.v_proj", "attn_v"), Map.entry("self_attn.o_proj", "attn_output"),
            Map.entry("self_attn.qkv_proj", "attn_qkv"),
            Map.entry("self_attn.q_norm", "attn_q_norm"), Map.entry("self_attn.k_norm", "attn_k_norm"),
            Map.entry("mlp.gate_proj", "ffn_gate"), Map.entry("mlp.up_proj", "ffn_up"),
            Map.entry("mlp.down_proj", "ffn_down"), Map.entry("mlp.gate_up_proj", "ffn_up"),
            Map.entry("pre_feedforward_layernorm", "ffn_norm"),
            Map.entry("post_feedforward_layernorm", "post_ffw_norm"));

    /** llama.cpp's name of a HF tensor, or null for one it does not load (gemma's lm_head, rotary buffers). */
    String tensorName(String hf) {
        switch (hf) {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return this == GEMMA || this == GEMMA2 ? null : "output.weight";
            default: break;
        }
        if (hf.endsWith(".rotary_emb.inv_freq")) {
            return null;
        }
        Matcher mt = LAYER.matcher(hf);
        if (!mt.matches()) {
            throw new IllegalArgumentException("tensor '" + hf + "' has no llama.cpp name for " + name);
        }
        String module = mt.group(2);
        String mapped = module.equals("post_attention_layernorm")
                ? (this == GEMMA2 || this == GEMMA3 ? "post_attention_norm" : "ffn_norm")
                : LAYER_NAMES.get(module);
        if (mapped == null) {
            throw new IllegalArgumentException("tensor '" + hf + "' has no llama.cpp name for " + name);
        }
        return "blk." + mt.group(1) + "." + mapped + "." + mt.group(3);
    }

    /** Gemma's norms compute {@code (1 + w)·x̂}; llama.cpp's compute {@code w·x̂}, so the one is stored. */
    boolean shiftsNorm(String hf) {
        return gemma() && hf.endsWith("norm.weight");
    }
}
