package org.orpo4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.Json;

/**
 * A LoRA adapter's settings with PEFT's names and meaning ({@code LoraConfig}): rank {@code r}, {@code lora_alpha},
 * {@code lora_dropout}, the targeted module names (or {@code all-linear}: every linear layer of the decoder
 * layers, never the LM head; or module paths such as {@code model.layers.0.mlp.up_proj}, which PEFT saves for
 * {@code all-linear}, matched as PEFT does: the path itself or a path ending in {@code "." + target}) and rsLoRA's
 * scaling. Read from and written to PEFT's {@code adapter_config.json}.
 *
 * @param baseModelNameOrPath what PEFT records as the base model (a folder or hub name; may be null)
 */
public record LoraConfig(int r, double alpha, double dropout, List<String> targetModules, boolean useRslora,
        String baseModelNameOrPath) {

    /** The file PEFT writes next to {@code adapter_model.safetensors}. */
    public static final String FILE = "adapter_config.json";
    /** PEFT's shorthand for every linear layer except the output layer. */
    public static final String ALL_LINEAR = "all-linear";
    /** The decoder layers' linear modules of the supported families (phi3 fuses qkv_proj and gate_up_proj). */
    public static final List<String> LINEAR_MODULES = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
            "up_proj", "down_proj", "qkv_proj", "gate_up_proj");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public LoraConfig {
        if (r < 1) {
            throw new IllegalArgumentException("lora r = " + r + " must be >= 1");
        }
        if (!(alpha > 0) || !Double.isFinite(alpha)) {
            throw new IllegalArgumentException("lora_alpha = " + alpha + " must be > 0");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("lora_dropout = " + dropout + " must be in [0, 1)");
        }
        targetModules = List.copyOf(targetModules);
        if (targetModules.isEmpty()) {
            throw new IllegalArgumentException("lora target_modules is empty");
        }
        for (String t : targetModules) {
            if (!t.equals(ALL_LINEAR) && !LINEAR_MODULES.contains(t.substring(t.lastIndexOf('.') + 1))) {
                throw new IllegalArgumentException("lora target module '" + t + "' is not one of " + LINEAR_MODULES
                        + " or " + ALL_LINEAR);
            }
        }
        if (targetModules.contains(ALL_LINEAR) && targetModules.size() > 1) {
            throw new IllegalArgumentException("lora target_modules: " + ALL_LINEAR + " stands alone");
        }
    }

    /**
     * True for a target list orpo4j can honour: linear module names of the supported families (or module paths
     * ending in one, as PEFT saves all-linear), or all-linear alone.
     */
    public static boolean validTargets(List<String> targets) {
        if (targets.isEmpty() || (targets.contains(ALL_LINEAR) && targets.size() > 1)) {
            return false;
        }
        return targets.stream().allMatch(t -> t.equals(ALL_LINEAR)
                || LINEAR_MODULES.contains(t.substring(t.lastIndexOf('.') + 1)));
    }

    /** PEFT's default targets for the llama, mistral, qwen2, qwen3 and gemma architectures. */
    public static List<String> defaultTargets() {
        return List.of("q_proj", "v_proj");
    }

    /**
     * PEFT's default targets for a model of {@code model}'s family; PEFT has none for phi3 and smollm3 and asks for
     * them, and so does this (one line naming the setting and the modules that model has).
     */
    public static List<String> defaultTargets(ModelConfig model) {
        if (!model.peftLoraTargets().isEmpty()) {
            return model.peftLoraTargets();
        }
        String modules = String.join(", ", new java.util.LinkedHashSet<>(CausalLm.linearShapes(model).keySet().stream()
                .filter(name -> name.startsWith("model.layers.0."))
                .map(name -> name.substring(name.lastIndexOf('.') + 1)).toList()));
        throw new IllegalArgumentException("PEFT has no default LoRA target modules for model_type '"
                + model.modelType() + "': set loraTargetModules (--lora-target-modules) to some of " + modules
                + ", or " + ALL_LINEAR);
    }

    /** The factor of the adapter's output: {@code lora_alpha / r}, or {@code lora_alpha / sqrt(r)} with rsLoRA. */
    public double scaling() {
        return useRslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /** True when the linear layer at HF path {@code layer} ({@code model.layers.3.mlp.up_proj}) gets an adapter. */
    public boolean targets(String layer) {
        if (!layer.startsWith("model.layers.")) {
            return false; // the LM head is never adapted
        }
        if (targetModules.contains(ALL_LINEAR)) {
            return true;
        }
        for (String t : targetModules) { // PEFT's check_target_module_exists for a list of names
            if (layer.equals(t) || layer.endsWith("." + t)) {
                return true;
            }
        }
        return false;
    }

    /** PEFT's {@code adapter_config.json}, {@code target_modules} naming the modules adapted in {@code layers}. */
    public ObjectNode toJson(Set<String> adaptedModules) {
        ObjectNode n = JSON.createObjectNode();
        n.putObject("alpha_pattern");
        n.putNull("auto_mapping");
        if (baseModelNameOrPath == null) {
            n.putNull("base_model_name_or_path");
        } else {
            n.put("base_model_name_or_path", baseModelNameOrPath);
        }
        n.put("bias", "none");
        n.put("fan_in_fan_out", false);
        n.put("inference_mode", true);
        n.put("init_lora_weights", true);
        n.putNull("layers_pattern");
        n.putNull("layers_to_transform");
        if (alpha == Math.rint(alpha) && Math.abs(alpha) < Integer.MAX_VALUE) {
            n.put("lora_alpha", (int) alpha); // PEFT's own type
        } else {
            n.put("lora_alpha", alpha);
        }
        n.put("lora_dropout", dropout);
        n.putNull("modules_to_save");
        n.put("peft_type", "LORA");
        n.put("r", r);
        n.putObject("rank_pattern");
        n.putNull("revision");
        ArrayNode targets = n.putArray("target_modules");
        new TreeSet<>(adaptedModules).forEach(targets::add);
        n.put("task_type", "CAUSAL_LM");
        n.put("use_dora", false);
        n.put("use_rslora", useRslora);
        return n;
    }

    void write(Path dir, Set<String> adaptedModules) throws IOException {
        Files.writeString(dir.resolve(FILE), JSON.writeValueAsString(toJson(adaptedModules)) + "\n");
    }

    /**
     * Reads a PEFT {@code adapter_config.json}; what orpo4j cannot honour exactly (DoRA, trained biases or extra
     * modules, per-layer ranks, regular-expression targets, another PEFT method) is refused naming file and field.
     */
    public static LoraConfig read(Path adapterDir) throws IOException {
        Path file = adapterDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new IOException(adapterDir + ": no " + FILE + " (is this a PEFT adapter folder?)");
        }
        JsonNode n;
        try {
            n = Json.untrusted().readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        refuse(file, n, "peft_type", v -> !v.asText().equals("LORA"), "only LORA adapters are supported");
        refuse(file, n, "use_dora", JsonNode::asBoolean, "DoRA is not supported");
        refuse(file, n, "bias", v -> !v.isNull() && !v.asText().equals("none"), "trained biases are not supported");
        refuse(file, n, "modules_to_save", v -> !v.isNull() && !(v.isArray() && v.isEmpty()),
                "modules_to_save is not supported");
        refuse(file, n, "fan_in_fan_out", JsonNode::asBoolean, "fan_in_fan_out (Conv1D layers) is not supported");
        refuse(file, n, "rank_pattern", v -> v.isObject() && !v.isEmpty(), "per-layer ranks are not supported");
        refuse(file, n, "alpha_pattern", v -> v.isObject() && !v.isEmpty(), "per-layer alphas are not supported");
        refuse(file, n, "layers_to_transform", v -> !v.isNull(), "layers_to_transform is not supported");
        JsonNode t = n.get("target_modules");
        List<String> targets = new ArrayList<>();
        if (t != null && t.isArray()) {
            t.forEach(e -> targets.add(e.asText()));
        } else if (t != null && t.isTextual() && t.asText().equals(ALL_LINEAR)) {
            targets.add(ALL_LINEAR);
        } else {
            throw new IOException(file + ": target_modules: " + t
                    + " is not supported (a list of module names, or \"all-linear\")");
        }
        try {
            return new LoraConfig(required(file, n, "r").asInt(), required(file, n, "lora_alpha").asDouble(),
                    n.path("lora_dropout").asDouble(0), targets, n.path("use_rslora").asBoolean(false),
                    n.path("base_model_name_or_path").isTextual() ? n.get("base_model_name_or_path").asText() : null);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode required(Path file, JsonNode n, String field) throws IOException {
        JsonNode v = n.get(field);
        if (v == null || !v.isNumber()) {
            throw new IOException(file + ": " + field + ": missing or not a number");
        }
        return v;
    }

    private interface Check {
        boolean bad(JsonNode value);
    }

    private static void refuse(Path file, JsonNode n, String field, Check bad, String why) throws IOException {
        JsonNode v = n.get(field);
        if (v != null && bad.bad(v)) {
            throw new IOException(file + ": " + field + " = " + v + ": " + why);
        }
    }
}
