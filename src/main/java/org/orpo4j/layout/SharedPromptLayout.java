package org.orpo4j.layout;

import java.util.Arrays;
import java.util.List;

/**
 * The shared-prompt layout of a micro-batch of preference pairs: every pair is one run of tokens
 * {@code [prompt | chosen | rejected]}, the pairs one after another in a single packed row with no padding. The
 * rejected tokens take the positions that follow the prompt (as in the two-row layout) and attend to the prompt
 * and to themselves, never to the chosen tokens; the prompt attends to itself only. So every hidden state equals
 * the one the two-row layout {@code [prompt | chosen]}, {@code [prompt | rejected]} computes, while the prompt
 * runs through the network once and no padding runs at all.
 *
 * <pre>
 *   tokens     p0 p1 p2 | c0 c1 | r0 r1 r2 | p0' ...        (pair 0, then pair 1 ...)
 *   positions   0  1  2 |  3  4 |  3  4  5 |  0  ...
 *   c1 sees    p0 p1 p2   c0 c1                              (causal over prompt + chosen)
 *   r1 sees    p0 p1 p2           r0 r1                      (causal over prompt + rejected)
 * </pre>
 *
 * <p>Rows of the ORPO loss keep TRL's order: rows 0..B-1 are the chosen sequences, B..2B-1 the rejected ones. Pure
 * Java: the model reads the positions and the attention pieces, the loss the {@link Predictions}.
 *
 * <p>{@link #padded} adds, for evaluation, the padding TRL's two-row batch computes: its {@code logits/*} metrics
 * average every position of the padded rows, so each row's pad tokens follow its answers as queries over the
 * row's real tokens (padding is never a key), at the positions that continue the row.
 */
public final class SharedPromptLayout {

    private final long[] ids; // [L] packed token ids
    private final int[] prompt;
    private final int[] chosen;
    private final int[] rejected;
    private final int[] chosenTail; // leading answer tokens TRL labels -100 (a BPE merge across the boundary)
    private final int[] rejectedTail;
    private final int[] chosenPad; // pad tokens after the rejected tokens, the chosen row's (0 unless padded)
    private final int[] rejectedPad; // then the rejected row's
    private final int[] start; // first packed index of each pair

    private SharedPromptLayout(long[] ids, int[] prompt, int[] chosen, int[] rejected, int[] chosenTail,
            int[] rejectedTail, int[] chosenPad, int[] rejectedPad) {
        this.ids = ids;
        this.prompt = prompt;
        this.chosen = chosen;
        this.rejected = rejected;
        this.chosenTail = chosenTail;
        this.rejectedTail = rejectedTail;
        this.chosenPad = chosenPad;
        this.rejectedPad = rejectedPad;
        this.start = new int[prompt.length + 1];
        for (int i = 0; i < prompt.length; i++) {
            start[i + 1] = start[i] + prompt[i] + chosen[i] + rejected[i] + chosenPad[i] + rejectedPad[i];
        }
    }

    /** One pair's tokens: the prompt, both answers, and how many leading answer tokens are labelled as prompt. */
    public record Pair(long[] prompt, long[] chosen, long[] rejected, int chosenTail, int rejectedTail) {
        public Pair {
            if (chosen.length == 0 || rejected.length == 0) {
                throw new IllegalArgumentException("a pair needs chosen and rejected tokens");
            }
            if (chosenTail < 0 || chosenTail >= chosen.length || rejectedTail < 0
                    || rejectedTail >= rejected.length) {
                throw new IllegalArgumentException("every answer needs a completion token after its prompt tail");
            }
        }
    }

