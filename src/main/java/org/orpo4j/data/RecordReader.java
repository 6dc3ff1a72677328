package org.orpo4j.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedInputStream;
import java.io.Closeable;
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

    private final LineReader lines; // JSONL
    private final JsonParser array; // JSON array
    private ParquetRows parquet; // parquet
    private int lineNumber;

    private RecordReader(Path file, LineReader lines, JsonParser array) {
        this.file = file;
        this.lines = lines;
        this.array = array;
    }

    static RecordReader open(Path file) throws IOException {
        if (file.getFileName().toString().endsWith(".parquet")) {
            RecordReader reader = new RecordReader(file, null, null);
            reader.parquet = ParquetRows.open(file);
            return reader;
        }
        if (!startsWithBracket(file)) {
            return new RecordReader(file, new LineReader(Files.newInputStream(file), MAX_LINE_BYTES), null);
        }
        // bytes, not a Reader: Jackson's UTF-8 parser reports a bad byte at its line
        JsonParser parser = Json.untrusted().getFactory().createParser(Files.newInputStream(file));
        try {
            if (parser.nextToken() != JsonToken.START_ARRAY) {
                throw new BadDataException(file, 1, "json", "expected a JSON array");
            }
        } catch (JsonProcessingException e) {
            parser.close();
            throw new BadDataException(file, e.getLocation().getLineNr(), "json", e.getOriginalMessage());
        }
        return new RecordReader(file, null, parser);
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
            return new Raw(line, Json.untrusted().readTree(array), null);
        } catch (JsonProcessingException e) {
            throw new BadDataException(file, e.getLocation() == null ? 0 : e.getLocation().getLineNr(), "json",
                    "malformed JSON array: " + e.getOriginalMessage());
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
