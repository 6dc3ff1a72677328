package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntConsumer;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.quantization.QuantConfig;
import org.orpo4j.quantization.Quantizer;
import org.orpo4j.quantization.QuantizedWeight;
import org.orpo4j.runtime.Casts;
import org.orpo4j.runtime.FusedAttention;
import org.orpo4j.runtime.Scalars;
import org.orpo4j.safetensors.SaveOptions;

/**
 * A HF {@code *ForCausalLM} model of a supported family ({@link ModelConfig#SUPPORTED_MODEL_TYPES}): the decoder
 * stack {@code model} and the LM head {@code lm_head} (or the embedding matrix when {@code tie_word_embeddings}),
 * its logits soft-capped where the family does (gemma2, gemma3).
 *
 * <p>Lifetimes: the parameters live in a sub-manager of the manager given at creation, closed by {@link #close()};
 * every result of {@link #forward} is attached to the manager of the input ids (the caller's step manager), so a
 * training step that closes its manager frees everything it computed.
 */
public final class CausalLm implements AutoCloseable {

    private final ModelConfig config;
    private final NDManager manager;
    private final DecoderModel model;
    private final Linear lmHead; // null when tied
    private final Map<String, Weight> slots; // HF name -> parameter, in HF state_dict order
    private Path source; // the folder it was loaded from, or null
    private String nameOrPath; // what the user called it (a hub name or a folder), or null

    CausalLm(ModelConfig config, NDManager parent) {
        this.config = config;
        this.manager = parent.newSubManager();
        this.model = new DecoderModel(config);
        this.lmHead = config.tieWordEmbeddings() ? null : new Linear(config.hiddenSize(), config.vocabSize(), false);
        Map<String, Weight> all = new LinkedHashMap<>();
        model.collectParameters("model.", all);
        if (lmHead != null) {
            lmHead.collectParameters("lm_head.", all);
        }
        this.slots = Collections.unmodifiableMap(all);
    }

    /**
     * Loads {@code config.json} and the safetensors weights of a HF model folder into {@code manager} as float32.
     * Missing, extra or wrongly shaped tensors fail with a one-line message naming the file and the tensor.
     */
    public static CausalLm load(Path modelDir, NDManager manager) {
        return CheckpointIo.load(modelDir, manager, LoadOptions.defaults());
    }

    /**
     * As {@link #load(Path, NDManager)}, the model known as {@code nameOrPath} (a hub name whose snapshot
     * {@code modelDir} is, transformers' {@code _name_or_path}): what adapters record as their base.
     */
    public static CausalLm load(Path modelDir, String nameOrPath, NDManager manager) {
        return load(modelDir, nameOrPath, manager, LoadOptions.defaults());
    }

    /**
     * As {@link #load(Path, String, NDManager)}, reading as {@code options} say: a full-precision checkpoint's
     * decoder linear weights quantized to 4 bits while they are read ({@code load_in_4bit}); a pre-quantized
     * bitsandbytes checkpoint loads in its 4 bits whatever the options.
     */
    public static CausalLm load(Path modelDir, String nameOrPath, NDManager manager, LoadOptions options) {
        CausalLm lm = CheckpointIo.load(modelDir, manager, options);
        lm.nameOrPath = nameOrPath;
        return lm;
    }

    /**
     * The {@code [out, in]} shape of every linear layer a model of {@code config} has, by HF module path, without
     * creating a tensor: what an adapter's files are checked against before a base model is loaded.
     */
    public static LinkedHashMap<String, long[]> linearShapes(ModelConfig config) {
        Map<String, Module> modules = new LinkedHashMap<>();
        new DecoderModel(config).collectModules("model.", modules);
        LinkedHashMap<String, long[]> shapes = new LinkedHashMap<>();
        modules.forEach((name, m) -> {
            if (m instanceof Linear linear) {
                shapes.put(name, new long[] {linear.outFeatures(), linear.inFeatures()});
            }
        });
        if (!config.tieWordEmbeddings()) {
            shapes.put("lm_head", new long[] {config.vocabSize(), config.hiddenSize()});
        }
        return shapes;
    }

    /**
     * A freshly initialised model like HF's {@code _init_weights}: weights ~ N(0, initializer_range [0.02]), biases 0,
     * norms 1, the pad token's embedding row 0; values drawn in Java from {@code seed}, so identical on any engine.
     */
    public static CausalLm random(ModelConfig config, NDManager manager, long seed) {
        CausalLm lm = new CausalLm(config, manager);
        RandomInit.initialize(lm, seed);
        return lm;
    }

    /**
     * Logits [N, T, V] float32 for ids [N, T] int64 and a right-padded mask [N, T] (1 token, 0 pad; null = none);
     * with half-precision weights the head runs in half precision and its output is widened (the loss's dtype).
     */
    public NDArray forward(NDArray inputIds, NDArray attentionMask) {
        return forward(inputIds, attentionMask, null);
    }

