package org.orpo4j.data;

/**
 * One preference row after tokenization (docs/data-formats.md): the chosen sequence is {@code prompt + chosen},
 * the rejected one {@code prompt + rejected}, BOS/EOS and truncation applied.
 *
 * <p>{@code chosenPromptTail}/{@code rejectedPromptTail} (0 or 1) count leading answer tokens that TRL still
 * labels as prompt: when a BPE merge across the boundary moved only one answer's split left, the shared
 * {@code prompt} is the shorter one and the other answer starts with the prompt's last token, masked with -100.
 *
 * @param sourceLine 1-based line of the row in its file (0 when built in memory)
 */
public record TokenizedPair(long[] prompt, long[] chosen, long[] rejected, int sourceLine,
        int chosenPromptTail, int rejectedPromptTail) {

    /** A pair whose answers start right after the prompt (the usual case). */
    public TokenizedPair(long[] prompt, long[] chosen, long[] rejected, int sourceLine) {
        this(prompt, chosen, rejected, sourceLine, 0, 0);
    }

    public TokenizedPair {
        if (chosenPromptTail < 0 || chosenPromptTail > chosen.length
                || rejectedPromptTail < 0 || rejectedPromptTail > rejected.length) {
            throw new IllegalArgumentException("prompt tail longer than its answer");
        }
    }

    /** Length of the chosen sequence. */
    public int chosenLength() {
        return prompt.length + chosen.length;
    }

    /** Length of the rejected sequence. */
    public int rejectedLength() {
        return prompt.length + rejected.length;
    }

    /** The padded length this pair needs in a batch. */
    public int length() {
        return Math.max(chosenLength(), rejectedLength());
    }
}
