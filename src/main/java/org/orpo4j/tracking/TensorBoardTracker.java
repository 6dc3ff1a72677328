package org.orpo4j.tracking;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.NullValue;
import com.google.protobuf.Value;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.orpo4j.train.GeneratedSample;
import org.orpo4j.train.OutputDir;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;
import org.orpo4j.tracking.proto.DataType;
import org.orpo4j.tracking.proto.Event;
import org.orpo4j.tracking.proto.HParamsPluginData;
import org.orpo4j.tracking.proto.SessionLog;
import org.orpo4j.tracking.proto.SessionStartInfo;
import org.orpo4j.tracking.proto.Summary;
import org.orpo4j.tracking.proto.SummaryMetadata;
import org.orpo4j.tracking.proto.TensorProto;
import org.orpo4j.tracking.proto.TensorShapeProto;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code reportTo tensorboard}: the run's metrics as TensorBoard event files in {@code OUTPUT/runs/<date>_<host>/},
 * named as HF's TensorBoardCallback names them ({@code train/loss}, {@code train/rewards/chosen},
 * {@code eval/loss}, ...), with the settings as text ({@code args}) and hparams at step 0 and the generated samples
 * as a text table ({@code eval/samples}). A resumed run continues its folder: events past the checkpoint are
 * dropped from the earlier files and a new file starts with a SessionLog START at the next step (torch's
 * purge_step), so neither files nor a reader that saw the old events hold a step twice. Writing never stops
 * training: a failure is reported once and TensorBoard logging ends there.
 */
