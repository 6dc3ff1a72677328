package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.orpo4j.train.MetricsWriter;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.Settings;

/**
 * Acceptance 4 of issue 29 and the flags' contract: an unknown {@code --report-to} value is refused with the valid
 * ones; {@code --report-to mlflow} without a tracking server's address is refused before anything loads; an
 * unreachable server costs one warning line and the run trains to its end. HF's flag names exist.
 */
class ReportToTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        train = Cli.demoData(tmp, DemoAssets.TRAIN, 8);
    }

    private static List<String> args(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", train.toString(),
                "--output", out.toString(), "--batch-size", "4", "--max-steps", "3", "--log-every", "1"));
        args.addAll(List.of(extra));
        return args;
    }

    @ParameterizedTest
    @ValueSource(strings = {"wandb", "tensorboard,comet_ml", "none,tensorboard", "mlflow,mlflow", ""})
    void anUnknownTrackerIsRefusedWithTheValidNames(String value) {
        Path out = tmp.resolve("refused");
        Cli.run(args(out, "--report-to", value).toArray(String[]::new)).assertOneLineError(2,
                "--report-to " + value + " must be one or more of jsonl, tensorboard, mlflow (comma-separated), or none");
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void hfFlagNamesSetTheSettings() throws Exception {
        Path out = tmp.resolve("flags");
        Cli.run(args(out, "--report-to", "none", "--eval-strategy", "steps", "--eval-steps", "2", "--run-name", "r1")
                .toArray(String[]::new)).assertSuccess();
        OrpoConfig used = OrpoConfig.read(out.resolve(OrpoConfig.FILE));
        assertEquals(List.of("none"), used.get(Settings.REPORT_TO));
        assertEquals("steps", used.evalStrategy());
        assertEquals(2, used.evalSteps());
        assertEquals("r1", used.get(Settings.RUN_NAME));
        assertFalse(Files.exists(out.resolve("runs")));
        assertEquals(3, MetricsWriter.read(out.resolve(MetricsWriter.FILE)).size(), "metrics.jsonl is always written");
        Cli.run(args(tmp.resolve("x"), "--eval-strategy", "epoch", "--eval-steps", "2").toArray(String[]::new))
                .assertOneLineError(2, "--eval-strategy and --eval-steps exclude each other");
        Cli.run(args(tmp.resolve("x"), "--eval-every", "3", "--eval-steps", "2").toArray(String[]::new))
                .assertOneLineError(2, "option '--eval-every' (K) should be specified only once"); // one option
    }

    @Test
    void mlflowWithoutATrackingUriIsBadUsage() throws Exception {
        Path out = tmp.resolve("no-uri");
        Child run = child(args(out, "--report-to", "mlflow"), Map.of());
        assertEquals(2, run.exitCode(), run.output());
        List<String> lines = run.output().lines().toList();
        assertEquals(1, lines.size(), run.output());
        assertTrue(lines.get(0).startsWith("orpo4j train: error: --report-to mlflow: MLFLOW_TRACKING_URI is not set"),
                lines.get(0));
        assertFalse(Files.exists(out));
        Child file = child(args(out, "--report-to", "mlflow"), Map.of("MLFLOW_TRACKING_URI", "file:///tmp/mlruns"));
        assertEquals(2, file.exitCode(), file.output());
        assertTrue(file.output().contains("MLFLOW_TRACKING_URI file:///tmp/mlruns: orpo4j reports to an MLflow"
                + " tracking server over http(s)"), file.output());
    }

    /** Nothing listens at the address (a closed port, a name that does not resolve): one warning, a whole run. */
    @ParameterizedTest
    @ValueSource(strings = {"closed-port", "unknown-host"})
    void anUnreachableServerCostsOneWarningLineAndTrainingGoesOn(String kind) throws Exception {
        String uri;
        if (kind.equals("closed-port")) {
            try (ServerSocket s = new ServerSocket(0)) {
                uri = "http://127.0.0.1:" + s.getLocalPort();
            }
        } else {
            uri = "http://orpo4j-no-such-host.invalid:5000";
        }
        Path out = tmp.resolve("unreachable-" + kind);
        long start = System.nanoTime();
        Child run = child(args(out, "--report-to", "mlflow,tensorboard"), Map.of("MLFLOW_TRACKING_URI", uri));
        assertEquals(0, run.exitCode(), run.output());
        assertTrue(run.output().contains("trained 3 steps"), run.output());
        List<String> warnings = run.output().lines().filter(l -> l.contains(" WARN ")).toList();
        assertEquals(1, warnings.size(), run.output());
        assertTrue(warnings.get(0).contains("MLflow at " + uri + " unreachable")
                && warnings.get(0).contains("training goes on"), warnings.get(0));
        assertTrue(run.output().contains("not delivered"), run.output());
        assertEquals(3, MetricsWriter.read(out.resolve(MetricsWriter.FILE)).size());
        assertTrue(Files.isDirectory(out.resolve("runs")), "the other tracker works on");
        assertTrue(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) < 120, "no long wait at the end");
    }

    /** A library user without the optional libraries is told which one a tracker needs, before anything loads. */
    @Test
    void aTrackerWithoutItsLibraryNamesIt() throws Exception {
        String classPath = String.join(":", java.util.Arrays.stream(System.getProperty("java.class.path").split(":"))
                .filter(jar -> !jar.contains("protobuf-java") && !jar.contains("mlflow-client")).toList());
        for (String[] tracker : new String[][] {{"tensorboard", "TensorBoard files need com.google.protobuf:protobuf-java"},
                {"mlflow", "MLflow need org.mlflow:mlflow-client"}}) {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "-Dai.djl.offline=true", "-cp", classPath, Main.class.getName()));
            cmd.addAll(args(tmp.resolve("no-library"), "--report-to", tracker[0]));
            ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true);
            builder.environment().put("MLFLOW_TRACKING_URI", "http://127.0.0.1:9");
            Process p = builder.start();
            String output = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(2, TimeUnit.MINUTES));
            assertEquals(2, p.exitValue(), output);
            assertEquals(1, output.lines().count(), output);
            assertTrue(output.contains("--report-to " + tracker[0] + ": " + tracker[1] + " on the class path"), output);
        }
        assertFalse(Files.exists(tmp.resolve("no-library")));
    }

    record Child(int exitCode, String output) {}

    /** orpo4j in a child JVM with no MLFLOW_ variable but {@code env}; stdout and stderr together. */
    static Child child(List<String> args, Map<String, String> env) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(Cli.childCommand(args)).redirectErrorStream(true);
        builder.environment().keySet().removeIf(k -> k.startsWith("MLFLOW_"));
        builder.environment().putAll(env);
        Process p = builder.start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        return new Child(p.exitValue(), output);
    }
}
