package org.orpo4j.data;

/** What loading does with a bad row. */
public enum BadDataPolicy {
    /** Stop with {@code file:line: field: what is wrong} (default: bad data is a bug to fix, not to average). */
    FAIL,
    /** Skip the row and count it per reason in the load report. */
    SKIP;

    public static BadDataPolicy parse(String s) {
        return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
    }
}
