package org.orpo4j.cli;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.orpo4j.hub.Hub;
import org.orpo4j.hub.HubException;
import org.orpo4j.hub.RepoId;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.LoadOptions;
import org.orpo4j.model.ModelConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model a command runs: {@code --model} (a folder or hub name) and {@code --adapter} (a PEFT adapter, folder or
 * hub name). {@code --model} may itself name an adapter, and without it the base is the one the adapter's
 * {@code adapter_config.json} names, as PEFT's {@code AutoPeftModel} does. Built in two steps so that mistakes
 * show before anything heavy runs: {@link #resolve} (local checks and hub file lists: nothing big downloaded), then
 * {@link #prepare} (the adapter and the base's config.json first, the adapter checked against that config, and only
 * then the base's weights).
 */
final class ModelInputs {

    private static final Logger LOG = LoggerFactory.getLogger(ModelInputs.class);

    /** One named folder: local, or a hub snapshot planned (and later fetched). */
    private record Source(String flag, String given, Path folder, Hub.Plan plan) {

        static Source of(String flag, String given, Hubs hubs) throws IOException {
            Path path = Path.of(given);
            if (Files.exists(path)) {
                if (!Files.isDirectory(path)) {
                    throw new IOException(flag + " " + given + ": not a folder");
                }
                return new Source(flag, given, path, null);
            }
            if (!RepoId.looksLikeRepo(given)) {
                throw new NoSuchFileException(given);
            }
            try {
                Hub.Plan plan = hubs.get().planModel(given);
                return new Source(flag, given, plan.folder(), plan);
            } catch (HubException | IllegalArgumentException e) {
                throw new IOException(flag + " " + given + ": no such local folder, and as a hub name: "
                        + e.getMessage(), e);
            }
        }

        boolean isAdapter() {
            return plan != null ? plan.isAdapter()
                    : Files.isRegularFile(folder.resolve(LoraConfig.FILE))
                            && !Files.isRegularFile(folder.resolve("config.json"));
        }

        /** The adapter's settings, its config file downloaded first when it is on the hub. */
        LoraConfig adapterConfig() throws IOException {
            if (plan != null) {
                plan.fetch(LoraConfig.FILE);
            }
            return LoraConfig.read(folder);
        }
    }

    /** The hub, made from the environment only when a name needs it. */
    private static final class Hubs {
        private Hub hub;

        Hub get() throws IOException {
            if (hub == null) {
                hub = Hub.fromEnvironment();
            }
            return hub;
        }
    }

    private final Source base;
    private final Source adapter; // null: none

    private ModelInputs(Source base, Source adapter) {
        this.base = base;
        this.adapter = adapter;
    }

    /**
     * Resolves {@code model} and {@code adapter} (either may be null, not both) to folders, nothing big downloaded:
     * local folders are checked, hub names resolved to their file lists, an adapter's small config read for its
     * base when {@code model} is an adapter or absent.
     */
    static ModelInputs resolve(String model, String adapter) throws IOException {
        Hubs hubs = new Hubs();
        Source base = model == null ? null : Source.of("--model", model, hubs);
        Source lora = adapter == null ? null : Source.of("--adapter", adapter, hubs);
        if (base != null && base.isAdapter()) {
            if (lora != null) {
                throw new IllegalArgumentException("--model " + model + " is a LoRA adapter (" + LoraConfig.FILE
                        + ", no config.json): give its base model as --model and it as --adapter");
            }
            lora = base;
            base = null;
        }
        if (base == null) {
            if (lora == null) {
                throw new IllegalArgumentException("give the model as --model DIR|ORG/NAME (or a LoRA adapter as"
                        + " --adapter)");
            }
            String named = lora.adapterConfig().baseModelNameOrPath();
            if (named == null || named.isBlank()) {
                throw new IllegalArgumentException(lora.flag() + " " + lora.given() + ": " + LoraConfig.FILE
                        + " names no base_model_name_or_path: give the base model as --model");
            }
            base = Source.of("base_model_name_or_path of " + lora.given(), named, hubs);
        }
        if (base.isAdapter()) {
            throw new IllegalArgumentException(base.flag() + " " + base.given() + " is a LoRA adapter, not a model");
        }
        return new ModelInputs(base, lora);
    }

    /**
     * Downloads what hub names need, small files first: the adapter and the base's config.json, then, once the
     * adapter is known to fit that config (its file header against the shapes, no tensor read), the base's
     * weights. Returns the adapter's settings, or empty without one.
     */
    Optional<LoraConfig> prepare() throws IOException {
        if (adapter != null && adapter.plan() != null) {
            adapter.plan().fetch();
        }
        if (base.plan() != null) {
            base.plan().fetch("config.json");
        }
        Inputs.modelDir(base.folder());
        Optional<LoraConfig> lora = Optional.empty();
        if (adapter != null) {
            ModelConfig config = ModelConfig.load(base.folder().resolve("config.json"));
            lora = Optional.of(LoraModel.check(adapter.folder(), config));
        }
        if (base.plan() != null) {
            base.plan().fetch();
        }
        return lora;
    }

    /** The folders read, by the flag that named them (what an output folder must stay clear of). */
    Map<String, Path> folders() {
        Map<String, Path> folders = new LinkedHashMap<>();
        folders.put(base.flag() + " " + base.given(), base.folder());
        if (adapter != null) {
            folders.put(adapter.flag() + " " + adapter.given(), adapter.folder());
        }
        return folders;
    }

    Path baseDir() {
        return base.folder();
    }

    /** The base model as the user (or the adapter's config) named it: what a new adapter records as its base. */
    String baseName() {
        return base.given();
    }

    Optional<Path> adapterDir() {
        return Optional.ofNullable(adapter).map(Source::folder);
    }

    Optional<String> adapterName() {
        return Optional.ofNullable(adapter).map(Source::given);
    }

    /** The tokenizer's folder: the adapter's when it carries one (TRL saves it there), else the base model's. */
    Path tokenizerDir() throws IOException {
        if (adapter != null && (Files.isRegularFile(adapter.folder().resolve("tokenizer.json"))
                || Files.isRegularFile(adapter.folder().resolve("tokenizer.json.gz")))) {
            return adapter.folder();
        }
        return Inputs.tokenizerDir(base.folder());
    }

    /** Loads the base model (known by its given name) and installs the adapter, saying which. */
    CausalLm load(NDManager manager) throws IOException {
        return load(manager, LoadOptions.defaults());
    }

    /** As {@link #load(NDManager)}, the base read as {@code options} say (quantized to 4 bits while read). */
    CausalLm load(NDManager manager, LoadOptions options) throws IOException {
        CausalLm lm = CausalLm.load(base.folder(), base.given(), manager, options);
        if (adapter != null) {
            try {
                LoraModel lora = LoraModel.load(lm, adapter.folder());
                LoraConfig c = lora.config();
                LOG.info("loaded LoRA adapter {} (r={}, alpha={}, targets {}; {} tensors) on {}", adapter.given(),
                        c.r(), c.alpha(), c.targetModules(), lora.parameters().size(), base.given());
            } catch (IOException | RuntimeException e) {
                lm.close();
                throw e;
            }
        }
        return lm;
    }
}
