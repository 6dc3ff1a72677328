package org.orpo4j.model;

import java.util.Arrays;
import java.util.List;

/**
 * A supported {@code model_type}: what it changes from llama, each change a part the blocks compose (transformers'
 * modular files are the model), and the defaults its config class gives fields a config.json may omit.
 */
enum Family {
    LLAMA("llama", "LlamaForCausalLM", 2048, 10000.0, 1e-6),
    MISTRAL("mistral", "MistralForCausalLM", 4096 * 32, 10000.0, 1e-6),
    QWEN2("qwen2", "Qwen2ForCausalLM", 32768, 10000.0, 1e-6),
    QWEN3("qwen3", "Qwen3ForCausalLM", 32768, 10000.0, 1e-6),
    /** Scaled embeddings, (1 + w) norms, GeGLU, tied head, head_dim 256. */
    GEMMA("gemma", "GemmaForCausalLM", 8192, 10000.0, 1e-6),
    /** Gemma plus sandwich norms, query_pre_attn_scalar, attention and final soft-caps, windows on even layers. */
    GEMMA2("gemma2", "Gemma2ForCausalLM", 8192, 10000.0, 1e-6),
    /** Gemma2's layer plus q/k norms, local/global layers with their own RoPE base; no attention soft-cap. */
    GEMMA3_TEXT("gemma3_text", "Gemma3ForCausalLM", 131072, 1_000_000.0, 1e-6),
    /** Fused qkv_proj and gate_up_proj, partial rotary, longrope, windows on every layer. */
    PHI3("phi3", "Phi3ForCausalLM", 4096, 10000.0, 1e-5),
    /** Llama with layers that skip RoPE. */
    SMOLLM3("smollm3", "SmolLM3ForCausalLM", 32768, 2_000_000.0, 1e-6);

    final String modelType;
    final String architecture;
    final int defaultMaxPositions;
    final double defaultRopeTheta;
    final double defaultRmsNormEps;

    Family(String modelType, String architecture, int defaultMaxPositions, double defaultRopeTheta,
            double defaultRmsNormEps) {
        this.modelType = modelType;
        this.architecture = architecture;
        this.defaultMaxPositions = defaultMaxPositions;
        this.defaultRopeTheta = defaultRopeTheta;
        this.defaultRmsNormEps = defaultRmsNormEps;
    }

    static final List<String> MODEL_TYPES = Arrays.stream(values()).map(f -> f.modelType).toList();

    static Family of(String modelType) {
        for (Family f : values()) {
            if (f.modelType.equals(modelType)) {
                return f;
            }
        }
        return null;
    }

    boolean gemma() {
        return this == GEMMA || this == GEMMA2 || this == GEMMA3_TEXT;
    }

    /** Post-attention and pre/post feed-forward norms around each sublayer (gemma2, gemma3). */
    boolean sandwichNorms() {
        return this == GEMMA2 || this == GEMMA3_TEXT;
    }

    RmsNorm.Style normStyle() {
        return gemma() ? RmsNorm.Style.ONE_PLUS_WEIGHT : RmsNorm.Style.WEIGHT;
    }

    MlpActivation activation() {
        return gemma() ? MlpActivation.GELU_TANH : MlpActivation.SILU;
    }

    /** qkv_proj and gate_up_proj as single matrices (phi3). */
    boolean fusedProjections() {
        return this == PHI3;
    }

    /** Per-head RMSNorm on queries and keys before RoPE (qwen3, gemma3). */
    boolean qkNorm() {
        return this == QWEN3 || this == GEMMA3_TEXT;
    }

    /** The config class's {@code tie_word_embeddings} default. */
    boolean defaultTied() {
        return gemma() || this == SMOLLM3;
    }

    /** The config class's explicit {@code head_dim} default, or 0 where it is hidden / heads. */
    int defaultHeadDim() {
        return gemma() ? 256 : this == QWEN3 ? 128 : 0;
    }

    /** Which projections carry a bias: q/k/v ({@code attention}), o_proj, and the MLP's. */
    record Biases(boolean attention, boolean oProj, boolean mlp) {}

    /**
     * The biases its attention and MLP classes create from the config's {@code attention_bias} and
     * {@code mlp_bias}: qwen2 always biases q/k/v and never o_proj; mistral and phi3 have no bias at all; only
     * llama and smollm3 read {@code mlp_bias}.
     */
    Biases biases(boolean attentionBias, boolean mlpBias) {
        boolean mlp = (this == LLAMA || this == SMOLLM3) && mlpBias;
        return switch (this) {
            case QWEN2 -> new Biases(true, false, mlp);
            case MISTRAL, PHI3 -> new Biases(false, false, mlp);
            default -> new Biases(attentionBias, attentionBias, mlp);
        };
    }

    /** Whether attention scores are scaled by {@code query_pre_attn_scalar^-0.5} instead of head_dim's (gemma2/3). */
    boolean queryPreAttnScalar() {
        return this == GEMMA2 || this == GEMMA3_TEXT;
    }

    /** The attention logit soft-cap its config class applies (gemma2: 50 by default; gemma3 stores one, unused). */
    Double attnLogitSoftcapping(ConfigFields f) {
        return this == GEMMA2 ? f.optSoftcap("attn_logit_softcapping", 50.0) : null;
    }

    /** The final logit soft-cap (gemma2: 30 by default; gemma3: none unless set). */
    Double finalLogitSoftcapping(ConfigFields f) {
        return this == GEMMA2 ? f.optSoftcap("final_logit_softcapping", 30.0)
                : this == GEMMA3_TEXT ? f.optSoftcap("final_logit_softcapping", null) : null;
    }

    /**
     * PEFT's default LoRA targets for it ({@code TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING}): q_proj and
     * v_proj, or none for phi3 and smollm3, where PEFT asks for them.
     */
    List<String> peftLoraTargets() {
        return this == PHI3 || this == SMOLLM3 ? List.of() : List.of("q_proj", "v_proj");
    }

    /** Refuses a config whose activation field names another function than the family's forward computes. */
    void checkActivation(ConfigFields f, String source) {
        boolean gelu = activation() == MlpActivation.GELU_TANH;
        String act = f.optText(activationField(), gelu ? "gelu_pytorch_tanh" : "silu");
        // GemmaConfig maps "gelu" to the tanh approximation the checkpoints were trained with
        boolean ok = gelu ? act.equals("gelu_pytorch_tanh") || (this == GEMMA && act.equals("gelu"))
                : act.equals("silu");
        if (!ok) {
            throw new UnsupportedModelException(modelType, source + ": " + activationField() + " '" + act
                    + "' is not supported for " + modelType + " (supported: " + (gelu ? "gelu_pytorch_tanh" : "silu")
                    + ")");
        }
    }

    /** The activation field the MLP reads and what it must say. */
    String activationField() {
        return this == GEMMA2 || this == GEMMA3_TEXT ? "hidden_activation" : "hidden_act";
    }
}
