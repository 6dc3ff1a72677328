package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.train.MetricsWriter;
import org.orpo4j.train.RunLock;

/**
 * {@code train --nproc-per-node}: the launcher's faults and bad input with real worker processes. A worker killed
 * with SIGKILL makes the run end non-zero within 60 s, the surviving rank naming the lost one; SIGTERM to the
 * launcher checkpoints, exits 143 and a resume ends with the weights of an uninterrupted run; bad plans are one
 * line each and leave no output folder; a two-rank run with TensorBoard, evaluation and samples writes each once
 * (rank 0 alone), and its checkpoint resumed by one process is refused in one line that writes nothing.
 */
class DistributedCliTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path data;
    static Path heldout;
    private static Path reported; // the two-rank run with trackers, evaluation and samples, made once

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        data = Cli.demoData(tmp, DemoAssets.TRAIN, 16);
        heldout = Cli.demoData(tmp, DemoAssets.HELDOUT, 6);
    }

    private static List<String> train(Path out, String steps, int port, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", data.toString(),
                "--output", out.toString(), "--max-steps", steps, "--batch-size", "2", "--log-every", "1",
                "--save-every", "1000", "--seed", "3", "--ddp-timeout", "30", "--master-port",
                Integer.toString(port)));
        args.addAll(List.of(extra));
        return args;
    }

    @Test
    void aKilledWorkerEndsTheRunNamingItsRank() throws Exception {
        Path out = tmp.resolve("killed");
        Process launcher = start(train(out, "100000", freePort(), "--nproc-per-node", "2"), tmp.resolve("k.log"));
        awaitLog(tmp.resolve("k.log"), "step 2/");
        ProcessHandle victim = launcher.toHandle().children().findFirst().orElseThrow();
        String rank = environ(victim.pid(), "RANK");
        victim.destroyForcibly();
        long killedAt = System.nanoTime();
        assertTrue(launcher.waitFor(60, TimeUnit.SECONDS), "the launcher still runs 60 s after the kill");
        double seconds = (System.nanoTime() - killedAt) / 1e9;
        String log = Files.readString(tmp.resolve("k.log"));
        assertEquals(137, launcher.exitValue(), log);
        assertTrue(log.contains("orpo4j train: rank " + rank + " (pid " + victim.pid() + ") exited with 137 (killed"
                + " by SIGKILL)"), log);
        String other = rank.equals("0") ? "1" : "0";
        assertTrue(log.contains("rank " + other + ": the gradient all-reduce failed, rank " + rank + " lost")
                || log.contains("rank " + other + ": ") && log.contains("rank " + rank + " lost"), log);
        System.out.printf("killed rank %s: the run ended %.1f s later%n", rank, seconds);
    }

    @Test
    void sigtermToTheLauncherCheckpointsAndResumesBitForBit() throws Exception {
        Path out = tmp.resolve("preempted");
        Process launcher = start(train(out, "12", freePort(), "--nproc-per-node", "2"), tmp.resolve("t.log"));
        awaitLog(tmp.resolve("t.log"), "step 3/");
        new ProcessBuilder("kill", "-TERM", Long.toString(launcher.pid())).start().waitFor();
        assertTrue(launcher.waitFor(120, TimeUnit.SECONDS));
        String log = Files.readString(tmp.resolve("t.log"));
        assertEquals(143, launcher.exitValue(), log);
        assertTrue(log.contains("SIGTERM forwarded to the 2 workers"), log);
        assertFalse(Files.exists(out.resolve("model.safetensors")), "a stopped run writes no final model");
        long checkpoints;
        try (var s = Files.list(out)) {
            checkpoints = s.filter(p -> p.getFileName().toString().startsWith("checkpoint-")).count();
        }
        assertEquals(1, checkpoints, log);

        Process resumed = start(train(out, "12", freePort(), "--nproc-per-node", "2", "--resume"),
                tmp.resolve("r.log"));
        assertTrue(resumed.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, resumed.exitValue(), Files.readString(tmp.resolve("r.log")));
        Path straight = tmp.resolve("straight");
        Process whole = start(train(straight, "12", freePort(), "--nproc-per-node", "2"), tmp.resolve("s.log"));
        assertTrue(whole.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, whole.exitValue(), Files.readString(tmp.resolve("s.log")));
        assertArrayEquals(Files.readAllBytes(straight.resolve("model.safetensors")),
                Files.readAllBytes(out.resolve("model.safetensors")), "resumed weights = uninterrupted weights");
    }

    @Test
    void noWorkers() {
        Path out = tmp.resolve("none");
        Cli.run(train(out, "2", 29577, "--nproc-per-node", "0").toArray(String[]::new)).assertOneLineError(1,
                "--nproc-per-node 0 must be at least 1");
        assertFalse(Files.exists(out));
    }

    @Test
    void aPortInUse() throws Exception {
        Path out = tmp.resolve("port");
        try (ServerSocket taken = new ServerSocket(0)) {
            Cli.run(train(out, "2", taken.getLocalPort(), "--nproc-per-node", "2").toArray(String[]::new))
                    .assertOneLineError(1, "--master-port " + taken.getLocalPort() + " is in use on this host");
        }
        assertFalse(Files.exists(out));
    }

    @Test
    void hostsThatDisagreeOnTheWorldSize() throws Exception {
        Path out = tmp.resolve("mismatch");
        int port = freePort();
        Process node0 = start(train(out, "2", port, "--nproc-per-node", "1", "--nnodes", "2", "--node-rank", "0"),
                tmp.resolve("n0.log"));
        Process node1 = start(train(out, "2", port, "--nproc-per-node", "2", "--nnodes", "2", "--node-rank", "1"),
                tmp.resolve("n1.log"));
        assertTrue(node0.waitFor(120, TimeUnit.SECONDS) && node1.waitFor(120, TimeUnit.SECONDS));
        // node 1's two ranks (2 and 3) race to the master: the first to arrive is the one named
        Pattern line = Pattern.compile(Pattern.quote("WORLD_SIZE differs between hosts: rank ") + "[23]"
                + Pattern.quote(" has 4, rank 0 (the master at 127.0.0.1:" + port
                        + ") has 2: give every host the same --nnodes and --nproc-per-node"));
        for (String log : new String[] {"n0.log", "n1.log"}) {
            String text = Files.readString(tmp.resolve(log));
            assertTrue(line.matcher(text).find(), log + ": " + text);
        }
        assertNotEquals(0, node0.exitValue());
        assertNotEquals(0, node1.exitValue());
        assertFalse(Files.exists(out));
    }

    @Test
    void aRankStartedTwice() throws Exception {
        Path out = tmp.resolve("twice");
        int port = freePort();
        List<String> args = train(out, "100000", port);
        args.subList(args.indexOf("--master-port"), args.indexOf("--master-port") + 2).clear();
        Process r0 = startRank(args, 0, port, tmp.resolve("d0.log"));
        Process r1 = startRank(args, 1, port, tmp.resolve("d1.log"));
        awaitLog(tmp.resolve("d0.log"), "step 1/");
        Path dupOut = tmp.resolve("twice-dup");
        List<String> dupArgs = new ArrayList<>(args);
        dupArgs.set(dupArgs.indexOf("--output") + 1, dupOut.toString());
        Process dup = startRank(dupArgs, 1, port, tmp.resolve("dup.log"));
        assertTrue(dup.waitFor(60, TimeUnit.SECONDS));
        r0.destroyForcibly();
        r1.destroyForcibly();
        String text = Files.readString(tmp.resolve("dup.log"));
        assertEquals(1, dup.exitValue(), text);
        assertTrue(text.contains("orpo4j train: error: rank 1 was started twice: another process already joined the"
                + " run at 127.0.0.1:" + port + " as rank 1; this one stops"), text);
        assertFalse(Files.exists(dupOut));
    }

    /**
     * Rank 0 alone reports: one TensorBoard event file (rank 1 would add one named by its own pid), and
     * samples.jsonl and metrics.jsonl hold each step once (both ranks appending would double every line).
     */
    @Test
    void aTwoRankRunReportsAndWritesSamplesOnce() throws Exception {
        Path out = twoRankReportedRun();
        List<Path> events;
        try (Stream<Path> s = Files.walk(out.resolve("runs"))) {
            events = s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).toList();
        }
        assertEquals(1, events.size(), events.toString());
        List<String> samples = Files.readAllLines(out.resolve("samples.jsonl"));
        assertEquals(2, samples.size(), "2 samples at the one evaluation (step 2): " + samples);
        assertTrue(samples.get(0).startsWith("{\"step\":2,\"index\":0,"), samples.get(0));
        assertTrue(samples.get(1).startsWith("{\"step\":2,\"index\":1,"), samples.get(1));
        List<Map<String, Object>> metrics = MetricsWriter.read(out.resolve(MetricsWriter.FILE));
        assertEquals(List.of(1, 2, 2), metrics.stream().map(m -> ((Number) m.get("step")).intValue()).toList(),
                "two training logs and one evaluation: " + metrics);
    }

    /**
     * A checkpoint trained by 2 ranks resumed by one process: the one line naming both world sizes, exit 1, and
     * the output folder byte for byte as it was (the lock file aside, which names whoever holds the folder).
     */
    @Test
    void aResumeWithAnotherWorldSizeIsRefusedAndWritesNothing() throws Exception {
        Path out = twoRankReportedRun();
        Map<String, String> before = contents(out);
        Cli.run(reportedArgs(out, "--resume").toArray(String[]::new)).assertOneLineError(1,
                "orpo4j train: error: the checkpoint was trained by 2 ranks (world_size), this run has 1: resume"
                        + " with 2 (--nnodes x --nproc-per-node), or start over with --overwrite-output-dir");
        assertEquals(before, contents(out));
    }

    /** The two-rank run both tests read: 2 steps, a checkpoint at each, TensorBoard, samples at step 2. */
    private static synchronized Path twoRankReportedRun() throws Exception {
        if (reported == null) {
            Path out = tmp.resolve("reported");
            List<String> args = reportedArgs(out, "--nproc-per-node", "2", "--master-port",
                    Integer.toString(freePort()));
            Process run = start(args, tmp.resolve("reported.log"));
            assertTrue(run.waitFor(300, TimeUnit.SECONDS));
            assertEquals(0, run.exitValue(), Files.readString(tmp.resolve("reported.log")));
            reported = out;
        }
        return reported;
    }

    private static List<String> reportedArgs(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data",
                data.toString(), "--eval-data", heldout.toString(), "--output", out.toString(), "--max-steps", "2",
                "--batch-size", "2", "--log-every", "1", "--save-every", "1", "--seed", "3", "--ddp-timeout", "30",
                "--eval-strategy", "steps", "--eval-steps", "2", "--generate-during-eval", "--generate-samples", "2",
                "--generate-max-new-tokens", "4", "--report-to", "tensorboard"));
        args.addAll(List.of(extra));
        return args;
    }

    /** Every file under {@code folder} but the lock file, by relative path, as its SHA-256. */
    private static Map<String, String> contents(Path folder) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(folder)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                if (!p.getFileName().toString().equals(RunLock.FILE)) {
                    out.put(folder.relativize(p).toString(), HexFormat.of().formatHex(
                            MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                }
            }
        }
        return out;
    }

    private static Process start(List<String> args, Path log) throws IOException {
        return new ProcessBuilder(Cli.childCommand(args)).redirectErrorStream(true).redirectOutput(log.toFile())
                .start();
    }

    private static Process startRank(List<String> args, int rank, int port, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(Cli.childCommand(args)).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(new org.orpo4j.distributed.RankEnv(rank, rank, 2, 2, "127.0.0.1", port)
                .variables());
        pb.environment().put("OMP_NUM_THREADS", "1");
        return pb.start();
    }

    private static void awaitLog(Path log, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no '" + text + "' in " + log + ":\n" + (Files.exists(log) ? Files.readString(log)
                : ""));
    }

    private static String environ(long pid, String name) throws IOException {
        for (String kv : new String(Files.readAllBytes(Path.of("/proc/" + pid + "/environ")),
                StandardCharsets.UTF_8).split("\0")) {
            if (kv.startsWith(name + "=")) {
                return kv.substring(name.length() + 1);
            }
        }
        throw new AssertionError(name + " not in the environment of " + pid);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
