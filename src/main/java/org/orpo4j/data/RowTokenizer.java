package org.orpo4j.data;

import java.util.Arrays;
import java.util.OptionalLong;
import java.util.function.Function;

/**
 * Tokenizes one (prompt, chosen, rejected) text triple by TRL's ORPO rules (docs/data-formats.md): joint
 * tokenization split at the prompt with the boundary-merge rule, BOS once, EOS once, then
 * max_completion_length, max_length / max_prompt_length truncation with keep_end or keep_start.
 */
public final class RowTokenizer {

    private final Function<String, long[]> encoder;
    private final OptionalLong bos;
    private final OptionalLong eos;
    private final DataOptions options;

    /** Rules over {@code tokenizer} (its BOS/EOS) with {@code options}' lengths. */
    public RowTokenizer(HfTokenizer tokenizer, DataOptions options) {
        this(tokenizer::encode, tokenizer.bosId(), tokenizer.eosId(), options);
    }

    RowTokenizer(Function<String, long[]> encoder, OptionalLong bos, OptionalLong eos, DataOptions options) {
        this.encoder = encoder;
        this.bos = bos;
        this.eos = eos;
        this.options = options;
    }

    /** The result of one row, with whether truncation changed it. */
    public record Result(TokenizedPair pair, boolean truncated) {}

    /**
     * Tokenizes a row.
     *
     * @throws BadRowException when an answer has no completion token left after truncation
     */
    public Result tokenize(String prompt, String chosen, String rejected, int sourceLine) {
        long[] p = encoder.apply(prompt);
        long[] jointChosen = encoder.apply(prompt + chosen);
        long[] jointRejected = encoder.apply(prompt + rejected);
        int splitChosen = split(p, jointChosen);
        int splitRejected = split(p, jointRejected);
        int shared = Math.min(splitChosen, splitRejected);
        long[] sharedPrompt = Arrays.copyOf(jointChosen, shared);
        if (!Arrays.equals(sharedPrompt, 0, shared, jointRejected, 0, shared)) {
            throw new BadRowException("prompt", "tokenizes differently before the chosen and the rejected answer");
        }
        long[] c = Arrays.copyOfRange(jointChosen, shared, jointChosen.length);
        long[] r = Arrays.copyOfRange(jointRejected, shared, jointRejected.length);
        int chosenTail = splitChosen - shared;
        int rejectedTail = splitRejected - shared;

        // 2. BOS once
        if (bos.isPresent() && (sharedPrompt.length == 0 || sharedPrompt[0] != bos.getAsLong())) {
            sharedPrompt = prepend(bos.getAsLong(), sharedPrompt);
        }
        // 3. EOS once
        if (eos.isPresent()) {
            c = appendIfMissing(c, eos.getAsLong());
            r = appendIfMissing(r, eos.getAsLong());
        }
        boolean truncated = false;
        if (options.maxCompletionLength() != null) {
            int cap = options.maxCompletionLength();
            truncated |= c.length > cap || r.length > cap;
            c = Arrays.copyOf(c, Math.min(c.length, cap));
            r = Arrays.copyOf(r, Math.min(r.length, cap));
        }
        // 4. max_length: first the prompt, then the answers
        int longest = Math.max(c.length, r.length);
        int maxLength = options.maxLength();
        int maxPrompt = options.maxPromptLength();
        if (sharedPrompt.length + longest > maxLength && sharedPrompt.length > maxPrompt) {
            sharedPrompt = options.truncationMode() == TruncationMode.KEEP_END
                    ? Arrays.copyOfRange(sharedPrompt, sharedPrompt.length - maxPrompt, sharedPrompt.length)
                    : Arrays.copyOf(sharedPrompt, maxPrompt);
            truncated = true;
        }
        if (sharedPrompt.length + longest > maxLength) {
            int keep = maxLength - maxPrompt;
            truncated |= c.length > keep || r.length > keep;
            c = Arrays.copyOf(c, Math.min(c.length, keep));
            r = Arrays.copyOf(r, Math.min(r.length, keep));
        }
        chosenTail = Math.min(chosenTail, c.length);
        rejectedTail = Math.min(rejectedTail, r.length);
        if (c.length - chosenTail == 0 || r.length - rejectedTail == 0) {
            throw new BadRowException(c.length - chosenTail == 0 ? "chosen" : "rejected",
                    "no completion token left after truncation (prompt " + sharedPrompt.length
                            + " tokens, max_length " + maxLength + ", max_prompt_length " + maxPrompt + ")");
        }
        return new Result(new TokenizedPair(sharedPrompt, c, r, sourceLine, chosenTail, rejectedTail), truncated);
    }

    /**
     * Where the answer starts in {@code joint}: after {@code len(p)} tokens, or one token earlier when the joint
     * encoding changed the prompt's tokens (a BPE merge across the boundary), as TRL's build_tokenized_answer.
     */
    static int split(long[] p, long[] joint) {
        int n = Math.min(p.length, joint.length);
        boolean samePrefix = p.length <= joint.length && Arrays.equals(p, 0, n, joint, 0, n);
        return samePrefix ? p.length : Math.max(0, Math.min(p.length, joint.length) - 1);
    }

    private static long[] prepend(long id, long[] a) {
        long[] out = new long[a.length + 1];
        out[0] = id;
        System.arraycopy(a, 0, out, 1, a.length);
        return out;
    }

    private static long[] appendIfMissing(long[] a, long id) {
        if (a.length > 0 && a[a.length - 1] == id) {
            return a;
        }
        long[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = id;
        return out;
    }
}
