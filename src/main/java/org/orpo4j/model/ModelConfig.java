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
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The forward-pass view of a HuggingFace {@code config.json} for the LlamaForCausalLM family (llama, mistral, qwen2,
 * qwen3), with HF's per-family defaults; the raw JSON is kept so that {@link #save} hands back the user's file
 * unchanged except for the dtype.
 *
 * <p>All failures are unchecked: {@link UnsupportedModelException} for a model this forward pass does not implement,
 * {@link IllegalArgumentException} for a missing or malformed field (naming the file and the field),
 * {@link UncheckedIOException} for an unreadable file.
 */
public final class ModelConfig {

    /** The {@code model_type} values orpo4j implements. */
    public static final List<String> SUPPORTED_MODEL_TYPES = List.of("llama", "mistral", "qwen2", "qwen3");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Map<String, String> ARCHITECTURES = Map.of(
            "llama", "LlamaForCausalLM",
            "mistral", "MistralForCausalLM",
            "qwen2", "Qwen2ForCausalLM",
            "qwen3", "Qwen3ForCausalLM");
    /** HF's {@code max_position_embeddings} default per family (used only when the file omits it). */
    private static final Map<String, Integer> DEFAULT_MAX_POSITIONS = Map.of(
            "llama", 2048, "mistral", 4096 * 32, "qwen2", 32768, "qwen3", 32768);
    /** Qwen3Config's {@code head_dim} default: 128, not hidden/heads. */
    private static final int QWEN3_DEFAULT_HEAD_DIM = 128;

