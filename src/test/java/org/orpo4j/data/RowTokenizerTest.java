package org.orpo4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Each tokenization rule of docs/data-formats.md, on a case where the wrong rule gives a different result. */
class RowTokenizerTest {

    private static final long BOS = 128000;
    private static final long EOS = 128001;

    @Test
    void bpeMergeAcrossTheBoundaryMovesTheSplitLeft() {
        HfTokenizer llama = TestTokenizers.llama3();
        // "Translate: chat" = Translate|:|Ġchat, but "Translate: chateau" = Translate|:|Ġch|ateau
        assertArrayEquals(new long[] {28573, 25, 6369}, llama.encode("Translate: chat"));
        assertArrayEquals(new long[] {28573, 25, 523, 77725}, llama.encode("Translate: chateau"));
        TokenizedPair p = new RowTokenizer(llama, DataOptions.defaults())
                .tokenize("Translate: chat", "eau", " is nice", 7).pair();
        // the chosen split moved left (Ġch belongs to the answer); splitting at len(enc(prompt)) = 3 would
        // give prompt [28573, 25, 523] and chosen [77725], a prompt token that the prompt never had
        assertArrayEquals(new long[] {BOS, 28573, 25}, p.prompt());
        assertArrayEquals(new long[] {523, 77725, EOS}, p.chosen());
        // the rejected answer did not merge: its first token is the prompt's own last token, labelled as prompt
        assertArrayEquals(new long[] {6369, 374, 6555, EOS}, p.rejected());
        assertEquals(0, p.chosenPromptTail());
        assertEquals(1, p.rejectedPromptTail());
        assertEquals(7, p.sourceLine());
        PreferenceBatch b = PreferenceBatch.collate(List.of(p), new int[] {0}, EOS);
        assertArrayEquals(new long[] {-100, -100, -100, 523, 77725, EOS, -100,
                                      -100, -100, -100, -100, 374, 6555, EOS}, b.labels());
    }

    @Test
    void qwenMergeAcrossTheBoundary() {
        HfTokenizer qwen = TestTokenizers.qwen3();
        TokenizedPair p = new RowTokenizer(qwen, DataOptions.defaults()).tokenize("Answer:", "\n\nYes", "\n\nNo", 1).pair();
        // "Answer:" = Answer|:  but "Answer:\n\nYes" = Answer|:ĊĊ|Yes ; qwen3 has no BOS
        assertArrayEquals(qwen.encode("Answer"), p.prompt());
        assertArrayEquals(new long[] {1447, 9454, 151645}, p.chosen());
        assertEquals(0, p.chosenPromptTail());
    }

    @Test
    void withoutMergeItIsPlainConcatenation() {
        HfTokenizer llama = TestTokenizers.llama3();
        TokenizedPair p = new RowTokenizer(llama, DataOptions.defaults()).tokenize("The answer is", " 42.", " 7.", 1).pair();
        assertArrayEquals(new long[] {BOS, 791, 4320, 374}, p.prompt());
        assertArrayEquals(concat(llama.encode(" 42."), EOS), p.chosen());
        assertArrayEquals(concat(llama.encode(" 7."), EOS), p.rejected());
    }

    @Test
    void bosAndEosAreAddedOnce() {
        HfTokenizer llama = TestTokenizers.llama3();
        RowTokenizer rows = new RowTokenizer(llama, DataOptions.defaults());
        TokenizedPair p = rows.tokenize("<|begin_of_text|>Hi", " there<|end_of_text|>", " you", 1).pair();
        assertEquals(1, Arrays.stream(p.prompt()).filter(t -> t == BOS).count(), "template already emitted BOS");
        assertEquals(BOS, p.prompt()[0]);
        assertEquals(1, Arrays.stream(p.chosen()).filter(t -> t == EOS).count(), "answer already ends with EOS");
        assertEquals(EOS, p.rejected()[p.rejected().length - 1]);
        // a tokenizer without BOS (qwen3) adds none
        TokenizedPair q = new RowTokenizer(TestTokenizers.qwen3(), DataOptions.defaults()).tokenize("Hi", " a", " b", 1).pair();
        assertArrayEquals(TestTokenizers.qwen3().encode("Hi"), q.prompt());
    }

