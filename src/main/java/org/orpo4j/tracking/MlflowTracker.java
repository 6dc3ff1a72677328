package org.orpo4j.tracking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.mlflow.api.proto.Service.CreateRun;
import org.mlflow.api.proto.Service.Experiment;
import org.mlflow.api.proto.Service.Metric;
import org.mlflow.api.proto.Service.Param;
import org.mlflow.api.proto.Service.RunInfo;
import org.mlflow.api.proto.Service.RunStatus;
import org.mlflow.api.proto.Service.RunTag;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.creds.BasicMlflowHostCreds;
import org.orpo4j.train.GeneratedSample;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.RunLock;
import org.orpo4j.train.Settings;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code reportTo mlflow}: the run in an MLflow tracking server, as HF's MLflowCallback logs it: a run named
 * {@code runName} (the output folder's name by default) in {@code MLFLOW_EXPERIMENT_NAME}, every setting as a param,
 * the metrics.jsonl values by their names at their steps, the generated samples as the table {@code samples.json},
 * and at the end the output folder's files (the trained model or adapter, its config and tokenizer, metrics.jsonl)
 * as artifacts. Runs, params and metrics go through MLflow's Java client; artifacts through the server's artifact
 * proxy ({@link ArtifactStore}). Every call is made by {@link MlflowSender}, off the training thread: an unreachable
 * server costs a warning line, and what it missed is sent when it comes back.
 */
public final class MlflowTracker implements TrainerListener, AutoCloseable {

    /** The artifact holding the generated samples, in the table format of MLflow's log_table. */
    public static final String SAMPLES_TABLE = "samples.json";
    /** How long the end of a run waits for a server that stopped answering. */
    static final Duration PATIENCE = Duration.ofSeconds(30);

    private static final Logger LOG = LoggerFactory.getLogger(MlflowTracker.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SAMPLE_COLUMNS = List.of("step", "index", "prompt", "chosen", "rejected",
            "completion");

    private final MlflowSettings settings;
    private final MlflowClient client;
    private final HttpClient http;
    private final MlflowSender sender;
    private final Duration patience;
    private final LoggedValues values = new LoggedValues();
    private final ArrayNode sampleRows = JSON.createArrayNode();
    private volatile String runId;
    private volatile ArtifactStore artifacts; // null: the run's store is out of reach
    private boolean started;
    private boolean ended;

    public MlflowTracker(MlflowSettings settings) {
        this(settings, PATIENCE, Duration.ofSeconds(5));
    }

    /** With the end-of-run {@code patience} and the longest pause between retries. */
    MlflowTracker(MlflowSettings settings, Duration patience, Duration maxPause) {
        this.settings = settings;
        this.patience = patience;
        this.client = new MlflowClient(new BasicMlflowHostCreds(settings.base(), settings.username(),
                settings.password(), settings.token(), settings.insecureTls()));
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                .followRedirects(HttpClient.Redirect.NORMAL).build();
        this.sender = new MlflowSender(settings.base(), metrics -> () -> client.logBatch(runId, metrics, List.of(),
                List.of()), maxPause);
    }

    /** The MLflow run's id once it was created (null before). */
    public String runId() {
        return runId;
    }

    @Override
    public void onTrainBegin(TrainerState state, TrainerControl control) {
        OrpoConfig config = state.config();
        Path out = Path.of(config.outputDir());
        String name = config.get(Settings.RUN_NAME) != null ? config.get(Settings.RUN_NAME)
                : out.toAbsolutePath().normalize().getFileName().toString();
        long resumedFrom = state.globalStep();
        started = true;
        sender.start();
        sender.submit("start run " + name, () -> startRun(name));
        sender.submit("log the settings", () -> logSettings(config, resumedFrom));
    }

    @Override
    public void onLog(TrainerState state, Map<String, Double> logs, TrainerControl control) {
        sender.metrics(metrics(state.globalStep(), values.ofLog(state, logs)));
    }

    @Override
    public void onEvaluate(TrainerState state, Map<String, Double> metrics, TrainerControl control) {
        sender.metrics(metrics(state.globalStep(), values.ofEval(state, metrics)));
    }

    @Override
    public void onSamples(TrainerState state, List<GeneratedSample> samples, TrainerControl control) {
        boolean first = sampleRows.isEmpty();
        for (GeneratedSample s : samples) {
            ArrayNode row = sampleRows.addArray();
            row.add(s.step()).add(s.index()).add(s.prompt()).add(s.chosen()).add(s.rejected()).add(s.completion());
        }
        ObjectNode table = JSON.createObjectNode();
        SAMPLE_COLUMNS.forEach(table.putArray("columns")::add);
        table.set("data", sampleRows.deepCopy());
        byte[] bytes = table.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        sender.submit("upload " + SAMPLES_TABLE + " (step " + state.globalStep() + ")", () -> upload(SAMPLES_TABLE,
                bytes));
        if (first) { // MLflow's UI lists tables named by this tag (what log_table sets)
            sender.submit("tag " + SAMPLES_TABLE + " as a table", () -> client.setTag(runId,
                    "mlflow.loggedArtifacts", "[{\"path\": \"" + SAMPLES_TABLE + "\", \"type\": \"table\"}]"));
        }
    }

    @Override
    public void onTrainEnd(TrainerState state, TrainerControl control) {
        Path out = Path.of(state.config().outputDir());
        for (Path file : outputFiles(out)) {
            String name = file.getFileName().toString();
            sender.submit("upload " + name, () -> upload(name, file));
        }
        sender.submit("end the run", () -> client.setTerminated(runId, RunStatus.FINISHED));
        ended = true;
        finish();
    }

    /** Ends the run as FAILED when training did not reach its end, and sends what is left (waiting a while). */
    @Override
    public void close() {
        if (started && !ended) {
            ended = true;
            sender.submit("end the run as failed", () -> client.setTerminated(runId, RunStatus.FAILED));
            finish();
        }
    }

    private void finish() {
        sender.finish(patience);
        client.close();
    }

    private void startRun(String name) throws Exception {
        probe();
        RunInfo run;
        if (settings.runId() != null) {
            run = client.getRun(settings.runId()).getInfo();
        } else {
            String experiment = settings.experimentName() == null ? "0" : experimentId(settings.experimentName());
            run = client.createRun(CreateRun.newBuilder().setExperimentId(experiment).setRunName(name)
                    .setStartTime(System.currentTimeMillis()).build());
        }
        runId = run.getRunId();
        try {
            artifacts = ArtifactStore.of(run.getArtifactUri(), settings, http, sender::progress);
        } catch (IllegalArgumentException e) {
            LOG.warn("MLflow run {}: {}; artifacts stay in the output folder only", runId, e.getMessage());
        }
        LOG.info("MLflow: run {} ({}) at {}", name, runId, settings.base());
    }

    /**
     * The id of experiment {@code name}, created when missing (MLflow's set_experiment). Searched by name: the
     * client's get-by-name retries a missing experiment's 404 as if rate-limited, for seconds.
     */
    private String experimentId(String name) {
        String quote = name.contains("'") ? "\"" : "'";
        String filter = "name = " + quote + name + quote;
        return client.searchExperiments(filter).getItems().stream().findFirst().map(Experiment::getExperimentId)
                .orElseGet(() -> client.createExperiment(name));
    }

    /**
     * Fails fast (5 s) when nothing answers at the tracking URI: MLflow's client waits for the operating system's
     * connect timeout, minutes for a silent host. Any HTTP answer will do.
     */
    private void probe() throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(settings.base() + "/health"))
                .timeout(Duration.ofSeconds(10)).GET().build();
        try {
            http.send(request, HttpResponse.BodyHandlers.discarding());
        } catch (java.net.http.HttpTimeoutException e) {
            throw new ConnectException("no answer from " + settings.base() + " in 10 s");
        }
    }

    private void logSettings(OrpoConfig config, long resumedFrom) throws Exception {
        List<Param> params = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = config.toJson().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            params.add(Param.newBuilder().setKey(e.getKey()).setValue(v.isTextual() ? v.textValue() : v.toString())
                    .build());
        }
        List<RunTag> tags = new ArrayList<>();
        if (resumedFrom > 0) {
            tags.add(RunTag.newBuilder().setKey("orpo4j.resumedFromStep").setValue(Long.toString(resumedFrom))
                    .build());
        }
        for (int i = 0; i < params.size(); i += 100) { // MLflow takes at most 100 params per batch
            client.logBatch(runId, List.of(), params.subList(i, Math.min(params.size(), i + 100)),
                    i == 0 ? tags : List.of());
        }
    }

    private static List<Metric> metrics(long step, Map<String, Double> values) {
        long now = System.currentTimeMillis();
        List<Metric> metrics = new ArrayList<>();
        values.forEach((key, v) -> metrics.add(Metric.newBuilder().setKey(key).setValue(v).setStep(step)
                .setTimestamp(now).build()));
        return metrics;
    }

    /** Uploads a file or bytes, unless the run's artifact store is out of reach (said once, at the start). */
    private void upload(String name, Object content) throws IOException, InterruptedException {
        if (artifacts == null) {
            return;
        }
        if (content instanceof Path file) {
            artifacts.put(name, file);
        } else {
            artifacts.put(name, (byte[]) content);
        }
    }

    /** The output folder's own files (the trained weights and their companions), not checkpoints, runs or locks. */
    private static List<Path> outputFiles(Path out) {
        try (Stream<Path> files = Files.list(out)) {
            return files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                    .filter(p -> !p.getFileName().toString().equals(RunLock.FILE)).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
