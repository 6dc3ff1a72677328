package org.orpo4j.cli;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.FusedAttention;
import org.orpo4j.runtime.MallocTuning;
import org.orpo4j.runtime.NativeFeatures;
import org.orpo4j.runtime.NativeLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code env}: what this orpo4j runs on. Which PyTorch JNI and libtorch the JVM loaded (orpo4j's JNI or DJL's, and
 * why), the devices, and whether bf16 and distributed training are available: the first thing to look at when
 * {@code --bf16} is refused.
 */
@Command(name = "env", mixinStandardHelpOptions = true,
        description = "Show the PyTorch JNI and libtorch loaded, the devices, and whether bf16 and distributed are available.")
final class EnvCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Engine engine = DjlRuntime.engine();
        NativeLoader.Choice choice = NativeLoader.choice();
        NativeFeatures.Loaded loaded = NativeFeatures.loaded();
        var build = NativeFeatures.orpo4jBuild();

        line(out, "orpo4j", new Version().getVersion()[0].replaceFirst("^orpo4j ", "") + " (Java " + System.getProperty("java.version") + ", "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ")");
        line(out, "PyTorch", engine.getVersion() + " through DJL " + Engine.getDjlVersion());
        line(out, "libtorch", paths(loaded.libtorch()) + (loaded.libtorch().size() > 1 ? "  (MORE THAN ONE)" : ""));
        line(out, "JNI", (build.isPresent() ? "orpo4j's" : "not orpo4j's") + ": " + paths(loaded.jni())
                + build.map(b -> " (" + b.describe() + ")").orElse(""));
        line(out, "JNI chosen by", chosenBy(choice));
        int gpus = DjlRuntime.gpuCount();
        line(out, "devices", "cpu (" + JniUtils.getNumThreads() + " threads)" + (gpus == 0 ? ", no GPU"
                : IntStream.range(0, gpus).mapToObj(i -> ", cuda:" + i).collect(Collectors.joining())));
        String cpuBf16 = cpuBf16Flags();
        line(out, "bf16", NativeFeatures.bfloat16()
                ? "available" + (cpuBf16.isEmpty() ? " (this CPU has no bf16 instructions: slow on CPU)"
                        : " (CPU: " + cpuBf16 + ")")
                : "unavailable: " + NativeFeatures.bfloat16Missing());
        line(out, "distributed", NativeFeatures.distributed()
                ? "available (c10d TCPStore, PrefixStore, ProcessGroupGloo in libtorch)"
                : "unavailable: " + (build.isEmpty() ? "needs orpo4j's JNI" : "libtorch has no c10d"));
        line(out, "sdpa", FusedAttention.available()
                ? "available (torch's fused scaled_dot_product_attention: --attn-implementation sdpa)"
                : "unavailable: needs orpo4j's JNI");
        line(out, "malloc", MallocTuning.describe());
        out.flush();
        return 0;
    }

    private static String chosenBy(NativeLoader.Choice choice) {
        return switch (choice.source()) {
            case USER_LIBRARY_PATH -> "PYTORCH_LIBRARY_PATH";
            case EXPLICIT -> "ORPO4J_NATIVE / -Dorpo4j.native";
            case BUNDLED -> "the library in orpo4j's jar (built by mvn package)";
            case DJL -> "DJL's default: " + choice.reason();
        };
    }

    private static String paths(List<Path> files) {
        return files.isEmpty() ? "?" : files.stream().map(Path::toString).collect(Collectors.joining(", "));
    }

    /** The CPU's bf16 instruction sets ({@code avx512_bf16}, {@code amx_bf16}), from /proc/cpuinfo. */
    static String cpuBf16Flags() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("flags")) {
                    List<String> found = new ArrayList<>();
                    for (String flag : l.substring(l.indexOf(':') + 1).strip().split(" ")) {
                        if (flag.equals("avx512_bf16") || flag.equals("amx_bf16")) {
                            found.add(flag);
                        }
                    }
                    return String.join(", ", found);
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return "";
    }

    private static void line(PrintWriter out, String key, String value) {
        out.printf(Locale.ROOT, "%-14s %s%n", key, value);
    }
}
