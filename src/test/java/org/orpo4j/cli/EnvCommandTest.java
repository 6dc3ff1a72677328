package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.util.Utils;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.runtime.NativeBuild;
import org.orpo4j.runtime.NativeFeatures;
import org.orpo4j.runtime.NativeLoader;
import org.orpo4j.runtime.NativeTests;

/**
 * {@code orpo4j env} and the choice of JNI behind it (docs/native.md). In this JVM (the build's library in the
 * classes): orpo4j's JNI over DJL's own libtorch, one libtorch mapped, bf16 and distributed available. In child JVMs:
 * a JNI whose build record names another torch is refused before anything is loaded, in one line naming the problem
 * and the fix, never a crash, whether named by {@code ORPO4J_NATIVE} (an error) or carried in the jar (DJL's JNI
 * then, bf16 refused by name); {@code ORPO4J_NATIVE=off} falls back to DJL's JNI.
 */
@Tag("native")
class EnvCommandTest {

    @TempDir
    Path dir;

    @BeforeAll
    static void needsOrpo4jsJni() {
        NativeTests.assumeBf16();
    }

    @Test
    void envReportsOrpo4jsJniOverDjlsLibtorchWithBf16AndDistributed() throws IOException {
        Cli.Result r = Cli.run("env").assertSuccess();
        NativeLoader.Choice choice = NativeLoader.choice();
        assertEquals(NativeLoader.Source.BUNDLED, choice.source(), "the library mvn package put into the classes");
        NativeFeatures.Loaded loaded = NativeFeatures.loaded();
        assertEquals(1, loaded.libtorch().size(), "one libtorch in the JVM: " + loaded.libtorch());
        assertTrue(loaded.libtorch().get(0).startsWith(Utils.getEngineCacheDir("pytorch").toRealPath()),
                "DJL's own libtorch: " + loaded.libtorch());
        assertEquals(List.of(choice.library().toRealPath()), loaded.jni(), "orpo4j's JNI is the one mapped");
        NativeBuild build = NativeBuild.read(loaded.jni().get(0)).orElseThrow();
        assertEquals(build, NativeFeatures.orpo4jBuild().orElseThrow(), "the loaded library's own record");
        assertEquals("2.7.1", build.torch());
        assertTrue(build.cxx11Abi());
        assertTrue(r.out().contains("bf16           available"), r.out());
        assertTrue(r.out().contains("distributed    available"), r.out());
        assertTrue(r.out().contains("JNI            orpo4j's: " + loaded.jni().get(0)), r.out());
        assertTrue(r.out().contains("libtorch       " + loaded.libtorch().get(0)), r.out());
    }

    @Test
    void aJniBuiltForAnotherTorchNamedByOrpo4jNativeIsRefusedInOneLine() throws Exception {
        Path other = otherTorch(dir.resolve("other"));
        Child c = child(List.of("env"), Map.of("ORPO4J_NATIVE", other.toString()), null);
        c.assertOneLineError("ORPO4J_NATIVE=" + other + " was built for torch 2.6.0 (cpu) but DJL loads libtorch"
                + " 2.7.1 (cpu)", "rebuild it against torch 2.7.1", "unset ORPO4J_NATIVE");
    }

    @Test
    void aJniWithoutABuildRecordIsRefusedInOneLine() throws Exception {
        ai.djl.util.Platform platform = ai.djl.util.Platform.detectPlatform("pytorch");
        Path djls = Utils.getEngineCacheDir("pytorch").resolve(platform.getVersion() + "-" + platform.getFlavor() + "-"
                + platform.getClassifier()).resolve(platform.getApiVersion() + "-libdjl_torch.so"); // DJL's own
        child(List.of("env"), Map.of("ORPO4J_NATIVE", djls.toString()), null)
                .assertOneLineError("is not a JNI orpo4j built (it has no build record)", "mvn package");
        child(List.of("env"), Map.of("ORPO4J_NATIVE", dir.resolve("nothing.so").toString()), null)
                .assertOneLineError("no such file");
    }

