package org.orpo4j.cli;

import ai.djl.ndarray.NDManager;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SaveOptions;
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

    @Option(names = "--model", required = true, paramLabel = "DIR|ORG/NAME",
            description = "The base HF model folder, or a hub name[@revision].")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "The LoRA adapter folder (PEFT format).")
    Path adapter;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where the merged HF folder goes.")
    Path output;

    @Option(names = "--bf16", description = "Write the merged weights as BF16 (default: F32).")
    boolean bf16;

    @Override
    public Integer call() throws Exception {
        model = Inputs.model(model);
        Inputs.folder(adapter);
        try (NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.load(model, manager)) {
            LoraModel.load(lm, adapter).merge();
            Path tokenizer = Files.exists(adapter.resolve("tokenizer.json")) ? adapter : model;
            lm.save(output, bf16 ? SaveOptions.bf16() : SaveOptions.defaults(), tokenizer);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("merged " + adapter + " into " + model + ": " + output);
        out.flush();
        return 0;
    }
}
