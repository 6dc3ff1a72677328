package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsWriterTest {

    @TempDir
    Path dir;

    @Test
    void oneObjectPerLineReadBackAndResumeDropsLinesPastTheCheckpoint() throws IOException {
        Path file = dir.resolve("run/metrics.jsonl");
        try (MetricsWriter w = MetricsWriter.create(file)) {
            for (long step = 1; step <= 4; step++) {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("step", step);
                line.put("epoch", step / 4.0);
                line.put("rewards/accuracies", 0.5 + step / 10.0);
                line.put("grad_norm", step == 3 ? Double.NaN : 1.25);
                w.write(line);
            }
        }
        List<String> raw = Files.readAllLines(file);
        assertEquals(4, raw.size());
        assertEquals("{\"step\":1,\"epoch\":0.25,\"rewards/accuracies\":0.6,\"grad_norm\":1.25}", raw.get(0));
        List<Map<String, Object>> back = MetricsWriter.read(file);
        assertEquals(4L, back.get(3).get("step"));
        assertEquals(0.9, (Double) back.get(3).get("rewards/accuracies"), 1e-12);
        assertNull(back.get(2).get("grad_norm"));
        assertTrue(back.get(2).containsKey("grad_norm"));

        Files.writeString(file, Files.readString(file) + "{\"step\":5,\"los"); // a line cut by a crash
        try (MetricsWriter w = MetricsWriter.resume(file, 2)) {
            w.write(Map.of("step", 3L));
        }
        back = MetricsWriter.read(file);
        assertEquals(List.of(1L, 2L, 3L), back.stream().map(m -> m.get("step")).toList());
        assertEquals(1, back.get(2).size());
    }

    /**
     * Resuming replaces metrics.jsonl whole (a new file renamed over it), never rewriting it in place: a second name
     * for the old file, as a reader or a crash mid-write would see it, still holds every old line.
     */
    @Test
    void resumeReplacesTheFileInsteadOfRewritingItInPlace() throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        Files.writeString(file, "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n");
        Path before = Files.createLink(dir.resolve("seen-by-a-reader"), file);
        try (MetricsWriter w = MetricsWriter.resume(file, 1)) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("step", 2L);
            line.put("loss", 0.5);
            w.write(line);
        }
        assertEquals("{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n", Files.readString(before));
        assertEquals("{\"step\":1}\n{\"step\":2,\"loss\":0.5}\n", Files.readString(file));
        assertEquals(List.of("metrics.jsonl", "seen-by-a-reader"), Files.list(dir).map(p -> p.getFileName().toString())
                .sorted().toList(), "no temporary file left");
    }
}