    /** The last hidden states [N, T, H] after the final norm: logits are {@code hidden · lmHeadWeight()ᵀ}. */
    public NDArray hiddenStates(NDArray inputIds, NDArray attentionMask) {
        return model.forward(inputIds, attentionMask, null);
    }

    /**
     * The forward pass of a training micro-batch, optionally with gradient checkpointing (each decoder layer
     * recomputed during backward from its saved input, so activations of one layer at a time are kept);
     * {@code beforeLayer} (nullable) is called with each layer's index before it runs or is recomputed. Call
     * {@link TrainingForward#backward()} right after the loss's backward.
     */
    public TrainingForward trainingForward(NDArray inputIds, NDArray attentionMask, boolean checkpoint,
            IntConsumer beforeLayer) {
        return model.trainingForward(inputIds, attentionMask, checkpoint, beforeLayer == null ? i -> { } : beforeLayer);
    }

    /**
     * The training forward of a packed row {@code inputIds} [1, L] of shared-prompt pairs (see
     * {@link SharedPromptLayout}): the hidden states [1, L, H] equal the two-row layout's at every real token.
     */
    public TrainingForward trainingForward(NDArray inputIds, SharedPromptLayout layout, boolean checkpoint,
            IntConsumer beforeLayer) {
        return model.trainingForward(inputIds, layout, checkpoint, beforeLayer == null ? i -> { } : beforeLayer);
    }

    /** The last hidden states [1, L, H] of a packed row of shared-prompt pairs. */
    public NDArray hiddenStates(NDArray inputIds, SharedPromptLayout layout) {
        return model.forward(inputIds, layout);
    }

    /**
     * Logits [N, T, V] float32 from final hidden states [N, T, H]: the LM head, widened as {@link #forward}, then
     * {@code cap·tanh(z/cap)} where the config has a {@code final_logit_softcapping}.
     */
    public NDArray logits(NDArray hidden) {
        NDArray z = Casts.widen(Linear.apply(hidden, lmHeadWeight(), null));
        Double cap = config.finalLogitSoftcapping();
        if (cap == null) {
            return z;
        }
        try (NDArray tanh = z.divi(Scalars.like(z, cap)).tanh()) {
            return tanh.mul(Scalars.like(tanh, cap));
        }
    }

    /** The LM head matrix [V, H] (the embedding matrix when tied); it lives in the model's manager. */
    public NDArray lmHeadWeight() {
        return lmHead == null ? model.embedTokens().weight() : slots.get("lm_head.weight").array();
    }

    /** Forward with a KV cache (generation): positions continue after the cached ones. */
    NDArray forward(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        return logits(model.forward(inputIds, attentionMask, cache)); // [N, T, H] -> [N, T, V]
    }

    /**
     * The float tensors by HF name, gradients attached; tied models have no {@code lm_head.weight}, and weights
     * frozen in 4 bits are not among them ({@link #quantizedWeights()}).
     */
    public LinkedHashMap<String, NDArray> parameters() {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        slots.forEach((name, slot) -> {
            if (slot.quantized() == null) {
                out.put(name, slot.array());
            }
        });
        return out;
    }

    /** The weights frozen in 4 bits by HF name ({@code model.layers.0.self_attn.q_proj.weight}, ...), in order. */
    public LinkedHashMap<String, QuantizedWeight> quantizedWeights() {
        LinkedHashMap<String, QuantizedWeight> out = new LinkedHashMap<>();
        slots.forEach((name, slot) -> {
            if (slot.quantized() != null) {
                out.put(name, slot.quantized());
            }
        });
        return out;
    }

    /** True when some weights are frozen in 4 bits: the model then trains through adapters only. */
    public boolean isQuantized() {
        return slots.values().stream().anyMatch(slot -> slot.quantized() != null);
    }

    /**
     * Quantizes every decoder linear weight to 4 bits in place (bitsandbytes' {@code quantize_4bit}; the embeddings,
     * norms and LM head stay as they are, as transformers keeps them), freeing each float array once its codes exist.
     */
    public CausalLm quantize(QuantConfig config) {
        for (String name : CheckpointIo.quantizable(this)) {
            Weight slot = slots.get(name);
            if (slot.quantized() == null) {
                slot.quantize(Quantizer.quantize(slot.array(), config, manager));
            }
        }
        return this;
    }

    /**
     * Gives every 4-bit weight back a float32 array, the values its codes stand for (what merging an adapter into a
     * 4-bit base starts from); a model without 4-bit weights is unchanged.
     */
    public CausalLm dequantize() {
        slots.values().forEach(slot -> {
            if (slot.quantized() != null) {
                slot.dequantize(manager); // frozen, as the base under an adapter
            }
        });
        return this;
    }

