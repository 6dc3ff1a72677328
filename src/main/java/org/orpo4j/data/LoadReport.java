package org.orpo4j.data;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What loading a preference file did: rows kept, rows skipped per reason (skip policy) and each skipped row itself,
 * tokens in the chosen and rejected sequences, rows changed by truncation.
 */
public record LoadReport(int rows, Map<String, Integer> skipped, List<SkippedRow> skippedRows, long tokens,
        int truncated) {

    /** A row the skip policy left out: its 1-based line, the field at fault and what is wrong with it. */
    public record SkippedRow(int line, String field, String problem) {}

    public LoadReport {
        skipped = Map.copyOf(new TreeMap<>(skipped));
        skippedRows = List.copyOf(skippedRows);
    }

    /** Total rows skipped. */
    public int skippedCount() {
        return skippedRows.size();
    }

    @Override
    public String toString() {
        return rows + " rows, " + tokens + " tokens, " + truncated + " truncated, " + skippedCount() + " skipped"
                + (skipped.isEmpty() ? "" : " " + new TreeMap<>(skipped));
    }
}
