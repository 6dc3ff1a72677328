package org.orpo4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.orpo4j.export.GgufExport;
import org.orpo4j.export.OutType;
import org.orpo4j.train.OutputDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code export}: a model (an adapter merged in first) as one GGUF file for llama.cpp and Ollama. */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Export a HF model (with a LoRA adapter merged in) as a GGUF file for llama.cpp and Ollama.")
final class ExportCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    AdapterOption adapterOption;

    @Option(names = "--model", paramLabel = "DIR|ORG/NAME",
            description = "HF model folder (with tokenizer), or a hub name[@revision]; optional with --adapter.")
    String model;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "gguf",
            description = "The file format: gguf. Default: ${DEFAULT-VALUE}.")
    String format;

    @Option(names = "--outtype", paramLabel = "TYPE", defaultValue = "f16",
            description = "Weight matrices as f32, f16, bf16 or q8_0 (norms and biases stay f32). Default:"
                    + " ${DEFAULT-VALUE}.")
    String outtype;

    @Option(names = "--output", required = true, paramLabel = "FILE.gguf",
            description = "The GGUF file to write (never inside the model or adapter folder).")
    Path output;

    @Option(names = "--name", paramLabel = "NAME",
            description = "general.name in the file. Default: the model's folder or hub name.")
    String name;

    @Override
    public Integer call() throws Exception {
        if (!format.equalsIgnoreCase("gguf")) {
            throw new ParameterException(spec.commandLine(), "--format " + format + ": only gguf is supported");
        }
        OutType type;
        try {
            type = OutType.parse(outtype);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--outtype " + outtype + ": expected f32, f16, bf16"
                    + " or q8_0");
        }
        ModelInputs inputs = ModelInputs.resolve(model, adapterOption.adapter);
        Map<String, Path> read = inputs.folders();
        OutputDir.refuseInputs(output, "--output", read);
        inputs.prepare();
        String given = name != null ? name : lastPart(inputs.adapterName().orElse(inputs.baseName()));
        GgufExport.Result r = GgufExport.export(inputs.baseDir(), inputs.adapterDir().orElse(null),
                inputs.tokenizerDir(), type, output, given);
        PrintWriter out = spec.commandLine().getOut();
        out.println("exported " + inputs.baseName() + inputs.adapterName().map(a -> " + " + a).orElse("") + " as "
                + r.architecture() + " " + type.flagName() + " GGUF (" + r.tensors() + " tensors, "
                + r.bytes() / (1 << 20) + " MB): " + r.file());
        out.flush();
        return 0;
    }

    /** The last component of a folder path or hub name ({@code org/name@rev} gives {@code name}). */
    private static String lastPart(String given) {
        String s = given.replaceAll("@.*$", "").replaceAll("[/\\\\]+$", "");
        int slash = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
        return slash >= 0 ? s.substring(slash + 1) : s;
    }
}
