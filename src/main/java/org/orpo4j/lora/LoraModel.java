package org.orpo4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.LinearLayer;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.DType;
import org.orpo4j.safetensors.SafetensorsFile;
import org.orpo4j.safetensors.TensorInfo;

/**
 * LoRA adapters installed on a {@link CausalLm}, PEFT's {@code LoraModel}: one {@link LoraLayer} per targeted linear
 * layer, the base weights frozen (no gradients, so no gradient arrays and no optimizer state), and the adapter
 * saved and loaded in PEFT's files ({@code adapter_config.json}, {@code adapter_model.safetensors} with keys
 * {@code base_model.model.<layer>.lora_A.weight}). The adapter tensors are float32 and live in a sub-manager of
 * the model's; {@link #close()} uninstalls them and unfreezes the base.
 */
public final class LoraModel implements AutoCloseable {

    /** The file PEFT keeps the adapter tensors in. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** What PEFT puts before a layer's HF path in the adapter's tensor names. */
    public static final String KEY_PREFIX = "base_model.model.";

    private final CausalLm model;
    private final LoraConfig config;
    private final NDManager manager;
    private final Map<String, LoraLayer> layers = new LinkedHashMap<>(); // HF layer path -> adapter
    private boolean training = true;

    private LoraModel(CausalLm model, LoraConfig config) {
        this.model = model;
        this.config = config;
        this.manager = model.parameters().values().iterator().next().getManager().newSubManager();
    }

