package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signals at random moments of a {@code train} process once it runs orpo4j's code (engine start, model load, forward
 * and backward passes, checkpoint writes), one or two of them: the process always ends with 130 or 143, never with a JVM crash (no
 * {@code hs_err_pid*.log}, no "fatal error" on stderr), and a process that does not stop through the trainer's
 * checkpoint runs no exit-time native code: a preloaded library destructor ({@code native/exit_marker.c}), run by
 * {@code exit()} and {@code halt()} as libtorch's static destructors are, leaves no file behind.
 */
class SignalExitTest {

    private static final int RUNS = 50;
    private static final String[][] PATTERNS = {{"TERM"}, {"INT"}, {"TERM", "TERM"}, {"INT", "INT"}, {"TERM", "INT"}};

    @TempDir
    static Path tmp;
    static Path model;
    static Path data;
    static Path marker;

    @BeforeAll
    static void setUp() throws Exception {
        Path tok = Cli.demoTokenizer(tmp.resolve("tokenizer"));
        model = tmp.resolve("model"); // many small layers: backward passes start often (checkpointing is on)
        Cli.run("init", "--family", "llama", "--tokenizer", tok.toString(), "--output", model.toString(),
                "--hidden-size", "64", "--layers", "8", "--heads", "4", "--seed", "7").assertSuccess();
        data = Cli.demoData(tmp, DemoAssets.TRAIN, 32);
        marker = compileMarker(tmp);
    }

    /** Builds {@code exit_marker.so} with the C compiler (the native build needs one too). */
    private static Path compileMarker(Path dir) throws Exception {
        Path source = dir.resolve("exit_marker.c");
        try (InputStream in = SignalExitTest.class.getResourceAsStream("/native/exit_marker.c")) {
            Files.write(source, in.readAllBytes());
        }
        Path library = dir.resolve("exit_marker.so");
        Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", library.toString(), source.toString())
                .redirectErrorStream(true).start();
        String log = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, cc.waitFor(), "cc failed: " + log);
        return library;
    }

    @Test
    void aSignalAtAnyMomentEndsTheProcessAsTheSignalWouldAndNeverCrashesTheJvm() throws Exception {
        Random random = new Random(20261204);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<String>> runs = new ArrayList<>();
        for (int i = 0; i < RUNS; i++) {
            String[] signals = PATTERNS[i % PATTERNS.length];
            long delayMillis = random.nextInt(6000);
            long gapMillis = random.nextInt(200);
            Path dir = tmp.resolve("run-" + i);
            runs.add(pool.submit(() -> run(dir, signals, delayMillis, gapMillis)));
        }
        pool.shutdown();
        List<String> failures = new ArrayList<>();
        for (Future<String> run : runs) {
            String failure = run.get(10, TimeUnit.MINUTES);
            if (failure != null) {
                failures.add(failure);
            }
        }
        assertEquals(List.of(), failures);
    }

    /** One child run signalled {@code delay} ms after it started; null when it ended as it must, else why not. */
    private static String run(Path dir, String[] signals, long delay, long gap) throws Exception {
        Files.createDirectories(dir);
        List<String> args = List.of("train", "--model", model.toString(), "--data", data.toString(),
                "--output", dir.resolve("out").toString(), "--max-steps", "100000", "--batch-size", "4",
                "--save-every", "3", "--save-total-limit", "1", "--seed", "3");
        Process p = start(dir, args);
        // the clock starts once train has taken its signals (before the JVM reaches main(), SIGTERM is the JVM's
        // own: no orpo4j code, and no libtorch, is running yet); then engine start, model load, steps, saves
        Path lock = dir.resolve("out").resolve(org.orpo4j.train.RunLock.FILE);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!Files.exists(lock) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Thread.sleep(delay);
        for (String signal : signals) {
            new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
            Thread.sleep(gap);
        }
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "a signalled run did not end");
        int code = p.exitValue();
        String log = Files.readString(dir.resolve("log.txt"), StandardCharsets.UTF_8);
        List<String> dumps;
        try (Stream<Path> files = Files.list(dir)) {
            dumps = files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("hs_err")).toList();
        }
        boolean checkpointed = log.contains("orpo4j train: stopped by SIG"); // the trainer's own way out
        boolean exitCodeOk = Stream.of(signals).anyMatch(s -> code == 128 + (s.equals("TERM") ? 15 : 2));
        boolean exitCodeRan = Files.exists(dir.resolve("marker." + p.pid()));
        if (exitCodeOk && dumps.isEmpty() && !log.contains("A fatal error") && (checkpointed || !exitCodeRan)) {
            return null;
        }
        return String.join("+", signals) + " after " + delay + " ms: exit " + code + ", dumps " + dumps
                + ", exit-time native code " + (exitCodeRan ? "ran" : "did not run") + "\n" + log;
    }

    private static Process start(Path dir, List<String> args) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(Cli.childCommand(args, "-XX:ErrorFile="
                + dir.resolve("hs_err_pid%p.log"))).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("log.txt").toFile());
        builder.environment().put("LD_PRELOAD", marker.toString());
        builder.environment().put("ORPO4J_EXIT_MARKER", dir.resolve("marker").toString());
        return builder.start();
    }

    @Test
    void commandsOtherThanTrainEndByTheSignalToo() throws Exception {
        List<String> rows = Files.readAllLines(data, StandardCharsets.UTF_8);
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            many.addAll(rows); // an evaluation that lasts well beyond the signal
        }
        Path pairs = Files.write(tmp.resolve("many.jsonl"), many, StandardCharsets.UTF_8);
        Path dir = Files.createDirectories(tmp.resolve("eval"));
        Process p = start(dir, List.of("eval", "--model", model.toString(), "--data", pairs.toString()));
        Thread.sleep(2500);
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(1, TimeUnit.MINUTES));
        assertEquals(143, p.exitValue());
        assertFalse(Files.exists(dir.resolve("marker." + p.pid())), "no exit-time native code ran");
        assertFalse(Files.readString(dir.resolve("log.txt")).contains("fatal error"));
    }
}
