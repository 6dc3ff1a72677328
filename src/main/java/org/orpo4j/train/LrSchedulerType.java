package org.orpo4j.train;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The learning-rate schedules of HF's {@code get_scheduler}, spelled as its {@code lr_scheduler_type}. */
public enum LrSchedulerType {
    /** Linear warmup, then linear decay to 0 at the last step (HF default). */
    LINEAR,
    /** Linear warmup, then half a cosine period down to 0. */
    COSINE,
    /** The base rate at every step; HF ignores warmup for this type. */
    CONSTANT,
    /** Linear warmup, then the base rate. */
    CONSTANT_WITH_WARMUP;

    /** The HF spelling, e.g. {@code constant_with_warmup}. */
    public String hfName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses the HF spelling (case-insensitive). */
    public static LrSchedulerType parse(String name) {
        for (LrSchedulerType t : values()) {
            if (t.hfName().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown lrSchedulerType '" + name + "', expected one of "
                + Arrays.stream(values()).map(LrSchedulerType::hfName).collect(Collectors.joining(", ")));
    }
}
