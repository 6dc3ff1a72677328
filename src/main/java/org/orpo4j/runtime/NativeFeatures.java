package org.orpo4j.runtime;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What the loaded PyTorch JNI and libtorch can do beyond DJL's own build. orpo4j's JNI (docs/native.md) knows
 * bfloat16 and records autograd history in dtype casts; DJL's records none and terminates the JVM on any bfloat16
 * array, so bfloat16 can't be probed directly. The cast is probed instead (one backward through a float32 -> float64
 * cast of a one-element leaf), once per process, and stands for the whole build.
 */
public final class NativeFeatures {

    /** c10d's classes orpo4j's distributed training needs, by their vtables' mangled names. */
    static final List<String> C10D_SYMBOLS = List.of("_ZTVN4c10d8TCPStoreE", "_ZTVN4c10d11PrefixStoreE",
            "_ZTVN4c10d16ProcessGroupGlooE");

    private static volatile Boolean orpo4jJni;

    private NativeFeatures() {}

    /** True when {@code toType} keeps the autograd graph (orpo4j's JNI). */
    public static boolean differentiableCasts() {
        Boolean known = orpo4jJni;
        if (known == null) {
            synchronized (NativeFeatures.class) {
                if (orpo4jJni == null) {
                    orpo4jJni = probe();
                }
                known = orpo4jJni;
            }
        }
        return known;
    }

    /** True when bfloat16 arrays can exist (orpo4j's JNI); creating one otherwise kills the JVM. */
    public static boolean bfloat16() {
        return differentiableCasts();
    }

    /** The build record of the loaded JNI when it is orpo4j's. */
    public static Optional<NativeBuild> orpo4jBuild() {
        return NativeExtension.loaded();
    }

    /**
     * True when the loaded libtorch has c10d (TCPStore, PrefixStore, ProcessGroupGloo) and orpo4j's JNI, which
     * reaches it, is loaded: what distributed training needs.
     */
    public static boolean distributed() {
        return C10D_SYMBOLS.stream().allMatch(NativeExtension::torchExportsSymbol);
    }

    /** The files of the PyTorch JNI and of libtorch this process mapped (normally one each), from /proc/self/maps. */
    public static Loaded loaded() {
        DjlRuntime.engine();
        Set<Path> jni = new LinkedHashSet<>();
        Set<Path> libtorch = new LinkedHashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash < 0) {
                    continue;
                }
                Path file = Path.of(line.substring(slash).strip());
                String name = file.getFileName().toString();
                if (name.endsWith("libdjl_torch.so")) {
                    jni.add(file);
                } else if (name.equals("libtorch_cpu.so")) {
                    libtorch.add(file);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: nothing to say
        }
        return new Loaded(List.copyOf(jni), List.copyOf(libtorch));
    }

    /**
     * @param jni every {@code libdjl_torch.so} mapped
     * @param libtorch every {@code libtorch_cpu.so} mapped: one, unless something loaded a second libtorch
     */
    public record Loaded(List<Path> jni, List<Path> libtorch) {}

    /** The one-line reason {@code --bf16} is refused, naming the fix. */
    public static String bfloat16Missing() {
        NativeLoader.Choice choice = NativeLoader.choice();
        String why = choice == null || choice.reason() == null ? "the loaded PyTorch JNI has none"
                : choice.reason();
        return "bf16 needs orpo4j's PyTorch JNI (DJL's own terminates the JVM on the first bfloat16 array) and it is"
                + " not loaded: " + why + "; or train with --fp16 (docs/native.md)";
    }

    private static boolean probe() {
        try (NDManager manager = DjlRuntime.newManager(ai.djl.Device.cpu());
                GradMode on = GradMode.enabled(true)) {
            NDArray x = manager.ones(new ai.djl.ndarray.types.Shape(1));
            x.setRequiresGradient(true);
            NDArray y = x.toType(DataType.FLOAT64, false);
            try {
                JniUtils.backward((PtNDArray) y, (PtNDArray) y.onesLike(), false, false);
            } catch (EngineException noGraph) {
                return false; // "element 0 of tensors does not require grad": the cast cut the graph
            }
            return x.getGradient().getFloat(0) == 1f;
        }
    }
}
