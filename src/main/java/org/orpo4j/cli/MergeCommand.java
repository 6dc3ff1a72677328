package org.orpo4j.cli;

import ai.djl.ndarray.NDManager;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.LoadOptions;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.DType;
import org.orpo4j.safetensors.SaveOptions;
import org.orpo4j.train.OutputDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code merge}: a LoRA adapter folded into its base model ({@code W += s·B·A}), written as a full HF folder; a 4-bit
 * base (pre-quantized, or {@code --load-in-4bit} as the adapter was trained) is dequantized first, as PEFT's merge.
 */
@Command(name = "merge", mixinStandardHelpOptions = true, modelTransformer = FourBitOptions.Transformer.class,
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

    @Option(names = "--bf16", description = "Write the merged weights as BF16 (the same as --dtype bfloat16).")
    boolean bf16;

    @Option(names = "--dtype", paramLabel = "TYPE", description = "The merged weights' dtype: float32, bfloat16 or"
            + " float16. Default: float32.")
    String dtype;

    @Override
    public Integer call() throws Exception {
        SaveOptions save = saveOptions();
        LoadOptions load = FourBitOptions.read(spec.commandLine().getParseResult(), spec.commandLine());
        ModelInputs inputs = ModelInputs.resolve(model, adapter);
        Map<String, Path> read = inputs.folders();
        OutputDir.refuseInputs(output, "--output", read);
        inputs.prepare();
        try (NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = inputs.load(manager, load)) {
            LoraModel.of(lm).orElseThrow().merge();
            lm.save(output, save, inputs.tokenizerDir());
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("merged " + inputs.adapterName().orElseThrow() + " into " + inputs.baseName() + ": " + output);
        out.flush();
        return 0;
    }

    /** {@code --dtype} (or {@code --bf16}) as save options; an unknown name, or both disagreeing, is bad usage. */
    private SaveOptions saveOptions() {
        if (dtype == null) {
            return bf16 ? SaveOptions.bf16() : SaveOptions.defaults();
        }
        DType type = switch (dtype) {
            case "float32" -> DType.F32;
            case "bfloat16" -> DType.BF16;
            case "float16" -> DType.F16;
            default -> throw new ParameterException(spec.commandLine(), "--dtype " + dtype
                    + " must be float32, bfloat16 or float16");
        };
        if (bf16 && type != DType.BF16) {
            throw new ParameterException(spec.commandLine(), "--bf16 and --dtype " + dtype + " disagree");
        }
        return SaveOptions.defaults().withDtype(type);
    }
}
