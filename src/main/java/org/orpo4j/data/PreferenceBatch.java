package org.orpo4j.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * One ORPO micro-batch as a single [2B, T] forward pass (docs/training.md): rows 0..B-1 are the chosen
 * sequences, rows B..2B-1 the rejected ones of the same pairs, right-padded to the batch's longest sequence
 * with the pad id; attention mask 0 and label -100 on pads, label -100 on prompt tokens.
 */
public final class PreferenceBatch {

    /** The label of positions the loss ignores (HF's ignore_index). */
    public static final long IGNORE = -100;

    private final int pairs;
    private final int length;
    private final long[] inputIds; // [2B, T] row-major
    private final long[] attentionMask; // [2B, T]
    private final long[] labels; // [2B, T]
    private final int[] rowIndices;
    private final long tokens;

    private PreferenceBatch(int pairs, int length, long[] inputIds, long[] attentionMask, long[] labels,
            int[] rowIndices, long tokens) {
        this.pairs = pairs;
        this.length = length;
        this.inputIds = inputIds;
        this.attentionMask = attentionMask;
        this.labels = labels;
        this.rowIndices = rowIndices;
        this.tokens = tokens;
    }

    /** Collates {@code pairs} (dataset rows {@code rowIndices}) padding with {@code padId}. */
    public static PreferenceBatch collate(List<TokenizedPair> pairs, int[] rowIndices, long padId) {
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("empty batch");
        }
        int b = pairs.size();
        int t = 0;
        for (TokenizedPair p : pairs) {
            t = Math.max(t, p.length());
        }
        long[] ids = new long[2 * b * t];
        long[] mask = new long[2 * b * t];
        long[] labels = new long[2 * b * t];
        java.util.Arrays.fill(ids, padId);
        java.util.Arrays.fill(labels, IGNORE);
        long tokens = 0;
        for (int i = 0; i < b; i++) {
            TokenizedPair p = pairs.get(i);
            tokens += fill(ids, mask, labels, i * t, p.prompt(), p.chosen(), p.chosenPromptTail());
            tokens += fill(ids, mask, labels, (b + i) * t, p.prompt(), p.rejected(), p.rejectedPromptTail());
        }
        return new PreferenceBatch(b, t, ids, mask, labels, rowIndices.clone(), tokens);
    }

    private static int fill(long[] ids, long[] mask, long[] labels, int offset, long[] prompt, long[] answer,
            int promptTail) {
        int k = offset;
        for (long id : prompt) {
            ids[k] = id;
            mask[k++] = 1;
        }
        for (int j = 0; j < answer.length; j++) {
            ids[k] = answer[j];
            mask[k] = 1;
            labels[k++] = j < promptTail ? IGNORE : answer[j];
        }
        return prompt.length + answer.length;
    }

    /** B, the number of pairs. */
    public int pairs() {
        return pairs;
    }

    /** T, the padded sequence length. */
    public int length() {
        return length;
    }

    /** [2B*T] row-major ids: chosen rows then rejected rows. */
    public long[] inputIds() {
        return inputIds.clone();
    }

    public long[] attentionMask() {
        return attentionMask.clone();
    }

    public long[] labels() {
        return labels.clone();
    }

    /** The dataset rows of the B pairs. */
    public int[] rowIndices() {
        return rowIndices.clone();
    }

    /** Non-pad tokens in the batch (chosen and rejected sequences). */
    public long tokens() {
        return tokens;
    }

    /** [input_ids, attention_mask, labels], each int64 [2B, T], created in {@code manager}. */
    public NDList toNDList(NDManager manager) {
        Shape shape = new Shape(2L * pairs, length);
        NDArray ids = manager.create(inputIds, shape);
        NDArray mask = manager.create(attentionMask, shape);
        NDArray lab = manager.create(labels, shape);
        ids.setName("input_ids");
        mask.setName("attention_mask");
        lab.setName("labels");
        return new NDList(ids, mask, lab);
    }
}
