package org.orpo4j.model;

import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node of the model tree, like torch's {@code nn.Module}: it owns {@link Weight}s and child modules and names
 * them the HF way ({@code child.param}), so the flattened names are exactly the checkpoint keys.
 *
 * <p>DJL's {@code AbstractBlock} numbers its children ({@code 01q_proj}) and forwards through
 * {@code NDList}/{@code ParameterStore}, which hides both the HF names and the KV cache.
 */
abstract class Module {

    private final Map<String, Weight> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();

    /** Declares a parameter named by its HF leaf name ({@code weight}, {@code bias}); its array is set on load. */
    protected final Weight addParameter(String name, Weight.Kind kind, Shape shape) {
        Weight weight = new Weight(kind, shape);
        parameters.put(name, weight);
        return weight;
    }

    /** Registers a child under its HF attribute name ({@code self_attn}, {@code layers.0}). */
    protected final <M extends Module> M addChild(String name, M child) {
        children.put(name, child);
        return child;
    }

    /**
     * Registers a part whose children sit at this module's level, as HF names them: {@code q_proj, k_proj, v_proj}
     * or phi3's fused {@code qkv_proj} are attributes of {@code self_attn} whichever part computes them.
     */
    protected final <M extends Module> M addPart(M part) { // one per module
        children.put("", part);
        return part;
    }

    /** Adds every module of this subtree to {@code out}, keyed by its HF path ({@code layers.0.self_attn.q_proj}). */
    final void collectModules(String prefix, Map<String, Module> out) {
        children.forEach((name, child) -> {
            if (name.isEmpty()) { // a part: its children are this module's
                child.collectModules(prefix, out);
                return;
            }
            out.put(prefix + name, child);
            child.collectModules(prefix + name + ".", out);
        });
    }

    /** Adds every parameter of this subtree to {@code out} in declaration order, keyed {@code prefix + name}. */
    final void collectParameters(String prefix, Map<String, Weight> out) {
        parameters.forEach((name, slot) -> out.put(prefix + name, slot));
        children.forEach((name, child) -> child.collectParameters(name.isEmpty() ? prefix : prefix + name + ".", out));
    }
}
