package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C (SIGINT) on {@code train} in a child JVM: exit 130 and, last on stderr, one line naming the step reached
 * and the checkpoint to resume from, or saying there is none yet.
 */
class InterruptTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path data;

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        data = Cli.demoData(tmp, DemoAssets.TRAIN, 16);
    }

    @Test
    void beforeTheFirstCheckpoint() throws Exception {
        Path out = tmp.resolve("early");
        List<String> err = interrupt(out, "1000000", lines -> lines.stream().anyMatch(l -> l.contains("step 3/")));
        String last = err.get(err.size() - 1);
        assertTrue(last.matches("orpo4j train: interrupted at step \\d+ of 1000000 before the first checkpoint"
                + " \\(one every 1000000 steps, --save-every\\): nothing to resume from"), last);
    }

    @Test
    void afterACheckpoint() throws Exception {
        Path out = tmp.resolve("late");
        List<String> err = interrupt(out, "2", lines -> Files.isDirectory(out.resolve("checkpoint-4")));
        String last = err.get(err.size() - 1);
        assertTrue(last.matches("orpo4j train: interrupted at step \\d+ of 1000000; the last checkpoint is "
                + out.toString().replace("/", "\\/") + "/checkpoint-(\\d+) \\(step \\1\\): run the same command with"
                + " --resume to continue from it"), last);
    }

    /** Starts train, waits until {@code ready}, sends SIGINT and returns the child's stderr lines. */
    private static List<String> interrupt(Path out, String saveEvery, Predicate<List<String>> ready)
            throws Exception {
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train",
                "--model", model.toString(), "--data", data.toString(), "--output", out.toString(),
                "--max-steps", "1000000", "--batch-size", "2", "--log-every", "1", "--save-every", saveEvery,
                "--save-total-limit", "2").start();
        List<String> err = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(child.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    err.add(line);
                }
            } catch (Exception e) {
                err.add("reader failed: " + e);
            }
        });
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!ready.test(err)) {
            assertTrue(child.isAlive() && System.nanoTime() < deadline, () -> "child not ready: " + err);
            Thread.sleep(50);
        }
        new ProcessBuilder("kill", "-INT", Long.toString(child.pid())).start().waitFor();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not stop");
        reader.join(10_000);
        assertEquals(130, child.exitValue(), () -> "exit code; stderr: " + err);
        return err;
    }
}
