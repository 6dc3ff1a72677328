package org.orpo4j.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tokenized preference pairs of one file, ready to batch. Loading streams the file and tokenizes rows on
 * {@link DataOptions#threads()} threads through a bounded pipeline (a few chunks in flight), so memory holds
 * only the token ids (stored as int) and never the whole text. Rows keep file order.
 */
public final class PreferenceDataset {

    private static final Logger LOG = LoggerFactory.getLogger(PreferenceDataset.class);
    private static final int CHUNK = 64;
    private static final int CHUNKS_IN_FLIGHT_PER_THREAD = 4;
    /** A progress line every 5 s while loading: large files are never minutes of silence. */
    static final long PROGRESS_EVERY_NANOS = 5_000_000_000L;
    /** Skipped rows logged one by one; the rest are counted (all are in the report). */
    static final int SKIPS_LOGGED = 5;

    private final List<Stored> rows;
    private final long padId;
    private final LoadReport report;
    private String fingerprint;

    private PreferenceDataset(List<Stored> rows, long padId, LoadReport report) {
        this.rows = rows;
        this.padId = padId;
        this.report = report;
    }

    /** A dataset of already tokenized pairs (padding with {@code padId}). */
    public static PreferenceDataset of(List<TokenizedPair> pairs, long padId) {
        List<Stored> stored = new ArrayList<>(pairs.size());
        long tokens = 0;
        for (TokenizedPair p : pairs) {
            stored.add(Stored.of(p));
            tokens += p.chosenLength() + p.rejectedLength();
        }
        return new PreferenceDataset(stored, padId, new LoadReport(stored.size(), Map.of(), List.of(), tokens, 0));
    }

    /**
     * The rows of {@code parts} one after another (the shards of one split), their load reports added up; all must
     * pad with the same id.
     */
    public static PreferenceDataset concat(List<PreferenceDataset> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to concatenate");
        }
        List<Stored> rows = new ArrayList<>();
        Map<String, Integer> skipped = new java.util.TreeMap<>();
        List<LoadReport.SkippedRow> skippedRows = new ArrayList<>();
        long tokens = 0;
        int truncated = 0;
        long padId = parts.get(0).padId;
        for (PreferenceDataset part : parts) {
            if (part.padId != padId) {
                throw new IllegalArgumentException("datasets pad with different ids: " + padId + ", " + part.padId);
            }
            rows.addAll(part.rows);
            part.report.skipped().forEach((reason, n) -> skipped.merge(reason, n, Integer::sum));
            skippedRows.addAll(part.report.skippedRows());
            tokens += part.report.tokens();
            truncated += part.report.truncated();
        }
        return new PreferenceDataset(rows, padId, new LoadReport(rows.size(), skipped, skippedRows, tokens,
                truncated));
    }

    /**
     * Loads a JSONL, JSON-array or parquet preference file with {@code tokenizer}'s rules and chat template.
     *
     * @throws BadDataException on the first bad row under {@link BadDataPolicy#FAIL} ({@code file:line: field: ...})
     */
    public static PreferenceDataset load(Path file, HfTokenizer tokenizer, DataOptions options) throws IOException {
        return load(file, tokenizer, options, PROGRESS_EVERY_NANOS, System::nanoTime, LOG::info);
    }

    /** As {@link #load(Path, HfTokenizer, DataOptions)}, with a progress line to {@code progress} every {@code progressNanos}. */
    static PreferenceDataset load(Path file, HfTokenizer tokenizer, DataOptions options, long progressNanos,
            LongSupplier clock, Consumer<String> progress) throws IOException {
        long padId = tokenizer.padId().orElseThrow(() -> new IllegalArgumentException(tokenizer.directory()
                + ": the tokenizer has neither a pad nor an EOS token to pad with"));
        RowParser parser = new RowParser(options, tokenizer.chatTemplate().orElse(null));
        RowTokenizer rowTokenizer = new RowTokenizer(tokenizer, options);
        long start = System.nanoTime();
        PreferenceDataset dataset = new Loader(file, options, parser, rowTokenizer, padId, progressNanos, clock, progress)
                .run();
        LOG.info("{}: {} in {} ms", file, dataset.report, (System.nanoTime() - start) / 1_000_000);
        return dataset;
    }

    /** Number of pairs. */
    public int size() {
        return rows.size();
    }

    /** Pair {@code i} in file order. */
    public TokenizedPair row(int i) {
        return rows.get(i).toPair();
    }

    /** The padded length pair {@code i} needs: max of its chosen and rejected sequence lengths. */
    public int length(int i) {
        return rows.get(i).length();
    }

    /** The id right-padding uses (the tokenizer's pad token, else EOS). */
    public long padId() {
        return padId;
    }

    /** Rows, skipped rows per reason, tokens and truncated rows of the load. */
    public LoadReport report() {
        return report;
    }

    /**
     * The batches of row indices for {@code epoch}: file order, or shuffled from (seed, epoch); optionally
     * length-grouped. Deterministic, so that a resumed run re-derives the same order.
     */
    public List<int[]> batches(int batchSize, int epoch, long seed, boolean shuffle, boolean groupByLength) {
        return new BatchSampler(batchSize, shuffle, groupByLength).batches(this::length, size(), epoch, seed);
    }

    /**
     * A SHA-256 of every row's token ids (prompt, chosen, rejected, prompt tails) in file order, 32 hex digits: a
     * resumed run checks it so that a different data file with the same number of rows is not taken for the same.
     */
    public synchronized String fingerprint() {
        if (fingerprint == null) {
            MessageDigest sha;
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            ByteBuffer buf = ByteBuffer.allocate(4);
            for (Stored r : rows) {
                for (int[] ids : new int[][] {r.prompt(), r.chosen(), r.rejected(), {r.chosenTail(), r.rejectedTail()}}) {
                    sha.update(buf.clear().putInt(ids.length).array());
                    for (int id : ids) {
                        sha.update(buf.clear().putInt(id).array());
                    }
                }
            }
            fingerprint = HexFormat.of().formatHex(sha.digest(), 0, 16);
        }
        return fingerprint;
    }

    /** The [2B, T] batch of these rows: chosen rows then rejected rows, right-padded to the longest. */
    public PreferenceBatch collate(int[] rowIndices) {
        List<TokenizedPair> pairs = new ArrayList<>(rowIndices.length);
        for (int i : rowIndices) {
            pairs.add(row(i));
        }
        return PreferenceBatch.collate(pairs, rowIndices, padId);
    }

    /** A pair stored compactly (int ids: every HF vocabulary fits). */
    private record Stored(int[] prompt, int[] chosen, int[] rejected, int line, byte chosenTail, byte rejectedTail) {
        static Stored of(TokenizedPair p) {
            return new Stored(narrow(p.prompt()), narrow(p.chosen()), narrow(p.rejected()), p.sourceLine(),
                    (byte) p.chosenPromptTail(), (byte) p.rejectedPromptTail());
        }

        TokenizedPair toPair() {
            return new TokenizedPair(widen(prompt), widen(chosen), widen(rejected), line, chosenTail, rejectedTail);
        }

        int length() {
            return prompt.length + Math.max(chosen.length, rejected.length);
        }

        private static int[] narrow(long[] ids) {
            int[] out = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("token id out of range: " + ids[i]);
                }
                out[i] = (int) ids[i];
            }
            return out;
        }

        private static long[] widen(int[] ids) {
            long[] out = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                out[i] = ids[i];
            }
            return out;
        }
    }

    /** The outcome of one record: a pair, or a bad row. */
    private record Outcome(Stored pair, boolean truncated, int line, BadRowException bad) {}

    /** Streams records, tokenizes chunks in parallel, applies outcomes in file order. */
    private static final class Loader {
        private final Path file;
        private final DataOptions options;
        private final RowParser parser;
        private final RowTokenizer tokenizer;
        private final long padId;
        private final List<Stored> rows = new ArrayList<>();
        private final Map<String, Integer> skipped = new LinkedHashMap<>();
        private final List<LoadReport.SkippedRow> skippedRows = new ArrayList<>();
        private final long progressNanos;
        private final LongSupplier clock;
        private final Consumer<String> progress;
        private final long startNanos;
        private long lastProgressNanos;
        private long tokens;
        private int truncated;

        Loader(Path file, DataOptions options, RowParser parser, RowTokenizer tokenizer, long padId,
                long progressNanos, LongSupplier clock, Consumer<String> progress) {
            this.file = file;
            this.options = options;
            this.parser = parser;
            this.tokenizer = tokenizer;
            this.padId = padId;
            this.progressNanos = progressNanos;
            this.clock = clock;
            this.progress = progress;
            this.startNanos = clock.getAsLong();
            this.lastProgressNanos = startNanos;
        }

        PreferenceDataset run() throws IOException {
            ExecutorService pool = options.threads() > 1 ? Executors.newFixedThreadPool(options.threads(),
                    new DaemonThreads()) : null;
            Deque<Future<List<Outcome>>> inFlight = new ArrayDeque<>();
            int maxInFlight = options.threads() * CHUNKS_IN_FLIGHT_PER_THREAD;
            try (RecordReader reader = RecordReader.open(file)) {
                List<RecordReader.Raw> chunk = new ArrayList<>(CHUNK);
                RecordReader.Raw raw;
                while ((raw = reader.next()) != null) {
                    chunk.add(raw);
                    if (chunk.size() == CHUNK) {
                        submit(pool, inFlight, chunk, maxInFlight);
                        chunk = new ArrayList<>(CHUNK);
                    }
                }
                if (!chunk.isEmpty()) {
                    submit(pool, inFlight, chunk, maxInFlight);
                }
                while (!inFlight.isEmpty()) {
                    apply(take(inFlight.removeFirst()));
                }
            } finally {
                if (pool != null) {
                    pool.shutdownNow();
                }
            }
            if (skippedRows.size() > SKIPS_LOGGED) {
                LOG.warn("{}: {} more rows skipped (every skipped row is in the load report)", file,
                        skippedRows.size() - SKIPS_LOGGED);
            }
            return new PreferenceDataset(List.copyOf(rows), padId,
                    new LoadReport(rows.size(), skipped, skippedRows, tokens, truncated));
        }

        private void submit(ExecutorService pool, Deque<Future<List<Outcome>>> inFlight,
                List<RecordReader.Raw> chunk, int maxInFlight) throws IOException {
            if (pool == null) {
                apply(process(chunk));
                return;
            }
            inFlight.addLast(pool.submit(() -> process(chunk)));
            while (inFlight.size() >= maxInFlight) {
                apply(take(inFlight.removeFirst()));
            }
        }

        private List<Outcome> process(List<RecordReader.Raw> chunk) {
            List<Outcome> out = new ArrayList<>(chunk.size());
            for (RecordReader.Raw raw : chunk) {
                try {
                    if (raw.malformed() != null) {
                        throw new BadRowException("json", raw.malformed());
                    }
                    RowParser.Texts t = parser.parse(raw.json());
                    RowTokenizer.Result r = tokenizer.tokenize(t.prompt(), t.chosen(), t.rejected(), raw.line());
                    out.add(new Outcome(Stored.of(r.pair()), r.truncated(), raw.line(), null));
                } catch (BadRowException e) {
                    out.add(new Outcome(null, false, raw.line(), e));
                }
            }
            return out;
        }

        private static List<Outcome> take(Future<List<Outcome>> f) throws IOException {
            try {
                return f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while tokenizing", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new IOException(e.getCause());
            }
        }

        private void apply(List<Outcome> outcomes) {
            for (Outcome o : outcomes) {
                if (o.bad() != null) {
                    if (options.badData() == BadDataPolicy.FAIL) {
                        throw new BadDataException(file, o.line(), o.bad().field(), o.bad().problem());
                    }
                    skipped.merge(reason(o.bad()), 1, Integer::sum);
                    skippedRows.add(new LoadReport.SkippedRow(o.line(), o.bad().field(), o.bad().problem()));
                    if (skippedRows.size() <= SKIPS_LOGGED) {
                        LOG.warn("{}:{}: {}: {} (row skipped)", file, o.line(), o.bad().field(), o.bad().problem());
                    }
                    continue;
                }
                rows.add(o.pair());
                tokens += o.pair().prompt().length * 2L + o.pair().chosen().length + o.pair().rejected().length;
                if (o.truncated()) {
                    truncated++;
                }
            }
            long now = clock.getAsLong();
            if (now - lastProgressNanos >= progressNanos) {
                lastProgressNanos = now;
                int read = rows.size() + skippedRows.size();
                progress.accept(String.format(Locale.ROOT, "%s: %d rows read (%.0f rows/s), %d skipped so far",
                        file, read, read / Math.max(1e-9, (now - startNanos) / 1e9), skippedRows.size()));
            }
        }

        /** A skip reason without the row-specific details (counts group by it). */
        private static String reason(BadRowException e) {
            String problem = e.problem();
            int cut = problem.length();
            for (String stop : new String[] {" (", ": "}) {
                int at = problem.indexOf(stop);
                if (at >= 0) {
                    cut = Math.min(cut, at);
                }
            }
            return e.field().replaceAll("\\[\\d+]", "[]") + ": " + problem.substring(0, cut);
        }
    }

    private static final class DaemonThreads implements java.util.concurrent.ThreadFactory {
        private final AtomicInteger count = new AtomicInteger();

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(r, "orpo4j-tokenize-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        }
    }
}
