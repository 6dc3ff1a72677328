package org.orpo4j.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** GPU memory as nvidia-smi reports it (PyTorch's caching-allocator pool included), for tests and benchmarks. */
public final class NvidiaSmi {

    private NvidiaSmi() {}

    /**
     * This process's GPU memory in MiB; where its PID is not listed (a container's own PID namespace), the memory
     * used on GPU 0, which a test machine's single job owns; -1 without nvidia-smi.
     */
    public static long processMiB() {
        String pid = Long.toString(ProcessHandle.current().pid());
        for (String[] row : query("--query-compute-apps=pid,used_memory")) {
            if (row.length == 2 && row[0].equals(pid)) {
                return Long.parseLong(row[1]);
            }
        }
        for (String[] row : query("--query-gpu=memory.used")) {
            return Long.parseLong(row[0]);
        }
        return -1;
    }

    /** The rows of an nvidia-smi CSV query whose first field is a number; empty without nvidia-smi. */
    private static List<String[]> query(String query) {
        List<String[]> rows = new ArrayList<>();
        try {
            Process p = new ProcessBuilder("nvidia-smi", query, "--format=csv,noheader,nounits")
                    .redirectErrorStream(true).start();
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    String[] fields = line.split(",");
                    for (int i = 0; i < fields.length; i++) {
                        fields[i] = fields[i].strip();
                    }
                    if (fields[0].matches("\\d+")) {
                        rows.add(fields);
                    }
                }
            }
            return p.waitFor() == 0 ? rows : List.of();
        } catch (IOException | InterruptedException e) {
            return List.of();
        }
    }
}
