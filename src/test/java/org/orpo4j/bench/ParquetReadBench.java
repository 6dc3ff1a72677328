package org.orpo4j.bench;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Locale;
import java.util.Random;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.RawRecords;

/**
 * Parquet read benchmark (a main, not a test): N rows in trl-lib/ultrafeedback_binarized's layout (a prompt string,
 * chosen/rejected as user + assistant messages, two scores) as JSONL and as parquet (written by DuckDB, snappy),
 * read side by side in one run: the raw rows (what the file format costs), then full loads with the Qwen3 tokenizer
 * and chat template. Args: [rows=100000] [tokenizer threads=2].
 */
public final class ParquetReadBench {

    private ParquetReadBench() {}

    public static void main(String[] args) throws Exception {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        Path dir = Files.createTempDirectory("orpo4j-parquet-bench");
        Path jsonl = dir.resolve("rows.jsonl");
        Path parquet = dir.resolve("rows.parquet");
        String[] words = ("the of and to in is you that it he was for on are as with his they at be this have from "
                + "or one had by word but not what all were we when your can said there use an each which she do how")
                .split(" ");
        Random r = new Random(1);
        try (BufferedWriter w = Files.newBufferedWriter(jsonl, StandardCharsets.UTF_8)) {
            for (int i = 0; i < rows; i++) {
                String prompt = text(r, words, 10 + r.nextInt(40)) + "?";
                w.write("{\"prompt\": \"" + prompt + "\", \"chosen\": " + turn(prompt, text(r, words, 20 + r.nextInt(100)))
                        + ", \"rejected\": " + turn(prompt, text(r, words, 20 + r.nextInt(100)))
                        + ", \"score_chosen\": " + (5 + r.nextInt(6)) + ".0, \"score_rejected\": " + (1 + r.nextInt(5))
                        + ".0}\n");
            }
        }
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
            s.execute("COPY (SELECT * FROM read_json_auto('" + jsonl + "')) TO '" + parquet + "' (FORMAT parquet)");
        }
        System.out.printf(Locale.ROOT, "%d rows: JSONL %.1f MB, parquet %.1f MB%n", rows, Files.size(jsonl) / 1e6,
                Files.size(parquet) / 1e6);
        for (int round = 0; round < 3; round++) { // the first round warms the JIT and DuckDB up
            double j = rawRows(jsonl);
            double p = rawRows(parquet);
            System.out.printf(Locale.ROOT, "round %d raw rows: JSONL %.2f s (%.0f rows/s), parquet %.2f s (%.0f rows/s),"
                    + " parquet/JSONL time %.2f%n", round, j, rows / j, p, rows / p, p / j);
        }
        try (HfTokenizer tok = HfTokenizer.load(Path.of("src/test/resources/tokenizers/qwen3"))) {
            DataOptions options = DataOptions.builder().threads(threads).build();
            double j = load(jsonl, tok, options);
            double p = load(parquet, tok, options);
            System.out.printf(Locale.ROOT, "full load (%d tokenizer threads): JSONL %.1f s (%.0f rows/s), parquet %.1f s"
                    + " (%.0f rows/s), parquet/JSONL time %.2f%n", threads, j, rows / j, p, rows / p, p / j);
        } finally {
            Files.delete(jsonl);
            Files.delete(parquet);
            Files.delete(dir);
        }
    }

    private static double rawRows(Path file) throws Exception {
        long t0 = System.nanoTime();
        long n = RawRecords.fields(file);
        if (n == 0) {
            throw new IllegalStateException("no rows read from " + file);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double load(Path file, HfTokenizer tok, DataOptions options) throws Exception {
        long t0 = System.nanoTime();
        PreferenceDataset.load(file, tok, options);
        return (System.nanoTime() - t0) / 1e9;
    }

    private static String turn(String prompt, String answer) {
        return "[{\"content\": \"" + prompt + "\", \"role\": \"user\"}, {\"content\": \"" + answer
                + ".\", \"role\": \"assistant\"}]";
    }

    private static String text(Random r, String[] words, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
        }
        return b.toString();
    }
}
