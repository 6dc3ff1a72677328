package org.orpo4j.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.orpo4j.runtime.Json;

/**
 * Streams the records of a JSONL file (one object per line; blank lines ignored), a JSON-array file (detected
 * by a leading {@code [}) or a parquet file ({@code .parquet}, its rows numbered like lines), one at a time with
 * its 1-based line, so that memory does not grow with the file.
 */
final class RecordReader implements Closeable {

    /** One record: its JSON, or why its line is not JSON. */
    record Raw(int line, JsonNode json, String malformed) {}

    private final Path file;
    /** Longest JSONL line read, in bytes; a longer one is a bad row, read through without being held. */
    static final int MAX_LINE_BYTES = 64 << 20;
    /** Longest element of a JSON array, in bytes (give or take the parser's read-ahead); package-visible for tests. */
    static long maxRecordBytes = MAX_LINE_BYTES;

    private final LineReader lines; // JSONL
    private final JsonParser array; // JSON array
    private final CountingStream arrayBytes; // under the JSON array's parser
    private ParquetRows parquet; // parquet
    private int lineNumber;

    private RecordReader(Path file, LineReader lines, JsonParser array, CountingStream arrayBytes) {
        this.file = file;
        this.lines = lines;
        this.array = array;
        this.arrayBytes = arrayBytes;
    }

    static RecordReader open(Path file) throws IOException {
        if (file.getFileName().toString().endsWith(".parquet")) {
            RecordReader reader = new RecordReader(file, null, null, null);
            reader.parquet = ParquetRows.open(file);
            return reader;
        }
        if (!startsWithBracket(file)) {
            return new RecordReader(file, new LineReader(Files.newInputStream(file), MAX_LINE_BYTES), null, null);
        }
        // bytes, not a Reader: Jackson's UTF-8 parser reports a bad byte at its line
        CountingStream bytes = new CountingStream(Files.newInputStream(file));
        JsonParser parser = Json.untrusted().getFactory().createParser(bytes);
        try {
            if (parser.nextToken() != JsonToken.START_ARRAY) {
                throw new BadDataException(file, 1, "json", "expected a JSON array");
            }
        } catch (JsonProcessingException e) {
            parser.close();
            throw new BadDataException(file, e.getLocation().getLineNr(), "json", e.getOriginalMessage());
        }
        return new RecordReader(file, null, parser, bytes);
    }

    /** Whether the first byte after a BOM and whitespace is {@code [} (a JSON array rather than JSON lines). */
    private static boolean startsWithBracket(Path file) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            int c = in.read();
            if (c == 0xEF && in.read() == 0xBB && in.read() == 0xBF) {
                c = in.read();
            }
            while (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                c = in.read();
            }
            return c == '[';
        }
    }

    /** The next record, or null at the end. A malformed JSON array stops the load (it cannot be resynced). */
    Raw next() throws IOException {
        if (parquet != null) { // rows count as lines: errors say file:row:field
            JsonNode row = parquet.next();
            return row == null ? null : new Raw(++lineNumber, row, null);
        }
        return lines != null ? nextLine() : nextElement();
    }

    private Raw nextLine() throws IOException {
        String line;
        do {
            line = lines.readLine();
            lineNumber++;
            if (line == null) {
                return null;
            }
        } while (line != LineReader.TOO_LONG && line != LineReader.NOT_UTF8 && line.isBlank());
        if (line == LineReader.TOO_LONG) {
            return new Raw(lineNumber, null, "line longer than " + (MAX_LINE_BYTES >> 20) + " MiB");
        }
        if (line == LineReader.NOT_UTF8) {
            return new Raw(lineNumber, null, "the line is not UTF-8 text");
        }
        if (lineNumber == 1 && line.charAt(0) == '\uFEFF') {
            line = line.substring(1);
        }
        try {
            return new Raw(lineNumber, Json.untrusted().readTree(line), null);
        } catch (JsonProcessingException e) {
            return new Raw(lineNumber, null, "malformed JSON line: " + e.getOriginalMessage());
        }
    }

    private Raw nextElement() throws IOException {
        try {
            JsonToken token = array.nextToken();
            if (token == null) {
                throw new BadDataException(file, array.currentLocation().getLineNr(), "json",
                        "the JSON array is not closed");
            }
            if (token == JsonToken.END_ARRAY) {
                return null;
            }
            int line = array.currentTokenLocation().getLineNr();
            arrayBytes.startRecord();
            try {
                return new Raw(line, Json.untrusted().readTree(array), null);
            } catch (RecordTooLong e) {
                throw new BadDataException(file, line, "json", "an element of the JSON array is longer than "
                        + (maxRecordBytes >> 20) + " MiB");
            }
        } catch (JsonProcessingException e) {
            throw new BadDataException(file, e.getLocation() == null ? 0 : e.getLocation().getLineNr(), "json",
                    "malformed JSON array: " + e.getOriginalMessage());
        }
    }

    /** What a JSON array's stream says when one element runs past {@link #maxRecordBytes}. */
    private static final class RecordTooLong extends IOException {
        RecordTooLong() {
            super("record too long");
        }
    }

    /** The bytes under a JSON array's parser, counted from the start of the element being read. */
    private static final class CountingStream extends FilterInputStream {
        private static final long READ_AHEAD = 64 << 10; // Jackson buffers ahead of the element it parses
        private long sinceRecord;

        CountingStream(InputStream in) {
            super(in);
        }

        void startRecord() {
            sinceRecord = 0;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            count(b < 0 ? 0 : 1);
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            count(Math.max(n, 0));
            return n;
        }

        private void count(int n) throws RecordTooLong {
            sinceRecord += n;
            if (sinceRecord > maxRecordBytes + READ_AHEAD) {
                throw new RecordTooLong();
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (parquet != null) {
            parquet.close();
        } else if (lines != null) {
            lines.close();
        } else {
            array.close();
        }
    }
}
