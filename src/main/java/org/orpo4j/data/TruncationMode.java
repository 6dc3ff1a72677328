package org.orpo4j.data;

/** Which end of a too-long prompt survives (TRL's truncation_mode). */
public enum TruncationMode {
    /** Keep the prompt's last max_prompt_length tokens (TRL default): the question nearest the answer. */
    KEEP_END,
    /** Keep the prompt's first max_prompt_length tokens. */
    KEEP_START;

    /** Parses TRL's spelling ({@code keep_end}, {@code keep_start}). */
    public static TruncationMode parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT).replace('-', '_')) {
            case "keep_end" -> KEEP_END;
            case "keep_start" -> KEEP_START;
            default -> throw new IllegalArgumentException("truncation_mode must be keep_end or keep_start, got " + s);
        };
    }
}
