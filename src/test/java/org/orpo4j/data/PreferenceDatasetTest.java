package org.orpo4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreferenceDatasetTest {

    @TempDir
    Path dir;

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    /** TRL's maybe_extract_prompt: a string prompt beside conversational answers yields to their shared messages. */
    @Test
    void aStringPromptBesideConversationsIsTheSharedMessages() throws IOException {
        HfTokenizer qwen = TestTokenizers.qwen3();
        String user = "{\"role\": \"user\", \"content\": \"What is 2+2?\"}";
        String answers = "\"chosen\": [" + user + ", {\"role\": \"assistant\", \"content\": \"4\"}], \"rejected\": ["
                + user + ", {\"role\": \"assistant\", \"content\": \"5\"}]";
        DataOptions o = DataOptions.defaults();
        PreferenceBatch implicit = all(PreferenceDataset.load(write("implicit.jsonl", "{" + answers + "}\n"), qwen, o));
        PreferenceBatch h4 = all(PreferenceDataset.load(write("h4.jsonl", "{\"prompt\": \"What is 2+2?\", " + answers
                + ", \"score_chosen\": 9.0}\n"), qwen, o));
        assertArrayEquals(implicit.inputIds(), h4.inputIds());
        assertArrayEquals(implicit.labels(), h4.labels());
    }

    @Test
    void theThreeShapesLoadToIdenticalBatches() throws IOException {
        HfTokenizer qwen = TestTokenizers.qwen3();
        String sys = "{\"role\": \"system\", \"content\": \"Be brief.\"}";
        String[][] qa = {{"What is 2+2?", "4", "5"}, {"Capital of Italy?", "Rome, of course.", "Paris"}};
        StringBuilder conversational = new StringBuilder();
        StringBuilder implicit = new StringBuilder("[\n");
        StringBuilder standard = new StringBuilder();
        for (int i = 0; i < qa.length; i++) {
            String user = "{\"role\": \"user\", \"content\": \"" + qa[i][0] + "\"}";
            String good = "{\"role\": \"assistant\", \"content\": \"" + qa[i][1] + "\"}";
            String bad = "{\"role\": \"assistant\", \"content\": \"" + qa[i][2] + "\"}";
            conversational.append("{\"prompt\": [" + sys + ", " + user + "], \"chosen\": [" + good + "], \"rejected\": ["
                    + bad + "]}\n");
            implicit.append(i > 0 ? ",\n" : "").append("{\"chosen\": [" + sys + ", " + user + ", " + good
                    + "], \"rejected\": [" + sys + ", " + user + ", " + bad + "]}");
            // what Qwen3's template renders, written out by hand: the answered turn gets an empty think block
            String prompt = "<|im_start|>system\\nBe brief.<|im_end|>\\n<|im_start|>user\\n" + qa[i][0]
                    + "<|im_end|>\\n<|im_start|>assistant\\n";
            standard.append("{\"prompt\": \"" + prompt + "\", \"chosen\": \"<think>\\n\\n</think>\\n\\n" + qa[i][1]
                    + "<|im_end|>\\n\", \"rejected\": \"<think>\\n\\n</think>\\n\\n" + qa[i][2] + "<|im_end|>\\n\"}\n");
        }
        implicit.append("\n]\n");
        DataOptions o = DataOptions.defaults();
        PreferenceBatch a = all(PreferenceDataset.load(write("conv.jsonl", conversational.toString()), qwen, o));
        PreferenceBatch b = all(PreferenceDataset.load(write("implicit.json", implicit.toString()), qwen, o));
        PreferenceBatch c = all(PreferenceDataset.load(write("standard.jsonl", standard.toString()), qwen, o));
        assertArrayEquals(c.inputIds(), a.inputIds());
        assertArrayEquals(c.inputIds(), b.inputIds());
        assertArrayEquals(c.labels(), a.labels());
        assertArrayEquals(c.labels(), b.labels());
        assertArrayEquals(c.attentionMask(), b.attentionMask());
        PreferenceDataset conv = PreferenceDataset.load(dir.resolve("conv.jsonl"), qwen, o);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n", qwen.decode(conv.row(0).prompt()));
        assertEquals("<think>\n\n</think>\n\n4<|im_end|>\n<|im_end|>", qwen.decode(conv.row(0).chosen()),
                "EOS appended after the template's trailing newline, as TRL does");
        assertEquals(2, conv.row(1).sourceLine());
    }

    private static PreferenceBatch all(PreferenceDataset d) {
        return d.collate(IntStream.range(0, d.size()).toArray());
    }

    @Test
    void configurableFieldNames() throws IOException {
        Path f = write("f.jsonl", "{\"question\": \"Dogs ?\", \"good\": \"Great question !\", \"bad\": \"No .\"}\n");
        DataOptions o = DataOptions.builder().promptField("question").chosenField("good").rejectedField("bad").build();
        PreferenceDataset d = PreferenceDataset.load(f, TestTokenizers.demo(), o);
        HfTokenizer demo = TestTokenizers.demo();
        assertArrayEquals(demo.encode("Dogs ?"), d.row(0).prompt());
        assertEquals(1, d.size());
    }

    /** Each bad-data case fails with file:line: field: what. */
    @Test
    void badDataFailsNamingFileLineAndField() throws IOException {
        String good = "{\"prompt\": \"Dogs ?\", \"chosen\": \"Great question !\", \"rejected\": \"No .\"}";
        Object[][] cases = {
            {"{\"prompt\": \"Dogs ?\", \"chosen\": ", "json", "malformed JSON line"},
            {"{\"prompt\": \"Dogs ?\", \"rejected\": \"No .\"}", "chosen", "missing"},
            {"{\"prompt\": 3, \"chosen\": \"a\", \"rejected\": \"b\"}", "prompt", "expected a string, got a number"},
            {"{\"prompt\": \"Dogs ?\", \"chosen\": \"Yes\", \"rejected\": [\"No\"]}", "rejected", "expected a string, got a list"},
            {"{\"prompt\": \"Dogs ?\", \"chosen\": \"Great\", \"rejected\": \"\"}", "rejected", "empty answer"},
            {"{\"prompt\": \"Dogs ?\", \"chosen\": \"Same .\", \"rejected\": \"Same .\"}", "rejected", "identical to chosen"},
            {"{\"prompt\": [{\"role\": \"user\", \"content\": \"Dogs ?\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": 5}], "
                    + "\"rejected\": [{\"role\": \"assistant\", \"content\": \"No\"}]}", "chosen[0].content", "expected a string, got a number"},
            {"{\"prompt\": [{\"role\": \"user\", \"content\": \"Dogs ?\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"\"}], "
                    + "\"rejected\": [{\"role\": \"assistant\", \"content\": \"No\"}]}", "chosen", "empty answer"},
            {"{\"chosen\": [{\"role\": \"user\", \"content\": \"A\"}, {\"role\": \"assistant\", \"content\": \"B\"}], "
                    + "\"rejected\": [{\"role\": \"user\", \"content\": \"A\"}, {\"role\": \"assistant\", \"content\": \"B\"}]}",
                    "rejected", "identical to chosen"},
        };
        for (Object[] c : cases) {
            Path f = write("bad.jsonl", good + "\n\n" + c[0] + "\n" + good + "\n");
            BadDataException e = assertThrows(BadDataException.class,
                    () -> PreferenceDataset.load(f, TestTokenizers.demo(), DataOptions.defaults()), (String) c[0]);
            assertTrue(e.getMessage().startsWith(f + ":3: " + c[1] + ": " + c[2]), e.getMessage());
            assertEquals(3, e.line());
            assertEquals(c[1], e.field());
        }
    }

    @Test
    void jsonArrayRowsCarryTheirLineAndABrokenArrayFails() throws IOException {
        Path f = write("a.json", "[\n {\"prompt\": \"Dogs ?\", \"chosen\": \"Yes\", \"rejected\": \"No\"},\n"
                + " {\"prompt\": \"Dogs ?\", \"chosen\": \"Yes\"}\n]");
        BadDataException e = assertThrows(BadDataException.class,
                () -> PreferenceDataset.load(f, TestTokenizers.demo(), DataOptions.defaults()));
        assertEquals(f + ":3: rejected: missing", e.getMessage());
        Path broken = write("b.json", "[\n {\"prompt\": \"Dogs ?\", \"chosen\": \"Yes\", \"rejected\": \"No\"},\n {\"prompt\" \"x\"}\n]");
        BadDataException e2 = assertThrows(BadDataException.class,
                () -> PreferenceDataset.load(broken, TestTokenizers.demo(), DataOptions.builder().badData(BadDataPolicy.SKIP).build()));
        assertTrue(e2.getMessage().startsWith(broken + ":3: json: malformed JSON array"), e2.getMessage());
    }

    /** A JSON array's element is read only up to a size bound (1 MiB here, 64 MiB by default), as a JSONL line is. */
    @Test
    void anOversizedJsonArrayElementStopsTheLoadNamingItsLine() throws IOException {
        String piece = "\"" + "x".repeat(100_000) + "\"";
        String huge = "{\"prompt\": [" + String.join(", ", java.util.Collections.nCopies(30, piece)) + "]}";
        Path f = write("huge.json", "[\n {\"prompt\": \"Dogs ?\", \"chosen\": \"Yes\", \"rejected\": \"No\"},\n "
                + huge + "\n]");
        long saved = RecordReader.maxRecordBytes;
        RecordReader.maxRecordBytes = 1 << 20;
        try {
            BadDataException e = assertThrows(BadDataException.class, () -> PreferenceDataset.load(f,
                    TestTokenizers.demo(), DataOptions.builder().badData(BadDataPolicy.SKIP).build()));
            assertEquals(f + ":3: json: an element of the JSON array is longer than 1 MiB", e.getMessage());
        } finally {
            RecordReader.maxRecordBytes = saved;
        }
    }

    @Test
    void templateRaiseExceptionIsBadDataNotText(@TempDir Path tok) throws IOException {
        Files.copy(TestTokenizers.dir("/org/orpo4j/demo").resolve("tokenizer.json"), tok.resolve("tokenizer.json"));
        Files.writeString(tok.resolve("tokenizer_config.json"), "{\"eos_token\": \"<|im_end|>\"}");
        Files.copy(TestTokenizers.dir("/golden/data/templates").resolve("gemma.jinja"), tok.resolve("chat_template.jinja"));
        Path f = write("sys.jsonl", "{\"prompt\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"U\"}], "
                + "\"chosen\": [{\"role\": \"assistant\", \"content\": \"A\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"B\"}]}\n");
        try (HfTokenizer t = HfTokenizer.load(tok)) {
            BadDataException e = assertThrows(BadDataException.class, () -> PreferenceDataset.load(f, t, DataOptions.defaults()));
            assertEquals(f + ":1: prompt: chat template: System role not supported", e.getMessage());
        }
    }

    @Test
    void skipPolicyCountsEachReason() throws IOException {
        String good = "{\"prompt\": \"Dogs ?\", \"chosen\": \"Great question !\", \"rejected\": \"No .\"}\n";
        String longPrompt = "{\"prompt\": \"" + "Dogs ".repeat(30) + "\", \"chosen\": \"Great\", \"rejected\": \"No\"}\n";
        Path f = write("mixed.jsonl", good + "{oops\n" + good + "{\"prompt\": \"a\", \"chosen\": \"b\"}\n"
                + "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"b\"}\n{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"b\"}\n"
                + longPrompt);
        DataOptions o = DataOptions.builder().badData(BadDataPolicy.SKIP).maxLength(12).maxPromptLength(12).build();
        PreferenceDataset d = PreferenceDataset.load(f, TestTokenizers.demo(), o);
        assertEquals(2, d.size());
        assertEquals(List.of(1, 3), List.of(d.row(0).sourceLine(), d.row(1).sourceLine()));
        LoadReport r = d.report();
        assertEquals(Map.of("json: malformed JSON line", 1, "rejected: missing", 1, "rejected: identical to chosen", 2,
                "chosen: no completion token left after truncation", 1), r.skipped());
        assertEquals(5, r.skippedCount());
        assertEquals(List.of(new LoadReport.SkippedRow(2, "json", r.skippedRows().get(0).problem()),
                new LoadReport.SkippedRow(4, "rejected", "missing"),
                new LoadReport.SkippedRow(5, "rejected", "identical to chosen"),
                new LoadReport.SkippedRow(6, "rejected", "identical to chosen"),
                new LoadReport.SkippedRow(7, "chosen", r.skippedRows().get(4).problem())), r.skippedRows());
        // tokens: each good row is prompt 2 + chosen 3 + EOS, prompt 2 + rejected 2 + EOS
        assertEquals(2 * (2 + 4 + 2 + 3), r.tokens());
        assertEquals(2, r.rows());
    }

    /**
     * A progress line at least every interval while loading: a clock that advances 1 s per reading and a 5 s
     * interval give a line every 5 chunks of 64 rows, each with the rows read so far and the rate.
     */
    @Test
    void loadingReportsProgressEveryInterval() throws IOException {
        String row = "{\"prompt\": \"Dogs ?\", \"chosen\": \"Great question !\", \"rejected\": \"No .\"}\n";
        Path f = write("many.jsonl", row.repeat(3000) + "{oops\n");
        long[] clock = {0};
        List<String> lines = new ArrayList<>();
        DataOptions o = DataOptions.builder().badData(BadDataPolicy.SKIP).threads(1).build();
        PreferenceDataset d = PreferenceDataset.load(f, TestTokenizers.demo(), o, 5_000_000_000L,
                () -> clock[0] += 1_000_000_000L, lines::add);
        assertEquals(3000, d.size());
        // 47 chunks (46 of 64 rows and one of 57): the clock reads 1 s at the start, then 2 s, 3 s, ... per chunk
        assertEquals(9, lines.size(), lines.toString());
        assertEquals(f + ": 320 rows read (64 rows/s), 0 skipped so far", lines.get(0));
        assertEquals(f + ": 2880 rows read (64 rows/s), 0 skipped so far", lines.get(8));
    }

    @Test
    void truncatedRowsAreCounted() throws IOException {
        Path f = write("t.jsonl", "{\"prompt\": \"" + "Dogs ".repeat(10) + "\", \"chosen\": \"Great question !\", \"rejected\": \"No .\"}\n"
                + "{\"prompt\": \"Dogs ?\", \"chosen\": \"Great question !\", \"rejected\": \"No .\"}\n");
        PreferenceDataset d = PreferenceDataset.load(f, TestTokenizers.demo(), DataOptions.builder().maxLength(8).maxPromptLength(4).build());
        assertEquals(1, d.report().truncated());
        assertEquals(4, d.row(0).prompt().length);
    }

    @Test
    void parallelLoadingKeepsFileOrderAndResults() throws IOException {
        // conversational rows: the shared parsed Qwen3 template renders on both threads at once
        StringBuilder b = new StringBuilder();
        String[] words = {"Dogs", "Cats", "Bees", "Frogs", "Coffee", "Chess"};
        for (int i = 0; i < 300; i++) {
            b.append("{\"prompt\": [{\"role\": \"user\", \"content\": \"" + words[i % 6] + " ?".repeat(1 + i % 5)
                    + "\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"Great question " + words[(i + 1) % 6]
                    + " !\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"No " + words[(i + 2) % 6] + ".\"}]}\n");
        }
        Path f = write("many.jsonl", b.toString());
        PreferenceDataset one = PreferenceDataset.load(f, TestTokenizers.qwen3(), DataOptions.builder().threads(1).build());
        PreferenceDataset two = PreferenceDataset.load(f, TestTokenizers.qwen3(), DataOptions.builder().threads(2).build());
        assertEquals(300, two.size());
        List<Integer> lines = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            assertArrayEquals(one.row(i).prompt(), two.row(i).prompt());
            assertArrayEquals(one.row(i).chosen(), two.row(i).chosen());
            assertArrayEquals(one.row(i).rejected(), two.row(i).rejected());
            lines.add(two.row(i).sourceLine());
        }
        assertEquals(IntStream.rangeClosed(1, 300).boxed().toList(), lines);
    }
}