    /**
     * The {@code rope_scaling} of type {@code llama3} (Llama 3.1+): low frequencies are divided by {@code factor},
     * high ones kept, the band between interpolated smoothly.
     */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
            int originalMaxPositionEmbeddings) {}

    private final String source;
    private final ObjectNode raw;
    private final String modelType;
    private final int vocabSize;
    private final int hiddenSize;
    private final int intermediateSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int numKeyValueHeads;
    private final int headDim;
    private final double rmsNormEps;
    private final double ropeTheta;
    private final RopeScaling ropeScaling;
    private final int maxPositionEmbeddings;
    private final boolean tieWordEmbeddings;
    private final boolean attentionBias;
    private final boolean oProjBias;
    private final boolean mlpBias;
    private final boolean qkNorm;
    private final Integer slidingWindow;
    private final Integer bosTokenId;
    private final List<Integer> eosTokenIds;
    private final Integer padTokenId;
    private final String torchDtype;

    private ModelConfig(ObjectNode raw, String source) {
        this.source = source;
        this.raw = raw;
        JsonNode type = raw.get("model_type");
        if (type == null || type.isNull()) {
            throw new IllegalArgumentException(source + ": missing required field 'model_type' (supported: "
                    + String.join(", ", SUPPORTED_MODEL_TYPES) + ")");
        }
        if (!type.isTextual() || !SUPPORTED_MODEL_TYPES.contains(type.asText())) {
            throw UnsupportedModelException.forModelType(type.asText(), source);
        }
        this.modelType = type.asText();
        String act = optText("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new UnsupportedModelException(modelType, source + ": hidden_act '" + act
                    + "' is not supported (supported: silu)");
        }
        this.vocabSize = positiveInt("vocab_size");
        this.hiddenSize = positiveInt("hidden_size");
        this.intermediateSize = positiveInt("intermediate_size");
        this.numHiddenLayers = positiveInt("num_hidden_layers");
        this.numAttentionHeads = positiveInt("num_attention_heads");
        Integer kv = optInt("num_key_value_heads");
        this.numKeyValueHeads = kv == null ? numAttentionHeads : kv;
        if (numKeyValueHeads <= 0 || numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException(source + ": num_key_value_heads " + numKeyValueHeads
                    + " must be positive and divide num_attention_heads " + numAttentionHeads);
        }
        this.headDim = resolveHeadDim();
        this.rmsNormEps = optDouble(raw, "rms_norm_eps", 1e-6);
        JsonNode ropeParameters = raw.get("rope_parameters"); // transformers >= 5 moves rope_theta/type here
        double theta = optDouble(raw, "rope_theta", Double.NaN);
        if (Double.isNaN(theta) && ropeParameters instanceof ObjectNode rp) {
            theta = optDouble(rp, "rope_theta", Double.NaN);
        }
        this.ropeTheta = Double.isNaN(theta) ? 10000.0 : theta;
        if (!(ropeTheta > 0)) {
            throw new IllegalArgumentException(source + ": rope_theta must be positive, got " + ropeTheta);
        }
        JsonNode scaling = raw.get("rope_scaling");
        this.ropeScaling = parseRopeScaling(scaling != null && !scaling.isNull() ? scaling : ropeParameters,
                scaling != null && !scaling.isNull() ? "rope_scaling" : "rope_parameters");
        Integer maxPos = optInt("max_position_embeddings");
        this.maxPositionEmbeddings = maxPos == null ? DEFAULT_MAX_POSITIONS.get(modelType) : maxPos;
        this.tieWordEmbeddings = optBool("tie_word_embeddings", false);
        boolean biasField = optBool("attention_bias", false);
        switch (modelType) {
            case "qwen2" -> { // Qwen2Attention: q/k/v always biased, o_proj never
                this.attentionBias = true;
                this.oProjBias = false;
            }
            case "mistral" -> { // MistralAttention ignores attention_bias: no biases at all
                this.attentionBias = false;
                this.oProjBias = false;
            }
            default -> { // llama, qwen3: attention_bias applies to q, k, v and o
                this.attentionBias = biasField;
                this.oProjBias = biasField;
            }
        }
        this.mlpBias = modelType.equals("llama") && optBool("mlp_bias", false);
        this.qkNorm = modelType.equals("qwen3");
        this.slidingWindow = resolveSlidingWindow();
        this.bosTokenId = optInt("bos_token_id");
        this.eosTokenIds = parseEos();
        this.padTokenId = optInt("pad_token_id");
        String dtype = optText("torch_dtype", null);
        this.torchDtype = dtype != null ? dtype : optText("dtype", null);
    }

    /** Reads and validates {@code configJson}. */
    public static ModelConfig load(Path configJson) {
        JsonNode node;
        try {
            node = JSON.readTree(Files.readAllBytes(configJson));
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

    /** A builder for tiny test/demo configs of {@code modelType}, pre-filled with small valid sizes. */
    public static Builder builder(String modelType) {
        if (!SUPPORTED_MODEL_TYPES.contains(modelType)) {
            throw UnsupportedModelException.forModelType(modelType, "ModelConfig.builder");
        }
        return new Builder(modelType);
    }

    /**
     * Writes the raw config back to {@code configJson} (atomically) with only {@code torch_dtype} (and
     * {@code dtype}, if the file has that newer key) replaced; a null {@code torchDtype} writes it unchanged.
     */
    public void save(Path configJson, String torchDtype) {
        ObjectNode out = raw.deepCopy();
        if (torchDtype != null) {
            out.put("torch_dtype", torchDtype);
            if (out.has("dtype")) {
                out.put("dtype", torchDtype);
            }
        }
        Path tmp = configJson.resolveSibling(configJson.getFileName() + ".tmp");
        try {
            Path parent = configJson.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.write(tmp, (JSON.writeValueAsString(out) + "\n").getBytes(StandardCharsets.UTF_8));
            try {
                Files.move(tmp, configJson, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, configJson, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(configJson + ": cannot write config: " + e.getMessage(), e);
        }
    }

    public String modelType() { return modelType; }
    public int vocabSize() { return vocabSize; }
    public int hiddenSize() { return hiddenSize; }
    public int intermediateSize() { return intermediateSize; }
    public int numHiddenLayers() { return numHiddenLayers; }
    public int numAttentionHeads() { return numAttentionHeads; }
    /** {@code num_key_value_heads}, defaulting to the number of attention heads (plain multi-head attention). */
    public int numKeyValueHeads() { return numKeyValueHeads; }
    /** {@code head_dim} when stated, else hidden/heads (qwen3: HF's default 128). */
    public int headDim() { return headDim; }
    public double rmsNormEps() { return rmsNormEps; }
    /** {@code rope_theta}, default 10000. */
    public double ropeTheta() { return ropeTheta; }
    /** The llama3 rope scaling, or null for plain RoPE. */
    public RopeScaling ropeScaling() { return ropeScaling; }
    public int maxPositionEmbeddings() { return maxPositionEmbeddings; }
    /** True when lm_head shares the embedding matrix (then no {@code lm_head.weight} in the checkpoint). */
    public boolean tieWordEmbeddings() { return tieWordEmbeddings; }
    /** Whether q_proj, k_proj and v_proj carry biases (qwen2: always; mistral: never; else attention_bias). */
    public boolean attentionBias() { return attentionBias; }
    /** Whether o_proj carries a bias: llama/qwen3 follow attention_bias, qwen2 and mistral never do. */
    public boolean oProjBias() { return oProjBias; }
    /** Whether gate/up/down projections carry biases (llama's mlp_bias; false for the other families). */
    public boolean mlpBias() { return mlpBias; }
    /** Qwen3's per-head RMSNorm on queries and keys ({@code q_norm}, {@code k_norm}) before RoPE. */
    public boolean qkNorm() { return qkNorm; }
    /**
     * The attention window when the family applies one (mistral's {@code sliding_window}; qwen2/qwen3 only with
     * {@code use_sliding_window}), else null; it only matters for sequences longer than the window.
     */
    public Integer slidingWindow() { return slidingWindow; }
    public Integer bosTokenId() { return bosTokenId; }
    /** {@code eos_token_id} as a list (HF allows an int or a list); empty when absent. */
    public List<Integer> eosTokenIds() { return eosTokenIds; }
    public Integer padTokenId() { return padTokenId; }
    /** The {@code torch_dtype} (or newer {@code dtype}) the file states, or null. */
    public String torchDtype() { return torchDtype; }
    /** A copy of the config.json object as read. */
    public ObjectNode raw() { return raw.deepCopy(); }

    @Override
    public String toString() {
        return modelType + "(layers=" + numHiddenLayers + ", hidden=" + hiddenSize + ", heads=" + numAttentionHeads
                + "/" + numKeyValueHeads + ", head_dim=" + headDim + ", vocab=" + vocabSize + ")";
    }

    private int resolveHeadDim() {
        Integer explicit = optInt("head_dim");
        if (explicit != null) {
            if (explicit <= 0 || explicit % 2 != 0) {
                throw new IllegalArgumentException(source + ": head_dim " + explicit + " must be positive and even");
            }
            return explicit;
        }
        if (modelType.equals("qwen3")) {
            return QWEN3_DEFAULT_HEAD_DIM;
        }
        if (hiddenSize % numAttentionHeads != 0 || (hiddenSize / numAttentionHeads) % 2 != 0) {
            throw new IllegalArgumentException(source + ": hidden_size " + hiddenSize
                    + " / num_attention_heads " + numAttentionHeads + " is not an even head_dim; state head_dim");
        }
        return hiddenSize / numAttentionHeads;
    }

    private RopeScaling parseRopeScaling(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(source + ": " + field + " must be an object or null");
        }
        String type = node.hasNonNull("rope_type") ? node.get("rope_type").asText()
                : node.hasNonNull("type") ? node.get("type").asText() : null;
        if (type == null || type.equals("default")) {
            return null;
        }
        if (!type.equals("llama3")) {
            throw new UnsupportedModelException(modelType, source + ": " + field + " type '" + type
                    + "' is not supported (supported: llama3, default)");
        }
        String prefix = field + ".";
        double factor = requiredDouble(node, "factor", prefix);
        double low = requiredDouble(node, "low_freq_factor", prefix);
        double high = requiredDouble(node, "high_freq_factor", prefix);
        JsonNode orig = node.get("original_max_position_embeddings");
        if (orig == null || orig.isNull()) {
            throw missing(prefix + "original_max_position_embeddings");
        }
        if (!(factor > 0) || !(low > 0) || !(high > low)) {
            throw new IllegalArgumentException(source + ": " + field
                    + " needs factor > 0 and high_freq_factor > low_freq_factor > 0");
        }
        return new RopeScaling(factor, low, high, asInt(orig, prefix + "original_max_position_embeddings"));
    }

    private Integer resolveSlidingWindow() {
        if (modelType.equals("mistral")) {
            return optInt("sliding_window");
        }
        if ((modelType.equals("qwen2") || modelType.equals("qwen3")) && optBool("use_sliding_window", false)) {
            return optInt("sliding_window");
        }
        return null;
    }

    private List<Integer> parseEos() {
        JsonNode eos = raw.get("eos_token_id");
        if (eos == null || eos.isNull()) {
            return List.of();
        }
        if (eos.isArray()) {
            List<Integer> ids = new ArrayList<>();
            for (JsonNode id : eos) {
                ids.add(asInt(id, "eos_token_id"));
            }
            return Collections.unmodifiableList(ids);
        }
        return List.of(asInt(eos, "eos_token_id"));
    }

    private int positiveInt(String field) {
        JsonNode node = raw.get(field);
        if (node == null || node.isNull()) {
            throw missing(field);
        }
        int value = asInt(node, field);
        if (value <= 0) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be positive, got " + value);
        }
        return value;
    }

    private Integer optInt(String field) {
        JsonNode node = raw.get(field);
        return node == null || node.isNull() ? null : asInt(node, field);
    }

    private int asInt(JsonNode node, String field) {
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be an integer, got " + node);
        }
        return node.intValue();
    }

    private double optDouble(JsonNode obj, String field, double fallback) {
        JsonNode node = obj.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isNumber()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be a number, got " + node);
        }
        return node.doubleValue();
    }

    private double requiredDouble(JsonNode obj, String field, String prefix) {
        JsonNode node = obj.get(field);
        if (node == null || node.isNull()) {
            throw missing(prefix + field);
        }
        if (!node.isNumber()) {
            throw new IllegalArgumentException(source + ": field '" + prefix + field + "' must be a number, got "
                    + node);
        }
        return node.doubleValue();
    }

    private boolean optBool(String field, boolean fallback) {
        JsonNode node = raw.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isBoolean()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be true or false, got " + node);
        }
        return node.booleanValue();
    }

    private String optText(String field, String fallback) {
        JsonNode node = raw.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isTextual()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be a string, got " + node);
        }
        return node.asText();
    }

    private IllegalArgumentException missing(String field) {
        return new IllegalArgumentException(source + ": missing required field '" + field + "'");
    }

    /**
     * Tiny configs for tests and demos; writes HF keys into a config.json object (so {@link #save} produces a file
     * transformers loads) and validates it through the same path as {@link #load}.
     */
    public static final class Builder {
        private final ObjectNode node = JsonNodeFactory.instance.objectNode();

        private Builder(String modelType) {
            node.putArray("architectures").add(ARCHITECTURES.get(modelType));
            node.put("model_type", modelType);
            node.put("hidden_act", "silu");
            node.put("vocab_size", 128);
            node.put("hidden_size", 64);
            node.put("intermediate_size", 128);
            node.put("num_hidden_layers", 2);
            node.put("num_attention_heads", 4);
            node.put("num_key_value_heads", 2);
            if (modelType.equals("qwen3")) {
                node.put("head_dim", 16); // Qwen3Config would otherwise default to 128
            }
            node.put("rms_norm_eps", 1e-6);
            node.put("rope_theta", 10000.0);
            node.putNull("rope_scaling");
            node.put("max_position_embeddings", 256);
            node.put("tie_word_embeddings", false);
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
        /** An explicit head_dim (else hidden/heads; the qwen3 builder pre-fills 16, as Qwen3Config defaults to 128). */
        public Builder headDim(int v) { node.put("head_dim", v); return this; }
        public Builder rmsNormEps(double v) { node.put("rms_norm_eps", v); return this; }
        public Builder ropeTheta(double v) { node.put("rope_theta", v); return this; }
        public Builder maxPositionEmbeddings(int v) { node.put("max_position_embeddings", v); return this; }
        public Builder tieWordEmbeddings(boolean v) { node.put("tie_word_embeddings", v); return this; }
        public Builder attentionBias(boolean v) { node.put("attention_bias", v); return this; }
        public Builder mlpBias(boolean v) { node.put("mlp_bias", v); return this; }
        public Builder bosTokenId(Integer v) { putNullable("bos_token_id", v); return this; }
        public Builder padTokenId(Integer v) { putNullable("pad_token_id", v); return this; }
        public Builder torchDtype(String v) { node.put("torch_dtype", v); return this; }

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

        public ModelConfig build() {
            return new ModelConfig(node.deepCopy(), "ModelConfig.builder(" + node.get("model_type").asText() + ")");
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
