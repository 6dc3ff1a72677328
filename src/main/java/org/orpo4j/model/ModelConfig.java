package org.orpo4j.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.orpo4j.runtime.AtomicFiles;
import org.orpo4j.runtime.Json;

/**
 * The forward-pass view of a HuggingFace {@code config.json} (llama, mistral, qwen2, qwen3, gemma, gemma2,
 * gemma3_text, phi3, smollm3), with each config class's defaults; the raw JSON is kept so that {@link #save} hands
 * back the user's file unchanged except for the dtype. What a family changes from llama is resolved here, once:
 * the parts its blocks compose ({@link Family}) and each layer's window and RoPE ({@link LayerLayout}).
 *
 * <p>All failures are unchecked: {@link UnsupportedModelException} for a model this forward pass does not implement,
 * {@link IllegalArgumentException} for a missing or malformed field (naming the file and the field),
 * {@link UncheckedIOException} for an unreadable file.
 */
public final class ModelConfig {

    /** The {@code model_type} values orpo4j implements. */
    public static final List<String> SUPPORTED_MODEL_TYPES = Family.MODEL_TYPES;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * The {@code rope_scaling} of type {@code llama3} (Llama 3.1+): low frequencies are divided by {@code factor},
     * high ones kept, the band between interpolated smoothly.
     */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
            int originalMaxPositionEmbeddings) {}

    private final String source;
    private final ObjectNode raw;
    private final Family family;
    private final int vocabSize;
    private final int hiddenSize;
    private final int intermediateSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int numKeyValueHeads;
    private final int headDim;
    private final double rmsNormEps;
    private final double ropeTheta;
    private final int maxPositionEmbeddings;
    private final boolean tieWordEmbeddings;
    private final boolean attentionBias;
    private final boolean oProjBias;
    private final boolean mlpBias;
    private final double attentionScaling;
    private final Double attnLogitSoftcapping;
    private final Double finalLogitSoftcapping;
    private final List<LayerSpec> layers;
    private final Integer bosTokenId;
    private final List<Integer> eosTokenIds;
    private final Integer padTokenId;
    private final String torchDtype;

    private ModelConfig(ObjectNode raw, String source) {
        this.source = source;
        this.raw = raw;
        ConfigFields f = new ConfigFields(raw, source);
        JsonNode type = raw.get("model_type");
        if (type == null || type.isNull()) {
            throw new IllegalArgumentException(source + ": missing required field 'model_type' (supported: "
                    + String.join(", ", SUPPORTED_MODEL_TYPES) + ")");
        }
        this.family = type.isTextual() ? Family.of(type.asText()) : null;
        if (family == null) {
            throw UnsupportedModelException.forModelType(type.asText(), source);
        }
        family.checkActivation(f, source);
        this.vocabSize = f.positiveInt("vocab_size");
        this.hiddenSize = f.positiveInt("hidden_size");
        this.intermediateSize = f.positiveInt("intermediate_size");
        this.numHiddenLayers = f.positiveInt("num_hidden_layers");
        this.numAttentionHeads = f.positiveInt("num_attention_heads");
        Integer kv = f.optInt("num_key_value_heads");
        this.numKeyValueHeads = kv == null ? numAttentionHeads : kv;
        if (numKeyValueHeads <= 0 || numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException(source + ": num_key_value_heads " + numKeyValueHeads
                    + " must be positive and divide num_attention_heads " + numAttentionHeads);
        }
        this.headDim = resolveHeadDim(f);
        this.rmsNormEps = f.optDouble("rms_norm_eps", family.defaultRmsNormEps);
        Integer maxPos = f.optInt("max_position_embeddings");
        this.maxPositionEmbeddings = maxPos == null ? family.defaultMaxPositions : maxPos;
        LayerLayout layout = new LayerLayout(family, f, numHiddenLayers, headDim, maxPositionEmbeddings);
        this.ropeTheta = layout.theta();
        this.layers = List.copyOf(layout.resolve());
        this.tieWordEmbeddings = f.optBool("tie_word_embeddings", family.defaultTied());
        Family.Biases biases = family.biases(f.optBool("attention_bias", false), f.optBool("mlp_bias", false));
        this.attentionBias = biases.attention();
        this.oProjBias = biases.oProj();
        this.mlpBias = biases.mlp();
        this.attentionScaling = Math.pow(family.queryPreAttnScalar() ? f.optDouble("query_pre_attn_scalar", 256)
                : headDim, -0.5);
        this.attnLogitSoftcapping = family.attnLogitSoftcapping(f);
        this.finalLogitSoftcapping = family.finalLogitSoftcapping(f);
        this.bosTokenId = f.optInt("bos_token_id");
        this.eosTokenIds = f.optIntList("eos_token_id");
        this.padTokenId = f.optInt("pad_token_id");
        String dtype = f.optText("torch_dtype", null);
        this.torchDtype = dtype != null ? dtype : f.optText("dtype", null);
    }

    /** Reads and validates {@code configJson}. */
    public static ModelConfig load(Path configJson) {
        JsonNode node;
        try {
            node = Json.untrusted().readTree(Files.readAllBytes(configJson));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(configJson + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(configJson + ": cannot read config: " + e.getMessage(), e);
        }
        if (!(node instanceof ObjectNode obj)) {
            throw new IllegalArgumentException(configJson + ": expected a JSON object");
        }
        return new ModelConfig(obj, configJson.toString());
    }

    /** Validates an already parsed config; {@code source} names it in error messages. */
    public static ModelConfig fromJson(ObjectNode config, String source) {
        return new ModelConfig(config.deepCopy(), source);
    }

    /** The model types whose config class ties the LM head to the embedding unless told otherwise. */
    public static List<String> tiedByDefault() {
        return java.util.Arrays.stream(Family.values()).filter(Family::defaultTied).map(f -> f.modelType).toList();
    }

    /** A builder for tiny test/demo configs of {@code modelType}, pre-filled with small valid sizes. */
    public static Builder builder(String modelType) {
        Family family = Family.of(modelType);
        if (family == null) {
            throw UnsupportedModelException.forModelType(modelType, "ModelConfig.builder");
        }
        return new Builder(family);
    }

    public void save(Path configJson, String torchDtype) {
        ObjectNode out = raw.deepCopy();
        if (torchDtype != null) {
            out.put("torch_dtype", torchDtype);
            if (out.has("dtype")) {
                out.put("dtype", torchDtype);
            }
        }
        try {
            Files.createDirectories(configJson.toAbsolutePath().getParent());
            AtomicFiles.write(configJson, (JSON.writeValueAsString(out) + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(configJson + ": cannot write config: " + e.getMessage(), e);
        }
    }

    public String modelType() { return family.modelType; }
    public int vocabSize() { return vocabSize; }
    public int hiddenSize() { return hiddenSize; }
    public int intermediateSize() { return intermediateSize; }
    public int numHiddenLayers() { return numHiddenLayers; }
    public int numAttentionHeads() { return numAttentionHeads; }
    /** {@code num_key_value_heads}, defaulting to the number of attention heads (plain multi-head attention). */
    public int numKeyValueHeads() { return numKeyValueHeads; }
    /** {@code head_dim} when stated, else the family's default (gemma 256, qwen3 128) or hidden/heads. */
    public int headDim() { return headDim; }
    /** {@code rms_norm_eps}, default 1e-6 (phi3: 1e-5). */
    public double rmsNormEps() { return rmsNormEps; }
    /** {@code rope_theta} of the full-attention layers, with the family's default (10000; gemma3 1e6; smollm3 2e6). */
    public double ropeTheta() { return ropeTheta; }
    /** The llama3 rope scaling of the full-attention layers, or null (plain, linear or longrope RoPE). */
    public RopeScaling ropeScaling() {
        return layers.stream().map(LayerSpec::rope).filter(r -> r != null && r.llama3() != null)
                .map(RopeSpec::llama3).findFirst().orElse(null);
    }
    /** The RoPE base of the sliding-window layers: gemma3's {@code rope_local_base_freq}, else {@link #ropeTheta}. */
    public double slidingRopeTheta() { return layers.stream().filter(l -> l.window() != null && l.rope() != null)
            .mapToDouble(l -> l.rope().theta()).findFirst().orElse(ropeTheta); }
    public int maxPositionEmbeddings() { return maxPositionEmbeddings; }
    /** True when lm_head shares the embedding matrix (then no {@code lm_head.weight} in the checkpoint). */
    public boolean tieWordEmbeddings() { return tieWordEmbeddings; }
    /** Whether q_proj, k_proj and v_proj carry biases (qwen2: always; mistral, phi3: never; else attention_bias). */
    public boolean attentionBias() { return attentionBias; }
    /** Whether o_proj carries a bias: attention_bias where the family has it; qwen2, mistral and phi3 never. */
    public boolean oProjBias() { return oProjBias; }
    /** Whether gate/up/down projections carry biases ({@code mlp_bias} of llama and smollm3; false elsewhere). */
    public boolean mlpBias() { return mlpBias; }
    /** Per-head RMSNorm on queries and keys ({@code q_norm}, {@code k_norm}) before RoPE: qwen3, gemma3. */
    public boolean qkNorm() { return family.qkNorm(); }
    /** PEFT's default LoRA targets for this family, empty where PEFT has none (phi3, smollm3). */
    public List<String> peftLoraTargets() { return family.peftLoraTargets(); }
    /**
     * The attention window of the windowed layers (mistral and phi3 every layer; qwen2/qwen3 with
     * {@code use_sliding_window}; gemma2 even layers; gemma3 all but every 6th), else null; it only matters for
     * sequences longer than the window.
     */
    public Integer slidingWindow() {
        return layers.stream().map(LayerSpec::window).filter(w -> w != null).findFirst().orElse(null);
    }
    /** The score scale: {@code head_dim^-0.5}, or gemma2/gemma3's {@code query_pre_attn_scalar^-0.5}. */
    public double attentionScaling() { return attentionScaling; }
    /** Gemma2's {@code attn_logit_softcapping}: scores become {@code cap·tanh(s/cap)} before the mask; else null. */
    public Double attnLogitSoftcapping() { return attnLogitSoftcapping; }
    /** Gemma2/gemma3's {@code final_logit_softcapping}: logits become {@code cap·tanh(z/cap)}; else null. */
    public Double finalLogitSoftcapping() { return finalLogitSoftcapping; }
    /** Gemma's {@code sqrt(hidden_size)} on the token embeddings, else 1. */
    public double embeddingScale() { return family.gemma() ? Math.sqrt(hiddenSize) : 1; }
    public Integer bosTokenId() { return bosTokenId; }
    /** {@code eos_token_id} as a list (HF allows an int or a list); empty when absent. */
    public List<Integer> eosTokenIds() { return eosTokenIds; }
    public Integer padTokenId() { return padTokenId; }
    /** The {@code torch_dtype} (or newer {@code dtype}) the file states, or null. */
    public String torchDtype() { return torchDtype; }
    /** A copy of the config.json object as read. */
    public ObjectNode raw() { return raw.deepCopy(); }

    Family family() { return family; }

    /** Each decoder layer's window and rotary embedding, in layer order. */
    List<LayerSpec> layers() { return layers; }

    /**
     * True when extending a cache of {@code cached} positions to {@code total} crosses longrope's switch to its
     * long factors: the cached keys were rotated with the short ones, so the prefix is recomputed (as HF's Phi3
     * generation drops its cache there).
     */
    boolean ropeChangesBetween(long cached, long total) {
        return layers.stream().map(LayerSpec::rope).anyMatch(r -> r != null && r.kind() == RopeSpec.Kind.LONGROPE
                && cached > 0 && cached <= r.originalMaxPositions() && total > r.originalMaxPositions());
    }

    @Override
    public String toString() {
        return family.modelType + "(layers=" + numHiddenLayers + ", hidden=" + hiddenSize + ", heads="
                + numAttentionHeads + "/" + numKeyValueHeads + ", head_dim=" + headDim + ", vocab=" + vocabSize + ")";
    }

    private int resolveHeadDim(ConfigFields f) {
        Integer explicit = f.optInt("head_dim");
        if (explicit != null) {
            if (explicit <= 0 || explicit % 2 != 0) {
                throw new IllegalArgumentException(source + ": head_dim " + explicit + " must be positive and even");
            }
            return explicit;
        }
        if (family.defaultHeadDim() > 0) {
            return family.defaultHeadDim();
        }
        if (hiddenSize % numAttentionHeads != 0 || (hiddenSize / numAttentionHeads) % 2 != 0) {
            throw new IllegalArgumentException(source + ": hidden_size " + hiddenSize
                    + " / num_attention_heads " + numAttentionHeads + " is not an even head_dim; state head_dim");
        }
        return hiddenSize / numAttentionHeads;
    }

    /**
     * Tiny configs for tests and demos; writes HF keys into a config.json object (so {@link #save} produces a file
     * transformers loads) and validates it through the same path as {@link #load}.
     */
    public static final class Builder {
        private final ObjectNode node = JsonNodeFactory.instance.objectNode();
        private final Family family;
        private boolean headDimSet;
        private boolean scalarSet;

        private Builder(Family family) {
            this.family = family;
            node.putArray("architectures").add(family.architecture);
            node.put("model_type", family.modelType);
            node.put(family.activationField(),
                    family.activation() == MlpActivation.GELU_TANH ? "gelu_pytorch_tanh" : "silu");
            node.put("vocab_size", 128);
            node.put("hidden_size", 64);
            node.put("intermediate_size", 128);
            node.put("num_hidden_layers", 2);
            node.put("num_attention_heads", 4);
            node.put("num_key_value_heads", 2);
            if (family.defaultHeadDim() > 0) {
                node.put("head_dim", 16); // the config class would default to 128 (qwen3) or 256 (gemma)
            }
            node.put("rms_norm_eps", family.defaultRmsNormEps);
            node.put("rope_theta", family.defaultRopeTheta);
            node.putNull("rope_scaling");
            node.put("max_position_embeddings", 256);
            node.put("tie_word_embeddings", family.defaultTied());
            node.put("bos_token_id", 1);
            node.put("eos_token_id", 2);
            node.put("torch_dtype", "float32");
        }

        public Builder vocabSize(int v) { node.put("vocab_size", v); return this; }
        public Builder hiddenSize(int v) { node.put("hidden_size", v); return this; }
        public Builder intermediateSize(int v) { node.put("intermediate_size", v); return this; }
        public Builder numHiddenLayers(int v) { node.put("num_hidden_layers", v); return this; }
        public Builder numAttentionHeads(int v) { node.put("num_attention_heads", v); return this; }
        public Builder numKeyValueHeads(int v) { node.put("num_key_value_heads", v); return this; }
        /** An explicit head_dim (else hidden/heads; qwen3 and gemma builders pre-fill 16). */
        public Builder headDim(int v) { node.put("head_dim", v); headDimSet = true; return this; }

        /**
         * head_dim = hidden / heads, written out where the family's config class would default it to a constant
         * (qwen3 128, gemma 256) that a small model's sizes do not fit; nothing for the other families.
         */
        public Builder headDimFromHeads() {
            if (family.defaultHeadDim() > 0 && !headDimSet) {
                node.put("head_dim", node.path("hidden_size").asInt() / Math.max(1, node.path("num_attention_heads").asInt(1)));
            }
            return this;
        }
        public Builder rmsNormEps(double v) { node.put("rms_norm_eps", v); return this; }
        public Builder ropeTheta(double v) { node.put("rope_theta", v); return this; }
        public Builder maxPositionEmbeddings(int v) { node.put("max_position_embeddings", v); return this; }
        public Builder tieWordEmbeddings(boolean v) { node.put("tie_word_embeddings", v); return this; }
        public Builder attentionBias(boolean v) { node.put("attention_bias", v); return this; }
        public Builder mlpBias(boolean v) { node.put("mlp_bias", v); return this; }
        public Builder bosTokenId(Integer v) { putNullable("bos_token_id", v); return this; }
        public Builder padTokenId(Integer v) { putNullable("pad_token_id", v); return this; }
        public Builder torchDtype(String v) { node.put("torch_dtype", v); return this; }
        /** Any other config.json field, as the family's config class reads it (windows, soft-caps, layer lists). */
        public Builder set(String field, JsonNode v) {
            node.set(field, v);
            headDimSet |= field.equals("head_dim");
            scalarSet |= field.equals("query_pre_attn_scalar");
            return this;
        }

        /**
         * The tokenizer's special-token ids (empty: the config has none), so that generation stops at the
         * tokenizer's EOS: {@code specialTokens(tokenizer.bosId(), tokenizer.eosId(), tokenizer.declaredPadId())}.
         */
        public Builder specialTokens(OptionalLong bos, OptionalLong eos, OptionalLong pad) {
            bosTokenId(bos.isPresent() ? Math.toIntExact(bos.getAsLong()) : null);
            padTokenId(pad.isPresent() ? Math.toIntExact(pad.getAsLong()) : null);
            return eos.isPresent() ? eosTokenIds(Math.toIntExact(eos.getAsLong())) : eosTokenIds();
        }

        /** One id is written as an int, several as a list (both forms occur in HF configs). */
        public Builder eosTokenIds(int... ids) {
            if (ids.length == 1) {
                node.put("eos_token_id", ids[0]);
            } else {
                ArrayNode arr = node.putArray("eos_token_id");
                for (int id : ids) {
                    arr.add(id);
                }
            }
            return this;
        }

        /** A llama3 rope scaling (null: plain RoPE). */
        public Builder ropeScaling(RopeScaling s) {
            if (s == null) {
                node.putNull("rope_scaling");
            } else {
                ObjectNode r = node.putObject("rope_scaling");
                r.put("rope_type", "llama3");
                r.put("factor", s.factor());
                r.put("low_freq_factor", s.lowFreqFactor());
                r.put("high_freq_factor", s.highFreqFactor());
                r.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
            }
            return this;
        }

        /** Validates and builds; gemma2/3 scale scores by head_dim unless {@code query_pre_attn_scalar} was set. */
        public ModelConfig build() {
            ObjectNode out = node.deepCopy();
            if (family.queryPreAttnScalar() && !scalarSet) {
                int heads = Math.max(1, out.path("num_attention_heads").asInt(1));
                out.put("query_pre_attn_scalar", out.has("head_dim") ? out.get("head_dim").asInt()
                        : out.path("hidden_size").asInt() / heads);
            }
            return new ModelConfig(out, "ModelConfig.builder(" + family.modelType + ")");
        }

        private void putNullable(String field, Integer v) {
            if (v == null) {
                node.putNull(field);
            } else {
                node.put(field, v);
            }
        }
    }
}
