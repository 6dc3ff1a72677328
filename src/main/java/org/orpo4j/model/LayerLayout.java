package org.orpo4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Resolves, once per config, the {@link LayerSpec} of every decoder layer the way transformers' config classes and
 * rope functions do: which layers slide (an explicit {@code layer_types}, else the family's rule) and which RoPE
 * each uses (gemma3's local and global bases, smollm3's layers without RoPE, phi3's partial rotary and longrope).
 */
final class LayerLayout {

    private final Family family;
    private final ConfigFields f;
    private final int layers;
    private final int headDim;
    private final int maxPositions;

    LayerLayout(Family family, ConfigFields fields, int layers, int headDim, int maxPositions) {
        this.family = family;
        this.f = fields;
        this.layers = layers;
        this.headDim = headDim;
        this.maxPositions = maxPositions;
    }

    /** The stated {@code rope_theta} (or transformers 5's {@code rope_parameters.rope_theta}), else the default. */
    double theta() {
        double theta = f.optDouble("rope_theta", Double.NaN);
        if (Double.isNaN(theta) && f.raw.get("rope_parameters") instanceof ObjectNode rp) {
            JsonNode full = rp.get("full_attention"); // gemma3 in transformers 5: one entry per layer type
            theta = f.optDouble(full instanceof ObjectNode ? full : rp, "rope_theta", Double.NaN);
        }
        theta = Double.isNaN(theta) ? family.defaultRopeTheta : theta;
        if (!(theta > 0)) {
            throw new IllegalArgumentException(f.source + ": rope_theta must be positive, got " + theta);
        }
        return theta;
    }

    List<LayerSpec> resolve() {
        Integer window = window();
        boolean[] sliding = slidingLayers(window);
        RopeSpec global = rope(theta(), scalingNode(), scalingField(), rotaryDim());
        RopeSpec local = family == Family.GEMMA3_TEXT ? RopeSpec.plain(localTheta(), headDim) : global;
        boolean[] usesRope = usesRope();
        List<LayerSpec> out = new ArrayList<>(layers);
        for (int i = 0; i < layers; i++) {
            RopeSpec rope = !usesRope[i] ? null : sliding[i] ? local : global;
            out.add(new LayerSpec(sliding[i] ? window : null, rope));
        }
        return out;
    }

    /** The window of the sliding layers: qwen and smollm3 only with use_sliding_window, gemma2/3 default 4096. */
    private Integer window() {
        Integer w = f.optInt("sliding_window");
        w = switch (family) {
            case QWEN2, QWEN3, SMOLLM3 -> f.optBool("use_sliding_window", false) ? w : null;
            case GEMMA2, GEMMA3_TEXT -> f.has("sliding_window") ? w : Integer.valueOf(4096);
            default -> w;
        };
        if (w != null && w <= 0) {
            throw new IllegalArgumentException(f.source + ": field 'sliding_window' must be positive, got " + w);
        }
        return w;
    }

    /** Gemma3's sliding layers: rope_local_base_freq (or transformers 5's nested entry), plain RoPE. */
    private double localTheta() {
        double theta = f.optDouble("rope_local_base_freq", Double.NaN);
        if (Double.isNaN(theta) && f.raw.get("rope_parameters") instanceof ObjectNode rp
                && rp.get("sliding_attention") instanceof ObjectNode local) {
            theta = f.optDouble(local, "rope_theta", Double.NaN);
        }
        return Double.isNaN(theta) ? 10000.0 : theta;
    }

    /** Sliding layers: an explicit {@code layer_types}, else each family's rule (none without a window). */
    private boolean[] slidingLayers(Integer window) {
        boolean[] sliding = new boolean[layers];
        if (window == null) {
            return sliding;
        }
        JsonNode types = f.raw.get("layer_types");
        if (types != null && types.isArray()) {
            if (types.size() != layers) {
                throw new IllegalArgumentException(f.source + ": layer_types has " + types.size() + " entries for "
                        + layers + " layers");
            }
            for (int i = 0; i < layers; i++) {
                sliding[i] = types.get(i).asText().equals("sliding_attention");
            }
            return sliding;
        }
        boolean[] usesRope = usesRope();
        int pattern = f.optInt("sliding_window_pattern") == null ? 6 : f.optInt("sliding_window_pattern");
        int firstWindowed = f.optInt("max_window_layers") == null ? 28 : f.optInt("max_window_layers");
        for (int i = 0; i < layers; i++) {
            sliding[i] = switch (family) {
                case MISTRAL, PHI3 -> true;
                case QWEN2, QWEN3 -> i >= firstWindowed;
                case GEMMA2 -> i % 2 == 0;
                case GEMMA3_TEXT -> (i + 1) % pattern != 0;
                case SMOLLM3 -> !usesRope[i];
                default -> false;
            };
        }
        return sliding;
    }

    /** smollm3's {@code no_rope_layers} (1: RoPE, 0: none; default every {@code no_rope_layer_interval}-th none). */
    private boolean[] usesRope() {
        boolean[] rope = new boolean[layers];
        JsonNode given = f.raw.get("no_rope_layers");
        if (family == Family.SMOLLM3 && given != null && given.isArray() && given.size() != layers) {
            throw new IllegalArgumentException(f.source + ": no_rope_layers has " + given.size() + " entries for "
                    + layers + " layers");
        }
        int interval = f.optInt("no_rope_layer_interval") == null ? 4 : f.optInt("no_rope_layer_interval");
        for (int i = 0; i < layers; i++) {
            if (family != Family.SMOLLM3) {
                rope[i] = true;
            } else if (given != null && given.isArray()) {
                rope[i] = given.get(i).asInt() != 0;
            } else {
                rope[i] = (i + 1) % interval != 0;
            }
        }
        return rope;
    }

    private int rotaryDim() {
        if (family != Family.PHI3) {
            return headDim;
        }
        double factor = f.optDouble("partial_rotary_factor", 1.0);
        int dim = (int) (headDim * factor);
        if (dim <= 0 || dim % 2 != 0) {
            throw new IllegalArgumentException(f.source + ": partial_rotary_factor " + factor + " gives " + dim
                    + " rotary dims of head_dim " + headDim + "; it must be a positive even number");
        }
        return dim;
    }

    private JsonNode scalingNode() {
        JsonNode scaling = f.raw.get("rope_scaling");
        return scaling != null && !scaling.isNull() ? scaling : f.raw.get("rope_parameters");
    }

    private String scalingField() {
        JsonNode scaling = f.raw.get("rope_scaling");
        return scaling != null && !scaling.isNull() ? "rope_scaling" : "rope_parameters";
    }

    /** The RoPE of {@code node} ({@code rope_scaling} or {@code rope_parameters}) at base {@code theta}. */
    private RopeSpec rope(double theta, JsonNode node, String field, int rotaryDim) {
        if (node == null || node.isNull()) {
            return RopeSpec.plain(theta, rotaryDim);
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(f.source + ": " + field + " must be an object or null");
        }
        if (node.has("full_attention") && node.get("full_attention").isObject()) { // gemma3, transformers 5
            JsonNode full = node.get("full_attention");
            return rope(f.optDouble(full, "rope_theta", theta), full, field + ".full_attention", rotaryDim);
        }
        String type = node.hasNonNull("rope_type") ? node.get("rope_type").asText()
                : node.hasNonNull("type") ? node.get("type").asText() : null;
        if (family == Family.PHI3 && ("su".equals(type) || "yarn".equals(type))) {
            type = "longrope"; // Phi3Config's own mapping
        }
        String prefix = field + ".";
        if (type == null || type.equals("default")) {
            return RopeSpec.plain(theta, rotaryDim);
        }
        return switch (type) {
            case "llama3" -> new RopeSpec(theta, RopeSpec.Kind.LLAMA3, llama3(node, field), 1, null, null, 0, 1,
                    rotaryDim);
            case "linear" -> new RopeSpec(theta, RopeSpec.Kind.LINEAR, null,
                    f.requiredDouble(node, "factor", prefix), null, null, 0, 1, rotaryDim);
            case "longrope" -> longrope(theta, node, prefix, rotaryDim);
            default -> throw new UnsupportedModelException(family.modelType, f.source + ": " + field + " type '"
                    + type + "' is not supported (supported: llama3, linear, longrope, default)");
        };
    }

    private ModelConfig.RopeScaling llama3(JsonNode node, String field) {
        String prefix = field + ".";
        double factor = f.requiredDouble(node, "factor", prefix);
        double low = f.requiredDouble(node, "low_freq_factor", prefix);
        double high = f.requiredDouble(node, "high_freq_factor", prefix);
        JsonNode orig = node.get("original_max_position_embeddings");
        if (orig == null || orig.isNull()) {
            throw f.missing(prefix + "original_max_position_embeddings");
        }
        if (!(factor > 0) || !(low > 0) || !(high > low)) {
            throw new IllegalArgumentException(f.source + ": " + field
                    + " needs factor > 0 and high_freq_factor > low_freq_factor > 0");
        }
        int original = f.asInt(orig, prefix + "original_max_position_embeddings");
        return new ModelConfig.RopeScaling(factor, low, high, original);
    }

    /** Phi3's longrope: the top-level original_max_position_embeddings wins, attention factor as HF derives it. */
    private RopeSpec longrope(double theta, JsonNode node, String prefix, int rotaryDim) {
        Integer top = f.optInt("original_max_position_embeddings");
        JsonNode inner = node.get("original_max_position_embeddings");
        int original = top != null ? top : inner != null && inner.isInt() ? inner.asInt() : maxPositions;
        double[] shortFactor = factors(node, "short_factor", prefix, rotaryDim);
        double[] longFactor = factors(node, "long_factor", prefix, rotaryDim);
        double factor = f.optDouble(node, "factor", (double) maxPositions / original);
        double attention = f.optDouble(node, "attention_factor", Double.NaN);
        if (Double.isNaN(attention)) {
            attention = factor <= 1 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
        }
        return new RopeSpec(theta, RopeSpec.Kind.LONGROPE, null, 1, shortFactor, longFactor, original, attention,
                rotaryDim);
    }

    private double[] factors(JsonNode node, String name, String prefix, int rotaryDim) {
        JsonNode list = node.get(name);
        if (list == null || !list.isArray() || list.size() != rotaryDim / 2) {
            throw new IllegalArgumentException(f.source + ": field '" + prefix + name + "' must list "
                    + rotaryDim / 2 + " numbers (one per rotated pair), got " + list);
        }
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i).asDouble();
        }
        return out;
    }
}