    /** The jar's own library built for another torch: DJL's JNI instead, and --bf16 refused by name. */
    @Test
    void aBundledJniBuiltForAnotherTorchFallsBackToDjlsJni() throws Exception {
        Path classes = dir.resolve("classes");
        otherTorch(classes.resolve("org/orpo4j/native/linux-x86_64"));
        Child env = child(List.of("env"), Map.of(), classes);
        assertEquals(0, env.exitCode(), env.err());
        assertTrue(env.out().contains("JNI chosen by  DJL's default: orpo4j's native library was built for torch 2.6.0"
                + " (cpu) but DJL loads libtorch 2.7.1 (cpu): rebuild orpo4j (mvn package)"), env.out());
        assertTrue(env.out().contains("bf16           unavailable"), env.out());
        Path tiny = Cli.tinyModel(dir.resolve("m"));
        Path data = Cli.demoData(dir, "train.jsonl", 4);
        child(List.of("train", "--model", tiny.toString(), "--data", data.toString(), "--output",
                dir.resolve("run").toString(), "--bf16", "--max-steps", "1"), Map.of(), classes)
                .assertOneLineError("bf16 needs orpo4j's PyTorch JNI", "orpo4j's native library was built for torch"
                        + " 2.6.0", "or train with --fp16");
    }

    @Test
    void orpo4jNativeOffMeansDjlsJni() throws Exception {
        Child env = child(List.of("env"), Map.of("ORPO4J_NATIVE", "off"), null);
        assertEquals(0, env.exitCode(), env.err());
        assertTrue(env.out().contains("JNI            not orpo4j's: "), env.out());
        assertTrue(env.out().contains("bf16           unavailable: bf16 needs orpo4j's PyTorch JNI"), env.out());
        assertTrue(env.out().contains("ORPO4J_NATIVE=off"), env.out());
    }

    /** A copy of the built library whose build record says torch 2.6.0 (same length, so the file stays valid). */
    private static Path otherTorch(Path folder) throws Exception {
        Path built = NativeLoader.choice().library();
        byte[] bytes = Files.readAllBytes(built);
        byte[] from = "orpo4j-native-build:torch=2.7.1".getBytes(StandardCharsets.US_ASCII);
        byte[] to = "orpo4j-native-build:torch=2.6.0".getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(bytes, from);
        assertTrue(at >= 0, "the build record of " + built);
        System.arraycopy(to, 0, bytes, at, to.length);
        Files.createDirectories(folder);
        Path copy = Files.write(folder.resolve("libdjl_torch.so"), bytes);
        assertEquals("2.6.0", NativeBuild.read(copy).orElseThrow().torch());
        return copy;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private record Child(int exitCode, String out, String err, Path workDir) {

        /**
         * Exit 1 with one error line on stderr (besides log lines) holding every fragment; no crash report, no stack
         * trace.
         */
        void assertOneLineError(String... fragments) throws IOException {
            assertEquals(1, exitCode, () -> "exit code (a crash exits 134 or 139); stderr: " + err);
            List<String> lines = err.lines().filter(l -> !l.isBlank() && !l.matches("\\d\\d:\\d\\d:\\d\\d (INFO|WARN) .*"))
                    .toList();
            assertEquals(1, lines.size(), () -> "one error line expected, got:\n" + err);
            assertFalse(err.contains("\tat "), () -> "stack trace printed:\n" + err);
            for (String f : fragments) {
                assertTrue(err.contains(f), () -> "stderr should contain '" + f + "': " + err);
            }
            try (Stream<Path> files = Files.list(workDir)) {
                assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith("hs_err")), "a JVM crash log");
            }
        }
    }

    /** orpo4j in a child JVM in its own working folder, with {@code env} added and {@code classesFirst} leading. */
    private Child child(List<String> args, Map<String, String> env, Path classesFirst) throws Exception {
        Path work = Files.createTempDirectory(dir, "child");
        List<String> cmd = new ArrayList<>(Cli.childCommand(args));
        if (classesFirst != null) {
            int cp = cmd.indexOf("-cp") + 1;
            cmd.set(cp, classesFirst + java.io.File.pathSeparator + cmd.get(cp));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
        pb.environment().remove("PYTORCH_LIBRARY_PATH");
        pb.environment().remove("ORPO4J_NATIVE");
        pb.environment().putAll(env);
        pb.redirectOutput(work.resolve("stdout").toFile()).redirectError(work.resolve("stderr").toFile());
        int code = pb.start().waitFor();
        return new Child(code, Files.readString(work.resolve("stdout")), Files.readString(work.resolve("stderr")),
                work);
    }
}