    /**
     * A new adapter on every layer {@code config} targets, initialised as PEFT's default: A kaiming-uniform
     * (a = √5), i.e. U(−1/√in, 1/√in), drawn in Java from {@code seed}; B zeros, so the model starts unchanged.
     */
    public static LoraModel attach(CausalLm model, LoraConfig settings, long seed) {
        LoraConfig config = settings.baseModelNameOrPath() != null || model.nameOrPath().isEmpty() ? settings
                : new LoraConfig(settings.r(), settings.alpha(), settings.dropout(), settings.targetModules(),
                        settings.useRslora(), model.nameOrPath().get());
        LoraModel lora = new LoraModel(model, config);
        Random random = new Random(seed);
        lora.install((name, layer) -> {
            int in = Math.toIntExact(layer.inFeatures());
            float[] a = new float[config.r() * in];
            double bound = 1 / Math.sqrt(in);
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) ((2 * random.nextDouble() - 1) * bound);
            }
            return new NDArray[] {lora.manager.create(a, new Shape(config.r(), in)),
                    lora.manager.zeros(new Shape(layer.outFeatures(), config.r()))};
        });
        return lora;
    }

    /**
     * The adapter PEFT (or orpo4j) saved in {@code adapterDir}, installed on {@code model}; F32, F16 and BF16
     * tensors are read as float32. Its targets, shapes and keys must fit the model exactly: anything else is a
     * one-line error naming the file and the tensor or field.
     */
    public static LoraModel load(CausalLm model, Path adapterDir) throws IOException {
        LoraConfig config = check(adapterDir, model.config());
        LoraModel lora = new LoraModel(model, config);
        lora.training = false; // loaded for use, as PEFT's from_pretrained; a trainer switches it on
        try (SafetensorsFile weights = SafetensorsFile.open(adapterDir.resolve(WEIGHTS_FILE))) {
            lora.install((name, layer) -> new NDArray[] {weights.load(key(name, LoraLayer.A), lora.manager),
                weights.load(key(name, LoraLayer.B), lora.manager)});
        } catch (RuntimeException e) {
            lora.close();
            if (e instanceof IllegalArgumentException || e instanceof UncheckedIOException) {
                throw new IOException(e.getMessage(), e);
            }
            throw e;
        }
        return lora;
    }

    /**
     * Checks, without loading a tensor, that the adapter in {@code adapterDir} fits a model of {@code base}: its
     * config is one orpo4j honours, and its file holds exactly a {@code lora_A [r, in]} and {@code lora_B [out, r]}
     * for every layer its {@code target_modules} select. Cheap (config and safetensors header only), so a command
     * can run it before loading the base model; errors name the file and the tensor or field.
     */
    public static LoraConfig check(Path adapterDir, ModelConfig base) throws IOException {
        LoraConfig config = LoraConfig.read(adapterDir);
        Path file = adapterDir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IOException(adapterDir + ": no " + WEIGHTS_FILE);
        }
        Map<String, long[]> targeted = new LinkedHashMap<>();
        CausalLm.linearShapes(base).forEach((name, shape) -> {
            if (config.targets(name)) {
                targeted.put(name, shape);
            }
        });
        if (targeted.isEmpty()) {
            throw new IOException(adapterDir.resolve(LoraConfig.FILE) + ": target_modules " + config.targetModules()
                    + " match no linear layer of " + base);
        }
        try (SafetensorsFile weights = SafetensorsFile.open(file)) {
            Set<String> expected = new TreeSet<>();
            for (Map.Entry<String, long[]> layer : targeted.entrySet()) {
                long out = layer.getValue()[0];
                long in = layer.getValue()[1];
                String[] keys = {key(layer.getKey(), LoraLayer.A), key(layer.getKey(), LoraLayer.B)};
                long[][] shapes = {{config.r(), in}, {out, config.r()}};
                for (int i = 0; i < 2; i++) {
                    expected.add(keys[i]);
                    TensorInfo info = weights.tensors().get(keys[i]);
                    if (info == null) {
                        throw new IOException(file + ": missing tensor '" + keys[i] + "' that " + LoraConfig.FILE
                                + "'s target_modules " + config.targetModules() + " imply");
                    }
                    if (!java.util.Arrays.equals(info.shape(), shapes[i])) {
                        throw new IOException(file + ": tensor '" + keys[i] + "' has shape "
                                + java.util.Arrays.toString(info.shape()) + " but the base model and r = "
                                + config.r() + " need " + java.util.Arrays.toString(shapes[i]));
                    }
                }
            }
            for (String key : weights.tensors().keySet()) {
                if (!expected.contains(key)) {
                    throw new IOException(file + ": unexpected tensor '" + key + "' (not a lora_A/lora_B of a"
                            + " targeted layer of this model)");
                }
            }
        } catch (RuntimeException e) { // a broken safetensors header
            throw new IOException(e.getMessage(), e);
        }
        return config;
    }

    /** The LoRA adapters installed on {@code model}, if any. */
    public static Optional<LoraModel> of(CausalLm model) {
        for (LinearLayer layer : model.linearLayers().values()) {
            if (layer.adapter() instanceof LoraLayer l) {
                return Optional.of(l.owner());
            }
        }
        return Optional.empty();
    }

    /** The adapter tensor name PEFT uses for {@code layer}'s {@code lora_A.weight} or {@code lora_B.weight}. */
    public static String key(String layer, String tensor) {
        return KEY_PREFIX + layer + "." + tensor;
    }

    private interface Init {
        NDArray[] arrays(String name, LinearLayer layer);
    }

    private void install(Init init) {
        Map<String, LinearLayer> targets = new LinkedHashMap<>();
        model.linearLayers().forEach((name, layer) -> {
            if (config.targets(name)) {
                targets.put(name, layer);
            }
        });
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("lora target_modules " + config.targetModules()
                    + " match no linear layer of " + model.config());
        }
        targets.forEach((name, layer) -> {
            if (layer.adapter() != null) {
                throw new IllegalStateException(name + " already has an adapter");
            }
            NDArray[] ab = init.arrays(name, layer);
            for (NDArray t : ab) {
                t.setRequiresGradient(true);
            }
            layers.put(name, new LoraLayer(this, ab[0], ab[1]));
        });
        model.parameters().values().forEach(p -> p.setRequiresGradient(false)); // frozen base
        layers.forEach((name, layer) -> model.linearLayers().get(name).setAdapter(layer));
    }

    public LoraConfig config() {
        return config;
    }

    /** The adapter tensors by PEFT key, in model order: what the optimizer updates. */
    public LinkedHashMap<String, NDArray> parameters() {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        layers.forEach((name, layer) -> layer.parameters().forEach((t, array) -> out.put(key(name, t), array)));
        return out;
    }

    /** Dropout on (training) or off (evaluation and generation), like torch's {@code module.train()}. */
    public void train(boolean on) {
        training = on;
    }

    /** True while in training mode (the default): dropout applies. */
    public boolean training() {
        return training;
    }

    /**
     * Seeds the engine's generator, which dropout draws from, when dropout is on: the trainer calls it per
     * micro-batch with a number derived from the run's seed and data position, so a resumed run draws the same masks.
     */
    public void seedDropout(long seed) {
        if (config.dropout() > 0) {
            DjlRuntime.engine().setRandomSeed((int) (seed ^ (seed >>> 32)));
        }
    }

    /** The module names adapted (what PEFT writes as {@code target_modules}). */
    private Set<String> adaptedModules() {
        Set<String> names = new TreeSet<>();
        layers.keySet().forEach(n -> names.add(n.substring(n.lastIndexOf('.') + 1)));
        return names;
    }

    /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} (float32) into {@code dir}. */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        config.write(dir, adaptedModules());
        CheckpointWriter.writeFile(dir.resolve(WEIGHTS_FILE), parameters(), DType.F32);
    }

    /** Copies the adapter tensors of a saved adapter folder (a checkpoint of this run) into this one's, in place. */
    public void loadWeights(Path adapterDir) throws IOException {
        Path file = adapterDir.resolve(WEIGHTS_FILE);
        try (SafetensorsFile weights = SafetensorsFile.open(file); NDManager scratch = manager.newSubManager();
                GradMode off = GradMode.enabled(false)) {
            for (Map.Entry<String, NDArray> e : parameters().entrySet()) {
                if (!weights.tensors().containsKey(e.getKey())) {
                    throw new IOException(file + ": checkpoint lacks adapter tensor " + e.getKey());
                }
                NDArray saved = weights.load(e.getKey(), scratch);
                if (!saved.getShape().equals(e.getValue().getShape())) {
                    throw new IOException(file + ": tensor " + e.getKey() + " has shape " + saved.getShape()
                            + ", the adapter has " + e.getValue().getShape());
                }
                e.getValue().set(new NDIndex("..."), saved.toDevice(e.getValue().getDevice(), false));
            }
        }
    }

    /**
     * Folds every adapter into its layer's weight, {@code W += s·B·A} in float32, and uninstalls the adapters: the
     * model then computes exactly what it computed with them, and saves as a plain HF folder. A 4-bit base is
     * dequantized to float32 first (PEFT's merge dequantizes too), so the merged model is a float one.
     */
    public void merge() {
        model.dequantize();
        try (GradMode off = GradMode.enabled(false); NDManager scratch = manager.newSubManager()) {
            Map<String, LinearLayer> linears = model.linearLayers();
            layers.forEach((name, layer) -> {
                NDArray delta = layer.b().matMul(layer.a()); // [out, in]
                delta.attach(scratch);
                NDArray w = linears.get(name).weight();
                w.addi(delta.muli(org.orpo4j.runtime.Scalars.like(delta, config.scaling())));
            });
        }
        close();
    }

    /** Uninstalls the adapters, unfreezes the base weights and frees the adapter tensors. */
    @Override
    public void close() {
        Map<String, LinearLayer> linears = model.linearLayers();
        layers.keySet().forEach(name -> linears.get(name).setAdapter(null));
        layers.clear();
        model.parameters().values().forEach(p -> p.setRequiresGradient(true));
        manager.close();
    }
}
