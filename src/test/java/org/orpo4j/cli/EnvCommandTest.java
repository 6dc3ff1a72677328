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

    /** The library mvn package built, loaded by orpo4j; not a JNI the user put under DJL (the GPU kit does). */
    @BeforeAll
    static void needsOrpo4jsJni() {
        NativeTests.assumeBf16();
        org.junit.jupiter.api.Assumptions.assumeTrue(
                NativeLoader.choice().source() != NativeLoader.Source.USER_LIBRARY_PATH,
                "PYTORCH_LIBRARY_PATH is set: DJL loads the JNI found there, not the one mvn package built");
    }

    @Test
    void envReportsOrpo4jsJniOverDjlsLibtorchWithBf16AndDistributed() throws IOException {
        Cli.Result r = Cli.run("env").assertSuccess();
        NativeLoader.Choice choice = NativeLoader.choice();
        assertTrue(choice.library() != null, "orpo4j put its JNI under DJL: " + choice);
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
        assertTrue(r.out().contains("sdpa           available"), r.out());
        assertTrue(r.out().contains("malloc         large buffers returned to the OS (M_MMAP_THRESHOLD 4 MiB, M_TRIM_THRESHOLD 64 MiB;"),
                r.out());
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

    /**
     * The jar's own library built for another torch: DJL's JNI instead, and --bf16 and --attn-implementation sdpa
     * refused by name.
     */
    @Test
    void aBundledJniBuiltForAnotherTorchFallsBackToDjlsJni() throws Exception {
        Path classes = dir.resolve("classes");
        otherTorch(classes.resolve("org/orpo4j/native/linux-x86_64"));
        Child env = child(List.of("env"), Map.of(), classes);
        assertEquals(0, env.exitCode(), env.err());
        assertTrue(env.out().contains("JNI chosen by  DJL's default: orpo4j's native library was built for torch 2.6.0"
                + " (cpu) but DJL loads libtorch 2.7.1 (cpu): rebuild orpo4j (mvn package)"), env.out());
        assertTrue(env.out().contains("bf16           unavailable"), env.out());
        assertTrue(env.out().contains("sdpa           unavailable"), env.out());
        Path tiny = Cli.tinyModel(dir.resolve("m"));
        Path data = Cli.demoData(dir, "train.jsonl", 4);
        child(List.of("train", "--model", tiny.toString(), "--data", data.toString(), "--output",
                dir.resolve("run").toString(), "--bf16", "--max-steps", "1"), Map.of(), classes)
                .assertOneLineError("bf16 needs orpo4j's PyTorch JNI", "orpo4j's native library was built for torch"
                        + " 2.6.0", "or train with --fp16");
        child(List.of("train", "--model", tiny.toString(), "--data", data.toString(), "--output",
                dir.resolve("run-sdpa").toString(), "--attn-implementation", "sdpa", "--max-steps", "1"), Map.of(),
                classes).assertOneLineError("attn_implementation sdpa needs orpo4j's PyTorch JNI", "use eager");
    }

    /**
     * A library the dynamic loader rejects (here: it needs a libcXX.so that does not exist; elsewhere: a glibc older
     * than the build machine's): named by ORPO4J_NATIVE, one line; carried in the jar, DJL's JNI and a warning.
     */
    @Test
    void aJniTheLoaderRejectsIsOneLineOrAFallBack() throws Exception {
        Path broken = patched(dir.resolve("broken"), "libc10.so\0", "libcXX.so\0");
        child(List.of("env"), Map.of("ORPO4J_NATIVE", broken.toString()), null).assertOneLineError(
                "DJL could not load orpo4j's native library " + broken, "libcXX.so: cannot open shared object file",
                "rebuild it on this machine (mvn package) or set ORPO4J_NATIVE=off");
        Path classes = dir.resolve("classes");
        patched(classes.resolve("org/orpo4j/native/linux-x86_64"), "libc10.so\0", "libcXX.so\0");
        Child env = child(List.of("env"), Map.of(), classes);
        assertEquals(0, env.exitCode(), env.err());
        assertTrue(env.err().contains("WARN DJL could not load orpo4j's native library"), env.err());
        assertTrue(env.out().contains("bf16           unavailable"), env.out());
        assertTrue(env.out().contains("libcXX.so: cannot open shared object file"), env.out());
        assertTrue(env.out().lines().anyMatch(l -> l.startsWith("libtorch ") && !l.contains(",")), "one libtorch");
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
        Path copy = patched(folder, "orpo4j-native-build:torch=2.7.1", "orpo4j-native-build:torch=2.6.0");
        assertEquals("2.6.0", NativeBuild.read(copy).orElseThrow().torch());
        return copy;
    }

    /** {@code folder/libdjl_torch.so}: the built library with the first {@code from} replaced by {@code to}. */
    private static Path patched(Path folder, String from, String to) throws Exception {
        Path built = NativeLoader.choice().library();
        byte[] bytes = Files.readAllBytes(built);
        byte[] a = from.getBytes(StandardCharsets.US_ASCII);
        byte[] b = to.getBytes(StandardCharsets.US_ASCII);
        assertEquals(a.length, b.length);
        int at = indexOf(bytes, a);
        assertTrue(at >= 0, from + " in " + built);
        System.arraycopy(b, 0, bytes, at, b.length);
        Files.createDirectories(folder);
        return Files.write(folder.resolve("libdjl_torch.so"), bytes);
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
        pb.environment().put("ORPO4J_CACHE_DIR", dir.resolve("cache").toString()); // the tests' copies stay here
        pb.environment().putAll(env);
        pb.redirectOutput(work.resolve("stdout").toFile()).redirectError(work.resolve("stderr").toFile());
        int code = pb.start().waitFor();
        return new Child(code, Files.readString(work.resolve("stdout")), Files.readString(work.resolve("stderr")),
                work);
    }
}
