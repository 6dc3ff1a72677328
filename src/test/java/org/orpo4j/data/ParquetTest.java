package org.orpo4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parquet rows take the path JSONL rows take: fixtures written by an independent parquet writer
 * (src/test/js/parquet_fixtures.mjs) load to exactly the pairs of their JSONL twins, in the layout of
 * trl-lib/ultrafeedback_binarized (message lists, a prompt string, scores) and as prompt/chosen/rejected strings;
 * a bad row is reported as file:row:field.
 */
class ParquetTest {

    private static final Path FIXTURES = Path.of("src/test/resources/golden/data/parquet");

    @TempDir
    Path dir;

    @Test
    void ultrafeedbackLayoutLoadsAsItsJsonlTwin() throws Exception {
        sameAsTwin("ultrafeedback_layout");
    }

    @Test
    void stringColumnsLoadAsTheirJsonlTwin() throws Exception {
        sameAsTwin("strings");
    }

    private static void sameAsTwin(String name) throws Exception {
        HfTokenizer tokenizer = TestTokenizers.demo();
        PreferenceDataset parquet = PreferenceDataset.load(FIXTURES.resolve(name + ".parquet"), tokenizer,
                DataOptions.defaults());
        PreferenceDataset jsonl = PreferenceDataset.load(FIXTURES.resolve(name + ".jsonl"), tokenizer,
                DataOptions.defaults());
        assertEquals(20, jsonl.size());
        assertEquals(jsonl.size(), parquet.size());
        for (int i = 0; i < jsonl.size(); i++) {
            TokenizedPair want = jsonl.row(i);
            TokenizedPair got = parquet.row(i);
            assertArrayEquals(want.prompt(), got.prompt(), name + " row " + i + " prompt");
            assertArrayEquals(want.chosen(), got.chosen(), name + " row " + i + " chosen");
            assertArrayEquals(want.rejected(), got.rejected(), name + " row " + i + " rejected");
            assertEquals(want.sourceLine(), got.sourceLine(), "rows count as lines");
        }
        assertEquals(jsonl.fingerprint(), parquet.fingerprint(), "the same pairs, the same fingerprint");
    }

    @Test
    void aBadRowIsReportedAsFileRowField() throws Exception {
        Path file = dir.resolve("bad.parquet");
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
            s.execute("COPY (SELECT * FROM (VALUES ('Hi?', 'Hello.', 'Go away.'), ('Why?', 'Because.', NULL))"
                    + " t(prompt, chosen, rejected)) TO '" + file + "' (FORMAT parquet)");
        }
        BadDataException e = assertThrows(BadDataException.class,
                () -> PreferenceDataset.load(file, TestTokenizers.demo(), DataOptions.defaults()));
        assertEquals(file, e.file());
        assertEquals(2, e.line());
        assertEquals("rejected", e.field());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    @Test
    void aFileThatIsNotParquetIsRefusedInOneLine() throws Exception {
        Path file = Files.writeString(dir.resolve("pairs.parquet"), "{\"prompt\": \"not parquet\"}\n");
        BadDataException e = assertThrows(BadDataException.class,
                () -> PreferenceDataset.load(file, TestTokenizers.demo(), DataOptions.defaults()));
        assertEquals(file, e.file());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
}
