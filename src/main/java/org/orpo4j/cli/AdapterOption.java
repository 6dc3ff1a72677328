package org.orpo4j.cli;

import picocli.CommandLine.Option;

/** {@code --adapter DIR|ORG/NAME}: a PEFT LoRA adapter put on the model before it is used. */
final class AdapterOption {

    @Option(names = "--adapter", paramLabel = "DIR|ORG/NAME",
            description = "A LoRA adapter (PEFT's adapter_config.json and adapter_model.safetensors): a folder or a"
                    + " hub name[@revision]. Without --model, its base is the model its adapter_config.json names.")
    String adapter;
}
