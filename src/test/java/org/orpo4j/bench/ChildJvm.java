package org.orpo4j.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Benchmarks run each measured configuration in its own process (a JVM, or a Python reference), so that its peak
 * RSS (VmHWM) is its own; the child reports one {@code RESULT k=v ...} line.
 */
final class ChildJvm {

    private ChildJvm() {}

    /**
     * Runs {@code main} with {@code args} in a child JVM (2 GB heap, offline DJL on {@code threads} threads, plus
     * {@code properties} as -D flags), echoes its output and returns its {@code RESULT k=v ...} line.
     */
    static Map<String, String> run(Class<?> main, int threads, Map<String, String> properties, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=" + threads,
                "-Dai.djl.pytorch.num_interop_threads=" + threads, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
        properties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        return runCommand(cmd);
    }

    /**
     * Runs any benchmark child (a JVM, a Python reference), echoes its output and returns its {@code RESULT k=v ...}
     * line; a child that fails or prints no result fails the benchmark.
     */
    static Map<String, String> runCommand(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Map<String, String> result = new LinkedHashMap<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("RESULT ")) {
                    for (String kv : line.substring(7).trim().split(" ")) {
                        result.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                    }
                }
                System.out.println("  | " + line);
            }
        }
        int rc = p.waitFor();
        if (rc != 0 || result.isEmpty()) {
            throw new IllegalStateException("benchmark child failed (exit " + rc + "): " + String.join(" ", cmd));
        }
        return result;
    }

    /** A /proc/self/status field (VmHWM: peak RSS) in MB. */
    static long status(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        throw new IllegalStateException(field);
    }
}
