package org.orpo4j.data;

import java.util.Map;
import java.util.TreeMap;

/**
 * What loading a preference file did: rows kept, rows skipped per reason (skip policy), tokens in the chosen
 * and rejected sequences, rows changed by truncation.
 */
public record LoadReport(int rows, Map<String, Integer> skipped, long tokens, int truncated) {

    public LoadReport {
        skipped = Map.copyOf(new TreeMap<>(skipped));
    }

    /** Total rows skipped. */
    public int skippedRows() {
        return skipped.values().stream().mapToInt(Integer::intValue).sum();
    }

    @Override
    public String toString() {
        return rows + " rows, " + tokens + " tokens, " + truncated + " truncated, " + skippedRows() + " skipped"
                + (skipped.isEmpty() ? "" : " " + new TreeMap<>(skipped));
    }
}