    /** Packs {@code pairs} one after another. */
    public static SharedPromptLayout of(List<Pair> pairs) {
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("empty batch");
        }
        int b = pairs.size();
        int[] p = new int[b];
        int[] c = new int[b];
        int[] r = new int[b];
        int[] ct = new int[b];
        int[] rt = new int[b];
        long total = 0;
        for (int i = 0; i < b; i++) {
            Pair pair = pairs.get(i);
            p[i] = pair.prompt().length;
            c[i] = pair.chosen().length;
            r[i] = pair.rejected().length;
            ct[i] = pair.chosenTail();
            rt[i] = pair.rejectedTail();
            total += p[i] + c[i] + r[i];
        }
        long[] ids = new long[Math.toIntExact(total)];
        int k = 0;
        for (Pair pair : pairs) {
            for (long[] part : new long[][] {pair.prompt(), pair.chosen(), pair.rejected()}) {
                System.arraycopy(part, 0, ids, k, part.length);
                k += part.length;
            }
        }
        return new SharedPromptLayout(ids, p, c, r, ct, rt, new int[b], new int[b]);
    }

    /**
     * This layout with every row padded with {@code padId} to the longest row, {@code T = max(prompt + answer)}, as
     * TRL's two-row batch pads it; {@link #predictions} then covers positions {@code 0..T-2} of every row, the
     * positions TRL's {@code logits/*} average (exactly TRL's evaluation metrics).
     */
    public SharedPromptLayout padded(long padId) {
        int b = pairs();
        int t = 0;
        for (int i = 0; i < b; i++) {
            t = Math.max(t, prompt[i] + Math.max(chosen[i], rejected[i]));
        }
        int[] cp = new int[b];
        int[] rp = new int[b];
        long total = 0;
        for (int i = 0; i < b; i++) {
            cp[i] = t - prompt[i] - chosen[i];
            rp[i] = t - prompt[i] - rejected[i];
            total += prompt[i] + chosen[i] + rejected[i] + cp[i] + rp[i];
        }
        long[] padded = new long[Math.toIntExact(total)];
        int k = 0;
        for (int i = 0; i < b; i++) {
            int real = prompt[i] + chosen[i] + rejected[i];
            System.arraycopy(ids, start[i], padded, k, real);
            k += real;
            java.util.Arrays.fill(padded, k, k + cp[i] + rp[i], padId);
            k += cp[i] + rp[i];
        }
        return new SharedPromptLayout(padded, prompt, chosen, rejected, chosenTail, rejectedTail, cp, rp);
    }

    /** B, the number of pairs. */
    public int pairs() {
        return prompt.length;
    }

    /** L, the packed length: Σ prompt + chosen + rejected (+ padding when {@link #padded}), every token once. */
    public int length() {
        return start[prompt.length];
    }

    /** The packed token ids [L]. */
    public long[] ids() {
        return ids.clone();
    }

    /** Each packed token's position: prompt and chosen count from 0, rejected continues after the prompt. */
    public long[] positions() {
        long[] pos = new long[length()];
        for (int i = 0; i < pairs(); i++) {
            int s = start[i];
            for (int t = 0; t < prompt[i] + chosen[i]; t++) {
                pos[s + t] = t;
            }
            for (int t = 0; t < rejected[i]; t++) {
                pos[s + prompt[i] + chosen[i] + t] = prompt[i] + t;
            }
            int pads = s + prompt[i] + chosen[i] + rejected[i];
            for (int t = 0; t < chosenPad[i]; t++) { // each row's padding continues its positions
                pos[pads + t] = prompt[i] + chosen[i] + t;
            }
            for (int t = 0; t < rejectedPad[i]; t++) {
                pos[pads + chosenPad[i] + t] = prompt[i] + rejected[i] + t;
            }
        }
        return pos;
    }

    /** The real tokens of the two-row layout, {@code 2·prompt + chosen + rejected} per pair (TRL's tokens seen). */
    public long twoRowRealTokens() {
        long total = 0;
        for (int i = 0; i < pairs(); i++) {
            total += 2L * prompt[i] + chosen[i] + rejected[i];
        }
        return total;
    }

    /**
     * The attention pieces: per pair, the prompt and chosen queries over the prompt and chosen keys (a causal
     * square), then the rejected queries over the prompt keys and their own; when padded, each row's pad queries over
     * that row's real keys (never a pad, as TRL's mask has it). Query ranges follow token order.
     */
    public List<AttentionPiece> attentionPieces() {
        List<AttentionPiece> pieces = new java.util.ArrayList<>();
        for (int i = 0; i < pairs(); i++) {
            int s = start[i];
            int pc = prompt[i] + chosen[i];
            int pcr = pc + rejected[i];
            int[][] rejectedKeys = prompt[i] == 0 ? new int[][] {{s + pc, s + pcr}}
                    : new int[][] {{s, s + prompt[i]}, {s + pc, s + pcr}};
            pieces.add(new AttentionPiece(s, s + pc, new int[][] {{s, s + pc}}, 0));
            pieces.add(new AttentionPiece(s + pc, s + pcr, rejectedKeys, 0));
            // pads see their row's real keys; the row's pads are there as hidden keys, so that a pad the window
            // keeps from every real key gets TRL's uniform weights over the whole padded row
            if (chosenPad[i] > 0) {
                int from = s + pcr;
                pieces.add(new AttentionPiece(from, from + chosenPad[i],
                        new int[][] {{s, s + pc}, {from, from + chosenPad[i]}}, chosenPad[i]));
            }
            if (rejectedPad[i] > 0) {
                int from = s + pcr + chosenPad[i];
                int[][] keys = java.util.Arrays.copyOf(rejectedKeys, rejectedKeys.length + 1);
                keys[rejectedKeys.length] = new int[] {from, from + rejectedPad[i]};
                pieces.add(new AttentionPiece(from, from + rejectedPad[i], keys, rejectedPad[i]));
            }
        }
        return List.copyOf(pieces);
    }

    /**
     * The queries {@code [queryStart, queryEnd)} attending to the keys of {@code keyRanges} ({from, to} each, in
     * order); within a piece a key is visible when its position is not after the query's (and, with a sliding
     * window, fewer than window positions before it), except the last {@code paddingKeys} keys, padding, which are
     * never visible.
     */
    public record AttentionPiece(int queryStart, int queryEnd, int[][] keyRanges, int paddingKeys) {
        public int keyCount() {
            return Arrays.stream(keyRanges).mapToInt(r -> r[1] - r[0]).sum();
        }
    }

    /**
     * What the loss reads, one entry per packed position that predicts a token (the last token of each answer
     * predicts none): the position, the token it predicts for the chosen row or the rejected row (the prompt's last
     * position predicts both answers' first tokens), its NLL target, and which rows count its logits in the
     * {@code logits/*} metrics (prompt positions belong to both rows of their pair).
     *
     * @param position     [N] packed index of the predicting hidden state
     * @param label        [N] completion token scored for {@code labelRow}, or -1
     * @param labelRow     [N] the row (0..2B-1) whose log-prob sum takes it, or -1
     * @param label2       [N] the rejected answer's first token at a prompt's last position, else -1
     * @param label2Row    [N] its row (B..2B-1), or -1
     * @param nllTarget    [N] the token the chosen row's NLL scores here, or -1
     * @param nllRow       [N] the pair (0..B-1) whose NLL takes it, or -1
     * @param logitsRows   [N][1 or 2] the rows whose logits metric counts this position
     * @param pairs        B
     * @param promptLoss   whether the NLL covers the prompt
     */
    public record Predictions(int[] position, long[] label, int[] labelRow, long[] label2, int[] label2Row,
            long[] nllTarget, int[] nllRow, int[][] logitsRows, int pairs, boolean promptLoss) {
        public int count() {
            return position.length;
        }
    }

    /**
     * The predicting entries; {@code promptLoss} makes the chosen row's NLL cover its prompt too (TRL's ORPO
     * default), else its completion tokens only.
     */
    public Predictions predictions(boolean promptLoss) {
        int b = pairs();
        int n = 0;
        for (int i = 0; i < b; i++) {
            n += prompt[i] + (chosen[i] - 1) + (rejected[i] - 1) + chosenPad[i] + rejectedPad[i];
        }
        PredictionsBuilder out = new PredictionsBuilder(n, b, promptLoss);
        for (int i = 0; i < b; i++) {
            int s = start[i];
            int chosenRow = i;
            int rejectedRow = b + i;
            int c0 = s + prompt[i]; // first chosen index
            int r0 = c0 + chosen[i]; // first rejected index
            for (int t = 0; t + 1 < prompt[i]; t++) { // predicts the prompt's next token
                out.next(s + t, chosenRow, rejectedRow);
                if (promptLoss) {
                    out.nll(ids[s + t + 1], i);
                }
            }
            if (prompt[i] > 0) { // the prompt's last position predicts both answers' first tokens
                out.next(c0 - 1, chosenRow, rejectedRow);
                if (chosenTail[i] == 0) {
                    out.label(ids[c0], chosenRow);
                }
                if (rejectedTail[i] == 0) {
                    out.label2(ids[r0], rejectedRow);
                }
                if (chosenTail[i] == 0 || promptLoss) {
                    out.nll(ids[c0], i);
                }
            }
            for (int j = 0; j + 1 < chosen[i]; j++) {
                out.next(c0 + j, chosenRow);
                boolean completion = j + 1 >= chosenTail[i];
                if (completion) {
                    out.label(ids[c0 + j + 1], chosenRow);
                }
                if (completion || promptLoss) {
                    out.nll(ids[c0 + j + 1], i);
                }
            }
            for (int j = 0; j + 1 < rejected[i]; j++) {
                out.next(r0 + j, rejectedRow);
                if (j + 1 >= rejectedTail[i]) {
                    out.label(ids[r0 + j + 1], rejectedRow);
                }
            }
            // a padded row's last real token and its pads up to position T-2 count in logits/* only
            int pads = r0 + rejected[i];
            metricsOnly(out, c0 + chosen[i] - 1, pads, chosenPad[i], chosenRow);
            metricsOnly(out, r0 + rejected[i] - 1, pads + chosenPad[i], rejectedPad[i], rejectedRow);
        }
        return out.build();
    }

    /** With {@code pads} > 0: the row's last real token, then its first {@code pads - 1} pads (at most T-2). */
    private static void metricsOnly(PredictionsBuilder out, int lastReal, int firstPad, int pads, int row) {
        if (pads > 0) {
            out.next(lastReal, row);
            for (int t = 0; t + 1 < pads; t++) {
                out.next(firstPad + t, row);
            }
        }
    }

    /** Fills the entry arrays in order, one {@link #next} per predicting position. */
    private static final class PredictionsBuilder {
        private final int[] position;
        private final long[] label;
        private final int[] labelRow;
        private final long[] label2;
        private final int[] label2Row;
        private final long[] nllTarget;
        private final int[] nllRow;
        private final int[][] logitsRows;
        private final int pairs;
        private final boolean promptLoss;
        private int k = -1;

        PredictionsBuilder(int n, int pairs, boolean promptLoss) {
            this.pairs = pairs;
            this.promptLoss = promptLoss;
            position = new int[n];
            label = new long[n];
            labelRow = new int[n];
            label2 = new long[n];
            label2Row = new int[n];
            nllTarget = new long[n];
            nllRow = new int[n];
            logitsRows = new int[n][];
            for (long[] a : new long[][] {label, label2, nllTarget}) {
                Arrays.fill(a, -1);
            }
            for (int[] a : new int[][] {labelRow, label2Row, nllRow}) {
                Arrays.fill(a, -1);
            }
        }

        /** Starts the entry of packed position {@code pos}, whose logits count for {@code rows}. */
        void next(int pos, int... rows) {
            position[++k] = pos;
            logitsRows[k] = rows;
        }

        void label(long token, int row) {
            label[k] = token;
            labelRow[k] = row;
        }

        void label2(long token, int row) {
            label2[k] = token;
            label2Row[k] = row;
        }

        void nll(long token, int pair) {
            nllTarget[k] = token;
            nllRow[k] = pair;
        }

        Predictions build() {
            if (k + 1 != position.length) {
                throw new IllegalStateException("counted " + position.length + " predictions, made " + (k + 1));
            }
            return new Predictions(position, label, labelRow, label2, label2Row, nllTarget, nllRow, logitsRows, pairs,
                    promptLoss);
        }
    }
}
