package org.orpo4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.orpo4j.runtime.AtomicFiles;

/**
 * {@code metrics.jsonl}: one JSON object per logged step (training or evaluation), flushed at once so a crash
 * loses nothing logged. Non-finite values are written as {@code null} (JSON has no NaN). {@code samples.jsonl} is
 * written the same way: any JSON-lines file whose lines carry their {@code step} resumes as this one does.
 */
public final class MetricsWriter implements AutoCloseable {

    /** The file name inside the output folder. */
    public static final String FILE = "metrics.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final BufferedWriter out;

    private MetricsWriter(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** Starts a fresh file (a previous one is replaced). */
    public static MetricsWriter create(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        return new MetricsWriter(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8));
    }

    /**
     * Continues a file after resuming from step {@code resumedStep}: lines logged past that step by the
     * interrupted run are dropped (they will be logged again), earlier ones kept; the file is replaced whole, so a
     * crash or a full disk meanwhile leaves the previous one.
     */
    public static MetricsWriter resume(Path file, long resumedStep) throws IOException {
        if (!Files.exists(file)) {
            return create(file);
        }
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode step;
            try {
                step = JSON.readTree(line).get("step");
            } catch (IOException e) {
                continue; // a line cut short by the crash
            }
            if (step != null && step.asLong() <= resumedStep) {
                kept.add(line);
            }
        }
        StringBuilder text = new StringBuilder();
        kept.forEach(line -> text.append(line).append('\n'));
        AtomicFiles.write(file, text.toString().getBytes(StandardCharsets.UTF_8)); // a crash keeps the old file
        return new MetricsWriter(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                StandardOpenOption.APPEND));
    }

    public Path file() {
        return file;
    }

    /** Appends one line. Integral values stay integers; non-finite doubles become null. */
    public void write(Map<String, ?> record) throws IOException {
        Map<String, Object> clean = new LinkedHashMap<>();
        record.forEach((k, v) -> clean.put(k, v instanceof Double d && !Double.isFinite(d) ? null : v));
        out.write(JSON.writeValueAsString(clean));
        out.newLine();
        out.flush();
    }

    /** Reads a metrics.jsonl back, one map per line in order (numbers as Double or Long, null kept). */
    public static List<Map<String, Object>> read(Path file) throws IOException {
        List<Map<String, Object>> lines = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (IOException e) {
                throw new IOException(file + ":" + lineNo + ": not JSON: " + e.getMessage(), e);
            }
            Map<String, Object> m = new LinkedHashMap<>();
            node.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().isNull() ? null
                    : e.getValue().isIntegralNumber() ? (Object) e.getValue().longValue()
                    : e.getValue().isNumber() ? (Object) e.getValue().doubleValue() : e.getValue().asText()));
            lines.add(m);
        }
        return lines;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
