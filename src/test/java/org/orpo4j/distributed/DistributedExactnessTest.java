package org.orpo4j.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.loss.OrpoMetrics;
import org.orpo4j.train.MetricsWriter;

/**
 * Acceptance 1 of data-parallel training: 2 ranks × 2 pairs on Gloo for 3 optimizer steps end with the weights of
 * 1 process × 4 pairs on the same rows (max abs diff ≤ 1e-5), plain and LoRA, with and without accumulation; every
 * logged metric within 1e-5 relative and the token counters equal; rank 1 writes nothing, so both output folders
 * hold the same files.
 */
class DistributedExactnessTest {

    @TempDir
    Path dir;

    @Test
    void plain() throws Exception {
        twoRanksAsOne("plain", 1);
    }

    @Test
    void plainWithAccumulation() throws Exception {
        twoRanksAsOne("plain", 2);
    }

    @Test
    void lora() throws Exception {
        twoRanksAsOne("lora", 1);
    }

    @Test
    void loraWithAccumulation() throws Exception {
        twoRanksAsOne("lora", 2);
    }

    private void twoRanksAsOne(String mode, int accumulation) throws Exception {
        String g = Integer.toString(accumulation);
        Process single = Workers.start(Workers.java(DdpTrainMain.class, dir.resolve("one").toString(),
                dir.resolve("dump-one").toString(), mode, "4", g, "3", "0"), Map.of(), dir.resolve("one.log"));
        int port = Workers.freePort();
        List<Process> ranks = List.of(
                Workers.rank(0, 2, port, dir.resolve("r0.log"), DdpTrainMain.class, dir.resolve("two").toString(),
                        dir.resolve("dump-two").toString(), mode, "2", g, "3", "0"),
                Workers.rank(1, 2, port, dir.resolve("r1.log"), DdpTrainMain.class, dir.resolve("two").toString(),
                        dir.resolve("dump-two").toString(), mode, "2", g, "3", "0"));
        int[] rc = Workers.await(List.of(single, ranks.get(0), ranks.get(1)), 300);
        assertArrayEquals(new int[] {0, 0, 0}, rc, () -> logs());

        Map<String, float[]> one = dump(dir.resolve("dump-one/rank0.bin"));
        Map<String, float[]> r0 = dump(dir.resolve("dump-two/rank0.bin"));
        Map<String, float[]> r1 = dump(dir.resolve("dump-two/rank1.bin"));
        assertEquals(one.keySet(), r0.keySet());
        double moved = 0;
        double worst = 0;
        for (String name : one.keySet()) {
            assertArrayEquals(r0.get(name), r1.get(name), 0f, name + ": the ranks differ");
            for (int i = 0; i < one.get(name).length; i++) {
                worst = Math.max(worst, Math.abs(one.get(name)[i] - r0.get(name)[i]));
            }
        }
        assertTrue(worst <= 1e-5, mode + " accumulation " + g + ": max abs diff " + worst);
        System.out.printf("%s, accumulation %s: max abs weight diff 2 ranks vs 1 = %.3g%n", mode, g, worst);

        List<Map<String, Object>> a = MetricsWriter.read(dir.resolve("one").resolve(MetricsWriter.FILE));
        List<Map<String, Object>> b = MetricsWriter.read(dir.resolve("two").resolve(MetricsWriter.FILE));
        assertEquals(3, a.size());
        assertEquals(a.size(), b.size());
        double worstMetric = 0;
        for (int i = 0; i < a.size(); i++) {
            for (String key : Stream.concat(OrpoMetrics.NAMES.stream(), Stream.of("grad_norm", "learning_rate",
                    "epoch")).toList()) {
                double x = ((Number) a.get(i).get(key)).doubleValue();
                double y = ((Number) b.get(i).get(key)).doubleValue();
                double rel = Math.abs(x - y) / Math.max(Math.abs(x), 1e-12);
                worstMetric = Math.max(worstMetric, rel);
                assertTrue(rel <= 1e-5, "step " + (i + 1) + " " + key + ": " + x + " vs " + y);
            }
            assertEquals(a.get(i).get("num_input_tokens_seen"), b.get(i).get("num_input_tokens_seen"));
            assertEquals(a.get(i).get("num_tokens_computed"), b.get(i).get("num_tokens_computed"));
        }
        System.out.printf("%s, accumulation %s: max relative metric diff = %.3g%n", mode, g, worstMetric);
        assertEquals(files(dir.resolve("one")), files(dir.resolve("two")));
    }

    private static Map<String, float[]> dump(Path file) throws IOException {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            while (in.available() > 0) {
                String name = in.readUTF();
                float[] v = new float[in.readInt()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = in.readFloat();
                }
                out.put(name, v);
            }
        }
        return out;
    }

    private static List<String> files(Path folder) throws IOException {
        try (Stream<Path> s = Files.walk(folder)) {
            return s.map(p -> folder.relativize(p).toString()).sorted().toList();
        }
    }

    private String logs() {
        StringBuilder b = new StringBuilder();
        for (String name : new String[] {"one.log", "r0.log", "r1.log"}) {
            try {
                b.append("--- ").append(name).append('\n').append(Workers.log(dir.resolve(name)));
            } catch (IOException e) {
                b.append(e);
            }
        }
        return b.toString();
    }
}
