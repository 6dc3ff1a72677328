package org.orpo4j.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The Python the tracking tests read orpo4j's output with: a venv of src/test/python/tracking/requirements.txt
 * (TensorBoard, MLflow, every package pinned), made once per machine under the temp folder and named by the file's
 * hash, so a changed pin makes a new one. Tests that need it are skipped, saying why, only where no python3 exists;
 * a venv that cannot be built fails them.
 */
public final class TrackingPython {

    static final Path REQUIREMENTS = Path.of("src/test/python/tracking/requirements.txt");
    static final Path SCRIPTS = Path.of("src/test/python/tracking");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path venv;

    private TrackingPython() {}

    /** The venv's python, built on first use (about a minute, downloads included). */
    public static synchronized Path python() throws Exception {
        if (venv != null) {
            return venv.resolve("bin/python");
        }
        String base = System.getenv().getOrDefault("ORPO4J_TEST_PYTHON", "python3");
        Assumptions.assumeTrue(onPath(base), "no " + base + " on PATH: the TensorBoard and MLflow reader checks need"
                + " Python 3.11+ (set ORPO4J_TEST_PYTHON to use another)");
        String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(REQUIREMENTS))).substring(0, 12);
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "orpo4j-tracking-venv-" + hash);
        Path ready = dir.resolve(".ready");
        Path lockFile = Path.of(System.getProperty("java.io.tmpdir"), "orpo4j-tracking-venv-" + hash + ".lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = channel.lock()) {
            if (!Files.exists(ready)) {
                if (Files.exists(dir)) {
                    run(List.of("rm", "-rf", dir.toString()), 60);
                }
                run(List.of(base, "-m", "venv", dir.toString()), 300);
                run(List.of(dir.resolve("bin/pip").toString(), "install", "--quiet", "--disable-pip-version-check",
                        "-r", REQUIREMENTS.toAbsolutePath().toString()), 900);
                Files.writeString(ready, "");
            }
        }
        venv = dir;
        return venv.resolve("bin/python");
    }

    /** The venv's folder of executables ({@code mlflow}). */
    public static Path bin() throws Exception {
        return python().getParent();
    }

    /** Runs a script of src/test/python/tracking with {@code args}; its stdout parsed as JSON. */
    public static JsonNode json(String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(python().toString(),
                SCRIPTS.resolve(script).toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        return JSON.readTree(run(cmd, 300));
    }

    /**
     * Runs {@code cmd} in a scratch folder (nothing it writes lands in the working tree), returning stdout; a non-zero
     * exit fails with its stderr.
     */
    public static String run(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
        Path scratch = Files.createTempDirectory("orpo4j-python");
        Path err = scratch.resolve("stderr");
        try {
            Process p = new ProcessBuilder(cmd).directory(scratch.toFile()).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(timeoutSeconds, TimeUnit.SECONDS), "timed out: " + cmd);
            String stderr = Files.readString(err);
            assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + " failed:\n" + stderr);
            return out;
        } finally {
            try (java.util.stream.Stream<Path> walk = Files.walk(scratch)) {
                for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(q);
                }
            }
        }
    }

    private static boolean onPath(String command) {
        if (command.contains("/")) {
            return Files.isExecutable(Path.of(command));
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }
}