    /**
     * The linear layers by HF module path ({@code model.layers.0.self_attn.q_proj}, ..., and {@code lm_head} when
     * untied), in model order: where adapters attach.
     */
    public LinkedHashMap<String, LinearLayer> linearLayers() {
        Map<String, Module> modules = new LinkedHashMap<>();
        model.collectModules("model.", modules);
        if (lmHead != null) {
            modules.put("lm_head", lmHead);
        }
        LinkedHashMap<String, LinearLayer> out = new LinkedHashMap<>();
        modules.forEach((name, m) -> {
            if (m instanceof Linear linear) {
                out.put(name, new LinearLayer(linear));
            }
        });
        return out;
    }

    /**
     * What training updates: the installed adapters' tensors ({@code <layer>.<adapter name>}) when any layer has one
     * (the base weights are then frozen), else every weight ({@link #parameters()}).
     */
    public LinkedHashMap<String, NDArray> trainableParameters() {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        linearLayers().forEach((name, layer) -> {
            if (layer.adapter() != null) {
                layer.adapter().parameters().forEach((rel, array) -> out.put(name + "." + rel, array));
            }
        });
        return out.isEmpty() ? parameters() : out;
    }

    /**
     * Puts {@code arrays} in place of the model's tensors of the same names (same shapes, any dtype) and returns
     * the arrays they replaced: mixed precision swaps its half-precision copies in for the forward and backward
     * passes, and the float32 masters back for saving. The model neither copies nor closes either.
     */
    public LinkedHashMap<String, NDArray> replaceParameters(Map<String, NDArray> arrays) {
        for (String name : arrays.keySet()) {
            if (!slots.containsKey(name) || slots.get(name).quantized() != null) {
                throw new IllegalArgumentException("the model has no float tensor " + name);
            }
        }
        LinkedHashMap<String, NDArray> previous = new LinkedHashMap<>();
        arrays.forEach((name, array) -> {
            Weight slot = slots.get(name);
            previous.put(name, slot.array());
            slot.set(array);
        });
        return previous;
    }

    /**
     * Writes a HF folder: config.json (dtype updated), the weights (F32 or BF16, sharded above the size in
     * {@code options}) and the tokenizer files found in {@code tokenizerSourceDir} (nullable).
     */
    public void save(Path outDir, SaveOptions options, Path tokenizerSourceDir) {
        CheckpointIo.save(this, outDir, options, tokenizerSourceDir);
    }

    /** Copies the tokenizer files transformers reads ({@code tokenizer.json}, ...) that {@code from} has into {@code to}. */
    public static void copyTokenizerFiles(Path from, Path to) throws java.io.IOException {
        CheckpointIo.copyTokenizerFiles(from, to);
    }

    /** The HF folder the model was loaded from, if it was loaded. */
    public java.util.Optional<Path> source() {
        return java.util.Optional.ofNullable(source);
    }

    /** The name it was loaded by (a hub name or a folder; what adapters record as their base), if loaded. */
    public java.util.Optional<String> nameOrPath() {
        return nameOrPath != null ? java.util.Optional.of(nameOrPath) : source().map(Path::toString);
    }

    /**
     * transformers' {@code set_attn_implementation}: how attention is computed from the next forward on (the model
     * starts eager). {@link AttnImplementation#SDPA} needs orpo4j's native library; a soft-capped model's layers
     * (gemma2) stay eager under it, as only the eager kernel applies the cap.
     *
     * @throws IllegalStateException for SDPA where the loaded JNI has no fused attention
     */
    public CausalLm attnImplementation(AttnImplementation implementation) {
        if (implementation == AttnImplementation.SDPA && !FusedAttention.available()) {
            throw new IllegalStateException("attn_implementation sdpa needs orpo4j's PyTorch JNI (torch's fused"
                    + " attention), which is not loaded; use eager (docs/native.md)");
        }
        model.attnImplementation(implementation);
        return this;
    }

    /** How attention is computed: eager unless {@link #attnImplementation(AttnImplementation)} said otherwise. */
    public AttnImplementation attnImplementation() {
        return model.attnImplementation();
    }

    void source(Path dir) {
        this.source = dir;
    }

    public ModelConfig config() {
        return config;
    }

    /** The manager holding the parameters. */
    NDManager manager() {
        return manager;
    }

    int numLayers() {
        return model.numLayers();
    }

    /** The parameter slots by HF name, for loading and initialisation. */
    Map<String, Weight> slots() {
        return slots;
    }

    /** Closes the parameters (the model's manager). */
    @Override
    public void close() {
        manager.close();
    }
}
