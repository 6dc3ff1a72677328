package org.orpo4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The scripts around the native build stay consistent without a GPU: every script parses, and the GPU check kit
 * (scripts/gpu/device-check.sh, run where no test here can follow) calls scripts/native/build-djl-jni.sh, the script
 * {@code mvn package} uses, with options that script takes, on sources the working tree carries.
 */
class NativeScriptsTest {

    @Test
    void everyScriptParses() throws Exception {
        List<Path> scripts;
        try (Stream<Path> files = Files.walk(Path.of("scripts"))) {
            scripts = files.filter(p -> p.toString().endsWith(".sh")).sorted().toList();
        }
        assertTrue(scripts.size() >= 5, scripts.toString());
        for (Path script : scripts) {
            Process p = new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertEquals(0, p.waitFor(), script + ": " + out);
        }
    }

    @Test
    void theGpuKitBuildsTheJniWithOptionsTheBuildScriptTakes() throws Exception {
        String build = Files.readString(Path.of("scripts/native/build-djl-jni.sh"));
        Set<String> accepted = new TreeSet<>();
        Matcher option = Pattern.compile("^\\s+(--[a-z-]+)\\) ", Pattern.MULTILINE).matcher(build);
        while (option.find()) {
            accepted.add(option.group(1));
        }
        assertTrue(accepted.containsAll(List.of("--torch", "--torch-include", "--torch-lib", "--out", "--jobs",
                "--flavor", "--key", "--runtime-dir")), accepted.toString());
        for (String caller : List.of("scripts/gpu/device-check.sh", "scripts/native/maven-native.sh")) {
            String text = Files.readString(Path.of(caller));
            Matcher runs = Pattern.compile("bash \"?(\\$ROOT/)?scripts/native/build-djl-jni\\.sh").matcher(text);
            assertTrue(runs.find(), caller + " runs build-djl-jni.sh");
            int at = runs.start();
            String call = text.substring(at, text.indexOf(';', at)); // up to the `; then` of its `if`
            Matcher used = Pattern.compile("(--[a-z-]+) ").matcher(call);
            int n = 0;
            while (used.find()) {
                assertTrue(accepted.contains(used.group(1)), caller + " passes " + used.group(1) + ", which"
                        + " build-djl-jni.sh does not take: " + accepted);
                n++;
            }
            assertTrue(n >= 3, caller + ": " + call);
            assertFalse(call.contains("--djl-src"), "DJL's sources are in src/main/native now");
        }
    }

    /** What build-djl-jni.sh compiles: the folders of its LIBRARIES line, each with .cc files, and the JNI header. */
    @Test
    void theSourcesTheBuildNamesAreInTheTree() throws Exception {
        String build = Files.readString(Path.of("scripts/native/build-djl-jni.sh"));
        Matcher libraries = Pattern.compile("LIBRARIES=\\(\"libdjl_torch.so:([a-z0-9 ]+)\"\\)").matcher(build);
        assertTrue(libraries.find(), "the LIBRARIES line");
        for (String folder : libraries.group(1).split(" ")) {
            try (Stream<Path> files = Files.list(Path.of("src/main/native", folder))) {
                assertTrue(files.anyMatch(p -> p.toString().endsWith(".cc")), folder + " has sources");
            }
        }
        assertTrue(Files.isRegularFile(Path.of("src/main/native/djl/include/ai_djl_pytorch_jni_PyTorchLibrary.h")));
        assertTrue(Files.isRegularFile(Path.of("src/main/native/djl/include/djl/utils.h")));
        for (String notice : List.of("LICENSE", "NOTICE", "ORIGIN.md")) {
            assertTrue(Files.isRegularFile(Path.of("src/main/native/djl", notice)), notice);
        }
    }
}