public final class TensorBoardTracker implements TrainerListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TensorBoardTracker.class);
    private static final DateTimeFormatter RUN_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd_HH-mm-ss");
    /** The text table's header row, then one row per sample. */
    private static final List<String> SAMPLE_COLUMNS = List.of("prompt", "chosen", "rejected", "completion");

    private final DoubleSupplier clock; // wall time in seconds
    private final String host;
    private final LoggedValues values = new LoggedValues();
    private EventFile file;
    private boolean failed;

    public TensorBoardTracker() {
        this(() -> System.currentTimeMillis() / 1000.0, Hosts.name());
    }

    TensorBoardTracker(DoubleSupplier clock, String host) {
        this.clock = clock;
        this.host = host;
    }

    /** The event file being written (null before training begins). */
    public Path file() {
        return file == null ? null : file.path();
    }

    @Override
    public void onTrainBegin(TrainerState state, TrainerControl control) {
        Path runs = Path.of(state.config().outputDir()).resolve(OutputDir.TENSORBOARD_RUNS);
        long step = state.globalStep();
        guarded(() -> {
            Optional<Path> previous = step > 0 ? latestRun(runs) : Optional.empty();
            if (previous.isPresent()) {
                for (Path earlier : EventFile.eventFiles(previous.get())) {
                    EventFile.dropAfter(earlier, step);
                }
                file = EventFile.create(previous.get(), host, clock.getAsDouble());
                file.write(event(step + 1).setSessionLog(SessionLog.newBuilder()
                        .setStatus(SessionLog.SessionStatus.START)).build());
            } else {
                Path dir = runs.resolve(LocalDateTime.now().format(RUN_TIME) + "_" + host);
                file = EventFile.create(dir, host, clock.getAsDouble());
                file.write(summary(0, text("args", List.of(state.config().toJson().toPrettyString()), 1)));
                file.write(summary(0, hparams(state, dir.getFileName().toString())));
            }
            LOG.info("TensorBoard: {} (tensorboard --logdir {})", file.path(), runs);
        });
    }

    @Override
    public void onLog(TrainerState state, Map<String, Double> logs, TrainerControl control) {
        scalars(state.globalStep(), values.ofLog(state, logs));
    }

    @Override
    public void onEvaluate(TrainerState state, Map<String, Double> metrics, TrainerControl control) {
        scalars(state.globalStep(), values.ofEval(state, metrics));
    }

    @Override
    public void onSamples(TrainerState state, List<GeneratedSample> samples, TrainerControl control) {
        List<String> cells = new java.util.ArrayList<>();
        SAMPLE_COLUMNS.forEach(c -> cells.add("**" + c + "**"));
        for (GeneratedSample s : samples) {
            cells.addAll(List.of(s.prompt(), s.chosen(), s.rejected(), s.completion()));
        }
        guarded(() -> file.write(summary(state.globalStep(), text("eval/samples", cells, SAMPLE_COLUMNS.size()))));
    }

    @Override
    public void onTrainEnd(TrainerState state, TrainerControl control) {
        close();
    }

    @Override
    public void close() {
        if (file != null) {
            guarded(file::close);
        }
    }

    /** HF's rewrite_logs: {@code eval_x} is {@code eval/x}, {@code test_x} is {@code test/x}, any other is {@code train/x}. */
    static String tag(String key) {
        if (key.startsWith("eval_")) {
            return "eval/" + key.substring(5);
        }
        return key.startsWith("test_") ? "test/" + key.substring(5) : "train/" + key;
    }

    private void scalars(long step, Map<String, Double> values) {
        Summary.Builder summary = Summary.newBuilder();
        values.forEach((key, v) -> summary.addValue(Summary.Value.newBuilder().setTag(tag(key))
                .setSimpleValue(v.floatValue()))); // TensorBoard scalars are float32 (simple_value)
        guarded(() -> file.write(event(step).setSummary(summary).build()));
    }

    private Event.Builder event(long step) {
        return Event.newBuilder().setWallTime(clock.getAsDouble()).setStep(step);
    }

    private Event summary(long step, Summary.Value value) {
        return event(step).setSummary(Summary.newBuilder().addValue(value)).build();
    }

    /** A text summary: one string (columns 1) or a table of {@code columns} columns, row by row. */
    private static Summary.Value text(String tag, List<String> cells, int columns) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        if (cells.size() > 1) {
            shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(cells.size() / columns));
            shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(columns));
        }
        TensorProto.Builder tensor = TensorProto.newBuilder().setDtype(DataType.DT_STRING).setTensorShape(shape);
        cells.forEach(c -> tensor.addStringVal(ByteString.copyFrom(c, StandardCharsets.UTF_8)));
        return Summary.Value.newBuilder().setTag(tag).setMetadata(SummaryMetadata.newBuilder()
                .setPluginData(SummaryMetadata.PluginData.newBuilder().setPluginName("text"))).setTensor(tensor)
                .build();
    }

    /** The hparams plugin's session start: every setting, numbers, booleans and strings as themselves. */
    private Summary.Value hparams(TrainerState state, String group) {
        SessionStartInfo.Builder start = SessionStartInfo.newBuilder().setGroupName(group)
                .setStartTimeSecs(clock.getAsDouble());
        for (Iterator<Map.Entry<String, JsonNode>> it = state.config().toJson().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            start.putHparams(e.getKey(), v.isNumber() ? Value.newBuilder().setNumberValue(v.doubleValue()).build()
                    : v.isBoolean() ? Value.newBuilder().setBoolValue(v.booleanValue()).build()
                    : v.isNull() ? Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build()
                    : Value.newBuilder().setStringValue(v.isTextual() ? v.textValue() : v.toString()).build());
        }
        HParamsPluginData content = HParamsPluginData.newBuilder().setVersion(0).setSessionStartInfo(start).build();
        return Summary.Value.newBuilder().setTag("_hparams_/session_start_info")
                .setMetadata(SummaryMetadata.newBuilder().setPluginData(SummaryMetadata.PluginData.newBuilder()
                        .setPluginName("hparams").setContent(content.toByteString())))
                .setTensor(TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).setTensorShape(
                        TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dim.newBuilder().setSize(0))))
                .build();
    }

    /** The newest run folder (names start with their date) that holds event files. */
    private static Optional<Path> latestRun(Path runs) throws IOException {
        if (!Files.isDirectory(runs)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(runs)) {
            return dirs.filter(Files::isDirectory).sorted(java.util.Comparator.reverseOrder()).filter(d -> {
                try {
                    return !EventFile.eventFiles(d).isEmpty();
                } catch (IOException e) {
                    return false;
                }
            }).findFirst();
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    /** Runs {@code action} unless writing failed before; a failure is reported once and ends TensorBoard logging. */
    private void guarded(IoAction action) {
        if (failed) {
            return;
        }
        try {
            action.run();
        } catch (IOException | RuntimeException | LinkageError e) { // LinkageError: protobuf-java missing
            failed = true;
            LOG.warn("TensorBoard: cannot write {} ({}); training goes on, TensorBoard logging stops here"
                    + " (metrics.jsonl has every value)", file == null ? "OUTPUT/runs" : file.path(), e.toString());
        }
    }
}
