package org.orpo4j.train;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * When the trainer computes the ORPO loss chunk by chunk from the hidden states ({@code ChunkedOrpoLoss}) instead of
 * from the full {@code [2B, T, V]} logits: the numbers are the same, only the memory peak differs.
 */
public enum ChunkedLoss {
    /** Chunk once a micro-batch's logits exceed {@code ChunkedOrpoLoss.AUTO_THRESHOLD_VALUES} values. */
    AUTO,
    /** Always chunk. */
    ON,
    /** Never chunk: full logits, as TRL computes them. */
    OFF;

    /** The name used in JSON configs and on the command line. */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ChunkedLoss parse(String name) {
        for (ChunkedLoss c : values()) {
            if (c.jsonName().equalsIgnoreCase(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown chunkedLoss '" + name + "'; expected one of "
                + Arrays.stream(values()).map(ChunkedLoss::jsonName).collect(Collectors.joining(", ")));
    }
}
