package org.orpo4j.cli;

import ai.djl.ndarray.NDManager;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SaveOptions;
import org.orpo4j.train.OutputDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code merge}: a LoRA adapter folded into its base model ({@code W += s·B·A}), written as a full HF folder. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge a LoRA adapter into its base model and write a full HuggingFace model folder.")
final class MergeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR|ORG/NAME",
            description = "The base HF model folder, or a hub name[@revision]. Default: the base the adapter's"
                    + " adapter_config.json names.")
    String model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR|ORG/NAME",
            description = "The LoRA adapter (PEFT format): a folder or a hub name[@revision].")
    String adapter;

    @Option(names = "--output", required = true, paramLabel = "DIR",
            description = "Where the merged HF folder goes (never the base or adapter folder).")
    Path output;

    @Option(names = "--bf16", description = "Write the merged weights as BF16 (default: F32).")
    boolean bf16;

    @Override
    public Integer call() throws Exception {
        ModelInputs inputs = ModelInputs.resolve(model, adapter);
        Map<String, Path> read = inputs.folders();
        OutputDir.refuseInputs(output, "--output", read);
        inputs.prepare();
        try (NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = inputs.load(manager)) {
            LoraModel.of(lm).orElseThrow().merge();
            lm.save(output, bf16 ? SaveOptions.bf16() : SaveOptions.defaults(), inputs.tokenizerDir());
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("merged " + inputs.adapterName().orElseThrow() + " into " + inputs.baseName() + ": " + output);
        out.flush();
        return 0;
    }
}
