package org.orpo4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link MallocTuning}: freed activations leave the process with orpo4j's JNI, and the user's own tuning wins. */
class MallocTuningTest {

    @Test
    void theUsersOwnMallocTuningIsLeftAlone() {
        assertNull(MallocTuning.userTuning(Map.of("HOME", "/root")));
        assertEquals("MALLOC_TRIM_THRESHOLD_", MallocTuning.userTuning(Map.of("MALLOC_TRIM_THRESHOLD_", "1")));
        assertEquals("MALLOC_MMAP_THRESHOLD_", MallocTuning.userTuning(Map.of("MALLOC_MMAP_THRESHOLD_", "1")));
        assertEquals("GLIBC_TUNABLES", MallocTuning.userTuning(Map.of("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1")));
        assertNull(MallocTuning.userTuning(Map.of("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX2")));
        assertEquals("ORPO4J_MALLOC=default", MallocTuning.userTuning(Map.of("ORPO4J_MALLOC", "default")));
    }

    /**
     * A 24 MiB tensor freed below a live one: with glibc's dynamic threshold (ORPO4J_MALLOC=default) it came from
     * the heap and stays in the process; tuned, it was mapped and goes back to the OS whole.
     */
    @Test
    @Tag("native")
    void aFreedLargeTensorGoesBackToTheOs() throws Exception {
        NativeTests.assumeBf16(); // orpo4j's JNI, which carries the tuning
        double tuned = returnedMb(Map.of());
        double glibc = returnedMb(Map.of("ORPO4J_MALLOC", "default"));
        assertTrue(tuned > 20, "tuned: " + tuned + " MB returned of 24");
        assertTrue(glibc < 4, "glibc's defaults: " + glibc + " MB returned of 24");
    }

    private static double returnedMb(Map<String, String> env) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"),
                MallocProbe.class.getName()));
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true);
        builder.environment().keySet().removeIf(k -> k.startsWith("MALLOC_") || k.equals("GLIBC_TUNABLES")
                || k.equals(MallocTuning.ENV));
        builder.environment().putAll(env);
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        Matcher m = Pattern.compile("RETURNED_MB=(-?[0-9.]+)").matcher(out);
        assertTrue(m.find(), out);
        return Double.parseDouble(m.group(1));
    }
}
