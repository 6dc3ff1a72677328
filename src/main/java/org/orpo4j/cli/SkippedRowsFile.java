package org.orpo4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.orpo4j.data.LoadReport;
import org.orpo4j.train.OutputDir;

/**
 * {@code OUTPUT/skipped_rows.jsonl}: every row {@code --skip-bad-rows} left out of a training run, one JSON object
 * per line ({@code file}, {@code line}, {@code field}, {@code reason}), so none is lost from sight.
 */
final class SkippedRowsFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SkippedRowsFile() {}

    /** Writes the skipped rows of each loaded file (none: no file); returns how many were written. */
    static int write(Path output, Map<Path, LoadReport> reports) throws IOException {
        int count = reports.values().stream().mapToInt(LoadReport::skippedCount).sum();
        Path file = output.resolve(OutputDir.SKIPPED_ROWS_FILE);
        if (count == 0) {
            Files.deleteIfExists(file);
            return 0;
        }
        try (BufferedWriter out = Files.newBufferedWriter(file)) {
            for (Map.Entry<Path, LoadReport> e : reports.entrySet()) {
                for (LoadReport.SkippedRow row : e.getValue().skippedRows()) {
                    ObjectNode n = JSON.createObjectNode();
                    n.put("file", e.getKey().toString());
                    n.put("line", row.line());
                    n.put("field", row.field());
                    n.put("reason", row.problem());
                    out.write(JSON.writeValueAsString(n));
                    out.newLine();
                }
            }
        }
        return count;
    }
}
