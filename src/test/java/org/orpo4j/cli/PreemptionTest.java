package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.train.CheckpointManager;
import org.orpo4j.train.RunLock;

/**
 * Preemption-safe training with real {@code train} processes: SIGTERM finishes the step in flight, commits a
 * checkpoint and exits 143, and resuming ends with the weights of an uninterrupted run; a second signal exits at
 * once; Ctrl-C before any step exits 130; one writer per output folder, a killed writer's lock taken over.
 */
class PreemptionTest {

    private static final String STEPS = "40";

    @TempDir
    static Path tmp;
    static Path model;
    static Path data;

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        data = Cli.demoData(tmp, DemoAssets.TRAIN, 16);
    }

    private static List<String> train(Path out, String... extra) {
        return trainFor(out, STEPS, extra);
    }

    private static List<String> trainFor(Path out, String steps, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", data.toString(),
                "--output", out.toString(), "--max-steps", steps, "--batch-size", "2", "--log-every", "1",
                "--save-every", "1000", "--seed", "3"));
        args.addAll(List.of(extra));
        return args;
    }

    @Test
    void sigtermCommitsTheStepInFlightAndResumingMatchesAnUninterruptedRun() throws Exception {
        Path out = tmp.resolve("preempted");
        Child child = Child.start(train(out));
        child.await(lines -> lines.stream().anyMatch(l -> l.contains("step 3/")));
        child.signal("TERM");
        assertEquals(143, child.exitCode(), () -> "stderr: " + child.err);
        String last = child.err.get(child.err.size() - 1);
        Matcher m = Pattern.compile("orpo4j train: stopped by SIGTERM at step (\\d+) of " + STEPS + "; the last"
                + " checkpoint is " + Pattern.quote(out.toString()) + "/checkpoint-(\\d+) \\(step \\2\\): run the"
                + " same command with --resume to continue from it").matcher(last);
        assertTrue(m.matches(), last);
        long step = Long.parseLong(m.group(1));
        assertEquals(step, Long.parseLong(m.group(2)), "the checkpoint is the last finished step");
        assertTrue(step >= 3 && step < 40, "stopped at " + step);
        assertTrue(Files.isRegularFile(out.resolve("checkpoint-" + step + "/trainer_state.json")));
        assertFalse(Files.exists(out.resolve("model.safetensors")), "an interrupted run writes no final model");
        assertTrue(Files.isRegularFile(out.resolve(RunLock.FILE)), "the lock file stays (RunLock never deletes it)");
        assertTrue(child.err.stream().anyMatch(l -> l.contains("SIGTERM received: finishing step")), child.err::toString);

        Cli.run(train(out, "--resume").toArray(String[]::new)).assertSuccess();
        Path straight = tmp.resolve("straight");
        Cli.run(train(straight).toArray(String[]::new)).assertSuccess();
        assertArrayEquals(Files.readAllBytes(straight.resolve("model.safetensors")),
                Files.readAllBytes(out.resolve("model.safetensors")), "resumed weights = uninterrupted weights");
    }

    @Test
    void aSecondSignalStopsAtOnceAndLeavesNoHalfCheckpoint() throws Exception {
        Path out = tmp.resolve("twice");
        Child child = Child.start(trainFor(out, "100000"));
        child.await(lines -> lines.stream().anyMatch(l -> l.contains("step 2/")));
        child.signal("INT");
        child.signal("INT");
        assertEquals(130, child.exitCode(), () -> "stderr: " + child.err);
        for (Path checkpoint : CheckpointManager.list(out)) { // committed whole, or not at all
            assertTrue(Files.isRegularFile(checkpoint.resolve("trainer_state.json")), checkpoint.toString());
        }
    }

    @Test
    void ctrlCBeforeTrainingExitsAtOnce() throws Exception {
        Path out = tmp.resolve("early");
        Child child = Child.start(train(out));
        child.await(lines -> Files.exists(out.resolve(RunLock.FILE)));
        child.signal("INT");
        assertEquals(130, child.exitCode(), () -> "stderr: " + child.err);
        assertTrue(CheckpointManager.list(out).isEmpty());
        assertEquals("orpo4j train: SIGINT before training began: nothing was trained; there is no checkpoint to"
                + " resume from", child.err.get(child.err.size() - 1));
    }

    @Test
    void ctrlCAfterACheckpointNamesItForResume() throws Exception {
        Path out = tmp.resolve("interrupted");
        List<String> args = trainFor(out, "100000");
        args.set(args.indexOf("--save-every") + 1, "1"); // a checkpoint every step
        Child child = Child.start(args);
        child.await(lines -> lines.stream().anyMatch(l -> l.contains("step 2/")));
        child.signal("INT");
        assertEquals(130, child.exitCode(), () -> "stderr: " + child.err);
        String last = child.err.get(child.err.size() - 1);
        Matcher m = Pattern.compile("orpo4j train: stopped by SIGINT at step (\\d+) of 100000; the last checkpoint is "
                + Pattern.quote(out.toString()) + "/checkpoint-\\1 \\(step \\1\\): run the same command with --resume to"
                + " continue from it").matcher(last);
        assertTrue(m.matches(), last);
    }

    @Test
    void oneWriterPerFolderAndAKilledWritersLockIsTakenOver() throws Exception {
        Path out = tmp.resolve("locked");
        Child first = Child.start(trainFor(out, "100000"));
        first.await(lines -> lines.stream().anyMatch(l -> l.contains("step 1/")));
        Cli.run(train(out, "--resume").toArray(String[]::new)).assertOneLineError(1,
                out + " is in use by another orpo4j run (pid " + first.process.pid() + ")");
        first.process.destroyForcibly(); // kill -9: no chance to release anything
        first.process.waitFor(30, TimeUnit.SECONDS);
        assertTrue(Files.exists(out.resolve(RunLock.FILE)), "a killed run leaves its lock file");
        Cli.run(trainFor(out, "2", "--overwrite-output-dir").toArray(String[]::new)).assertSuccess();
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
    }

    /** A {@code train} in a child JVM with its stderr collected line by line. */
    private record Child(Process process, List<String> err, Thread reader) {

        static Child start(List<String> args) throws Exception {
            Process p = new ProcessBuilder(Cli.childCommand(args)).start();
            List<String> err = new CopyOnWriteArrayList<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(
                        new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        err.add(line);
                    }
                } catch (Exception e) {
                    err.add("reader failed: " + e);
                }
            });
            reader.setDaemon(true);
            reader.start();
            p.getOutputStream().close();
            return new Child(p, err, reader);
        }

        void await(Predicate<List<String>> ready) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!ready.test(err)) {
                assertTrue(process.isAlive() && System.nanoTime() < deadline, () -> "child not ready: " + err);
                Thread.sleep(20);
            }
        }

        void signal(String name) throws Exception {
            new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
        }

        int exitCode() throws InterruptedException {
            assertTrue(process.waitFor(120, TimeUnit.SECONDS), "child did not stop");
            reader.join(TimeUnit.SECONDS.toMillis(30)); // stderr read to its end
            return process.exitValue();
        }
    }
}
