package org.orpo4j.distributed;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Test ranks: child JVMs started as torchrun starts workers (its variables), each logging to a file. */
final class Workers {

    private Workers() {}

    /** A port free on the loopback now. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The java command running {@code main} with this JVM's class path, one torch thread. */
    static List<String> java(Class<?> main, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
                System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Starts {@code cmd} with {@code env} added, stdout and stderr into {@code log}. */
    static Process start(List<String> cmd, Map<String, String> env, Path log) throws IOException {
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        pb.environment().put("OMP_NUM_THREADS", "1");
        return pb.start();
    }

    /** Rank r of a world of {@code world} on this host's loopback at {@code port}. */
    static Process rank(int r, int world, int port, Path log, Class<?> main, String... args) throws IOException {
        return start(java(main, args), new RankEnv(r, r, world, world, "127.0.0.1", port).variables(), log);
    }

    /** Waits for every process (at most {@code seconds}), returns their exit codes; kills them past it. */
    static int[] await(List<Process> ps, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int[] rc = new int[ps.size()];
        for (int i = 0; i < rc.length; i++) {
            long left = Math.max(1, deadline - System.nanoTime());
            if (!ps.get(i).waitFor(left, TimeUnit.NANOSECONDS)) {
                ps.forEach(Process::destroyForcibly);
                throw new AssertionError("worker " + i + " still running after " + seconds + " s");
            }
            rc[i] = ps.get(i).exitValue();
        }
        return rc;
    }

    static String log(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file) : "";
    }
}
