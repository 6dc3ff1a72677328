package org.orpo4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code mvn package} says when it can't build orpo4j's JNI (scripts/native/maven-native.sh): a missing C++
 * compiler, missing or wrong torch headers, no pip to fetch them, a C++ ABI that differs from DJL's libtorch. Each
 * is one line naming the problem and the fix; by default the build goes on without the library (exit 0), with
 * {@code required} it fails. Every case runs against an empty cache folder, so nothing cached hides it.
 */
@EnabledOnOs(value = OS.LINUX, architectures = "amd64") // where the build makes the library at all
class NativeBuildScriptTest {

    private static final String PREFIX = "orpo4j native: not built, bf16 unavailable: ";

    @TempDir
    Path dir;

    @Test
    void noCompilerIsOneLineNamingTheFix() throws Exception {
        Run auto = run("auto", Map.of("CXX", "/nonexistent/c++"));
        auto.assertUnavailable("no C++ compiler (/nonexistent/c++ not on PATH): install one (apt-get install g++) or"
                + " set CXX, then rerun mvn package");
        Run required = run("required", Map.of("CXX", "/nonexistent/c++"));
        assertEquals(1, required.code(), required.toString());
        assertEquals(List.of("orpo4j native: FAILED: no C++ compiler (/nonexistent/c++ not on PATH): install one"
                + " (apt-get install g++) or set CXX, then rerun mvn package (-Dorpo4j.native.build=required)"),
                required.err().lines().toList());
    }

    @Test
    void missingHeadersAreOneLineNamingTheFix() throws Exception {
        run("auto", Map.of("ORPO4J_TORCH_INCLUDE", dir.resolve("none").toString())).assertUnavailable(
                "missing headers: ORPO4J_TORCH_INCLUDE=" + dir.resolve("none") + " has no torch/script.h (point it at"
                        + " a torch 2.7.1 include folder)");
        run("auto", Map.of("ORPO4J_PYTHON", "/nonexistent/python3")).assertUnavailable("missing headers: no pip"
                + " (/nonexistent/python3) to fetch torch 2.7.1's C++ headers from PyPI: install python3-pip, or set"
                + " ORPO4J_TORCH_INCLUDE to a torch 2.7.1 include folder");
    }

    @Test
    void headersOfAnotherTorchAreOneLine() throws Exception {
        Path include = fakeHeaders(dir.resolve("h260"), "2.6.0");
        run("auto", Map.of("ORPO4J_TORCH_INCLUDE", include.toString())).assertUnavailable("missing headers: "
                + include + " holds torch 2.6.0 headers, DJL loads libtorch 2.7.1 (use that version's include folder)");
    }

    /** The headers' TorchConfig.cmake says ABI 0; DJL's libc10 exports std::__cxx11 symbols (ABI 1). */
    @Test
    void anAbiMismatchIsOneLine() throws Exception {
        Path cache = dir.resolve("cache");
        fakeHeaders(cache.resolve("torch-2.7.1/include"), "2.7.1");
        Files.writeString(cache.resolve("torch-2.7.1/TorchConfig.cmake"),
                "  set(TORCH_CXX_FLAGS \"-D_GLIBCXX_USE_CXX11_ABI=0\")\n");
        run("auto", Map.of("ORPO4J_CACHE_DIR", cache.toString())).assertUnavailable("ABI mismatch: torch 2.7.1's"
                + " headers were built with _GLIBCXX_USE_CXX11_ABI=0, DJL's libtorch with 1: use headers of a torch built"
                + " like DJL's (ORPO4J_TORCH_INCLUDE)");
    }

    @Test
    void offSkipsTheBuildAndRemovesAStaleLibrary() throws Exception {
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("libdjl_torch.so"), "stale");
        Run off = run("off", Map.of(), out);
        assertEquals(0, off.code(), off.toString());
        assertEquals(List.of("orpo4j native: off (-Dorpo4j.native.build=off): DJL's own JNI, no bf16"),
                off.out().lines().toList());
        assertFalse(Files.exists(out.resolve("libdjl_torch.so")));
    }

    private record Run(int code, String out, String err) {

        /** The default mode: exit 0, exactly one line, the library absent. */
        void assertUnavailable(String reason) {
            assertEquals(0, code, toString());
            assertEquals(List.of(PREFIX + reason), out.lines().toList(), toString());
            assertTrue(err.isEmpty(), toString());
        }
    }

    private Run run(String mode, Map<String, String> env) throws Exception {
        return run(mode, env, dir.resolve("out"));
    }

    /** maven-native.sh as the pom runs it, against an empty cache unless {@code env} names one. */
    private Run run(String mode, Map<String, String> env, Path out) throws Exception {
        Path work = Files.createTempDirectory(dir, "work");
        List<String> cmd = new ArrayList<>(List.of("bash", "scripts/native/maven-native.sh", "--mode", mode,
                "--torch-version", "2.7.1", "--djl-version", "0.36.0", "--djl-native-jar", djlNativeJar().toString(),
                "--out", out.toString(), "--work", work.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("ORPO4J_CACHE_DIR", dir.resolve("empty-cache").toString());
        pb.environment().remove("ORPO4J_TORCH_INCLUDE");
        pb.environment().putAll(env);
        pb.redirectOutput(work.resolve("stdout").toFile()).redirectError(work.resolve("stderr").toFile());
        int code = pb.start().waitFor();
        return new Run(code, Files.readString(work.resolve("stdout")), Files.readString(work.resolve("stderr")));
    }

    /** A folder that passes for torch headers of {@code version}: torch/script.h and torch's version.h. */
    private static Path fakeHeaders(Path include, String version) throws IOException {
        Files.createDirectories(include.resolve("torch/csrc/api/include/torch"));
        Files.writeString(include.resolve("torch/script.h"), "#pragma once\n");
        Files.writeString(include.resolve("torch/csrc/api/include/torch/version.h"),
                "#define TORCH_VERSION \\\n  \"" + version + "\"\n");
        return include;
    }

    /** DJL's pytorch-native-cpu jar on this test's class path. */
    private static Path djlNativeJar() throws Exception {
        URL url = NativeBuildScriptTest.class.getClassLoader().getResource("pytorch/cpu/linux-x86_64/libc10.so");
        String jar = url.getPath(); // file:/.../pytorch-native-cpu-2.7.1-linux-x86_64.jar!/pytorch/...
        return Path.of(new java.net.URI(jar.substring(0, jar.indexOf("!/"))));
    }
}
