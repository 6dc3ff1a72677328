package org.orpo4j.bench;

import java.io.BufferedWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;

/**
 * Loading benchmark (a main, not a test): writes N synthetic conversational rows (system + user prompt, one
 * assistant answer each side, 20-120 words) to a temp JSONL file and loads them with the Qwen3 tokenizer and
 * chat template. Prints rows/s and the peak heap. Args: [rows=100000] [threads=cores] [tokenizer dir].
 */
public final class DataLoadBench {

    private DataLoadBench() {}

    public static void main(String[] args) throws Exception {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : Runtime.getRuntime().availableProcessors();
        Path tokDir = args.length > 2 ? Path.of(args[2]) : Path.of("src/test/resources/tokenizers/qwen3");
        Path file = Files.createTempFile("orpo4j-bench", ".jsonl");
        String[] words = ("the of and to in is you that it he was for on are as with his they at be this have from "
                + "or one had by word but not what all were we when your can said there use an each which she do how "
                + "their if will up other about out many then them these so some her would make like him into time").split(" ");
        Random r = new Random(1);
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int i = 0; i < rows; i++) {
                w.write("{\"prompt\": [{\"role\": \"system\", \"content\": \"You are a helpful assistant.\"}, "
                        + "{\"role\": \"user\", \"content\": \"" + text(r, words, 10 + r.nextInt(40)) + "?\"}], "
                        + "\"chosen\": [{\"role\": \"assistant\", \"content\": \"" + text(r, words, 20 + r.nextInt(100)) + ".\"}], "
                        + "\"rejected\": [{\"role\": \"assistant\", \"content\": \"" + text(r, words, 20 + r.nextInt(100)) + ".\"}]}\n");
            }
        }
        System.out.printf("file: %s (%.1f MB, %d rows)%n", file, Files.size(file) / 1e6, rows);
        try (HfTokenizer tok = HfTokenizer.load(tokDir)) {
            resetPeaks();
            long t0 = System.nanoTime();
            PreferenceDataset d = PreferenceDataset.load(file, tok,
                    DataOptions.builder().threads(threads).build());
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("threads %d: %d rows in %.1f s = %.0f rows/s, %.0f tokens/s; %s%n", threads, d.size(), s,
                    d.size() / s, d.report().tokens() / s, d.report());
            System.out.printf("peak heap %.0f MB (max %.0f MB)%n", peakHeap() / 1e6,
                    Runtime.getRuntime().maxMemory() / 1e6);
        } finally {
            Files.delete(file);
        }
    }

    private static String text(Random r, String[] words, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
        }
        return b.toString();
    }

    private static void resetPeaks() {
        System.gc();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            p.resetPeakUsage();
        }
    }

    private static long peakHeap() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                sum += p.getPeakUsage().getUsed();
            }
        }
        return sum;
    }
}