    /** Word-level fake tokenizer: word w{i} -> id i, so lengths are obvious. */
    private static RowTokenizer words(DataOptions options) {
        return new RowTokenizer(s -> Arrays.stream(s.trim().split("\\s+")).filter(w -> !w.isEmpty())
                .mapToLong(w -> Long.parseLong(w.substring(1))).toArray(), OptionalLong.of(1000), OptionalLong.of(1001),
                options);
    }

    private static String seq(int from, int to) {
        StringBuilder b = new StringBuilder();
        for (int i = from; i < to; i++) {
            b.append(" w").append(i);
        }
        return b.toString();
    }

    @Test
    void promptIsTruncatedFirstFromTheChosenEnd() {
        // prompt: BOS + 10 tokens = 11; chosen 6 + EOS = 7, rejected 3 + EOS = 4; L = 12, P = 4
        DataOptions keepEnd = DataOptions.builder().maxLength(12).maxPromptLength(4).build();
        RowTokenizer.Result r = words(keepEnd).tokenize(seq(0, 10), seq(20, 26), seq(30, 33), 1);
        assertArrayEquals(new long[] {6, 7, 8, 9}, r.pair().prompt(), "keep_end keeps the last P (BOS dropped, as TRL)");
        assertArrayEquals(new long[] {20, 21, 22, 23, 24, 25, 1001}, r.pair().chosen(), "4 + 7 <= 12: answers intact");
        assertTrue(r.truncated());
        RowTokenizer.Result s = words(keepEnd.toBuilder().truncationMode(TruncationMode.KEEP_START).build())
                .tokenize(seq(0, 10), seq(20, 26), seq(30, 33), 1);
        assertArrayEquals(new long[] {1000, 0, 1, 2}, s.pair().prompt());
    }

    @Test
    void answersAreCutToMaxLengthMinusMaxPromptLengthUsingTheLongerAnswer() {
        // L = 8, P = 4: prompt 4 + longest 7 > 8 -> both answers cut to their first L - P = 4 tokens
        DataOptions o = DataOptions.builder().maxLength(8).maxPromptLength(4).build();
        TokenizedPair p = words(o).tokenize(seq(0, 3), seq(20, 26), seq(30, 33), 1).pair();
        assertArrayEquals(new long[] {1000, 0, 1, 2}, p.prompt(), "prompt fits P: untouched");
        assertArrayEquals(new long[] {20, 21, 22, 23}, p.chosen());
        assertArrayEquals(new long[] {30, 31, 32, 1001}, p.rejected(), "already <= L - P: kept with its EOS");
        // a short row stays whole: prompt 4 + longest 3 <= 8 (judging by the shorter answer would be the same here,
        // by the sum of both answers it would not)
        RowTokenizer.Result whole = words(o).tokenize(seq(0, 3), seq(20, 22), seq(30, 32), 1);
        assertFalse(whole.truncated());
        assertEquals(3, whole.pair().chosen().length);
    }

    @Test
    void maxCompletionLengthCapsEachAnswerBeforeTheLengthRules() {
        DataOptions o = DataOptions.builder().maxCompletionLength(3).build();
        TokenizedPair p = words(o).tokenize(seq(0, 2), seq(20, 26), seq(30, 32), 1).pair();
        assertArrayEquals(new long[] {20, 21, 22}, p.chosen(), "EOS cut with the rest");
        assertArrayEquals(new long[] {30, 31, 1001}, p.rejected());
    }

    @Test
    void anAnswerEmptiedByTruncationIsReported() {
        DataOptions o = DataOptions.builder().maxLength(4).maxPromptLength(4).build();
        BadRowException e = assertThrows(BadRowException.class,
                () -> words(o).tokenize(seq(0, 6), seq(20, 22), seq(30, 32), 1));
        assertEquals("chosen", e.field());
        assertTrue(e.problem().startsWith("no completion token left after truncation"), e.problem());
    }

    private static long[] concat(long[] a, long last) {
        long[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = last;
        return out;
    }
}
