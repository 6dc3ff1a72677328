package org.orpo4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import picocli.CommandLine.Option;

/** {@code --adapter DIR}: a PEFT LoRA adapter folder put on the model before it is used. */
final class AdapterOption {

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "A LoRA adapter folder (PEFT's adapter_config.json and adapter_model.safetensors) on the model.")
    Path adapter;

    /** Installs the adapter on {@code model} when one was given; errors name the adapter's file and field. */
    void applyTo(CausalLm model) throws IOException {
        if (adapter != null) {
            LoraModel.load(model, Inputs.folder(adapter));
        }
    }
}
