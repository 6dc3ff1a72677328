package org.orpo4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.orpo4j.data.LoadReport;
import org.orpo4j.runtime.AtomicFiles;
import org.orpo4j.train.OutputDir;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code OUTPUT/skipped_rows.jsonl}: every row {@code --skip-bad-rows} left out of a training run, one JSON object
 * per line ({@code file}, {@code line}, {@code field}, {@code reason}), so none is lost from sight.
 */
final class SkippedRowsFile {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(SkippedRowsFile.class);

    private SkippedRowsFile() {}

    /** Writes the file when training begins (a resumed run that had already finished writes nothing). */
    static TrainerListener listener(Path output, Map<Path, LoadReport> reports) {
        return new TrainerListener() {
            @Override
            public void onTrainBegin(TrainerState state, TrainerControl control) {
                try {
                    int skipped = write(output, reports);
                    if (skipped > 0) {
                        LOG.warn("{} rows skipped; every one is listed in {}", skipped,
                                output.resolve(OutputDir.SKIPPED_ROWS_FILE));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    /** Writes the skipped rows of each loaded file (none: no file); returns how many were written. */
    static int write(Path output, Map<Path, LoadReport> reports) throws IOException {
        int count = reports.values().stream().mapToInt(LoadReport::skippedCount).sum();
        Path file = output.resolve(OutputDir.SKIPPED_ROWS_FILE);
        if (count == 0) {
            Files.deleteIfExists(file);
            return 0;
        }
        StringBuilder lines = new StringBuilder();
        for (Map.Entry<Path, LoadReport> e : reports.entrySet()) {
            for (LoadReport.SkippedRow row : e.getValue().skippedRows()) {
                ObjectNode n = JSON.createObjectNode();
                n.put("file", e.getKey().toString());
                n.put("line", row.line());
                n.put("field", row.field());
                n.put("reason", row.problem());
                lines.append(JSON.writeValueAsString(n)).append('\n');
            }
        }
        AtomicFiles.write(file, lines.toString().getBytes(StandardCharsets.UTF_8));
        return count;
    }
}
