package org.orpo4j.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.PushbackReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Streams the records of a JSONL file (one object per line; blank lines ignored) or a JSON-array file (detected
 * by a leading {@code [}), one at a time with its 1-based line, so that memory does not grow with the file.
 */
final class RecordReader implements Closeable {

    /** One record: its JSON, or why its line is not JSON. */
    record Raw(int line, JsonNode json, String malformed) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final BufferedReader lines; // JSONL
    private final JsonParser array; // JSON array
    private int lineNumber;

    private RecordReader(Path file, BufferedReader lines, JsonParser array) {
        this.file = file;
        this.lines = lines;
        this.array = array;
    }

    static RecordReader open(Path file) throws IOException {
        PushbackReader in = new PushbackReader(Files.newBufferedReader(file, StandardCharsets.UTF_8), 1);
        int c;
        do {
            c = in.read();
        } while (c == '\uFEFF' || (c >= 0 && Character.isWhitespace(c)));
        if (c >= 0) {
            in.unread(c);
        }
        if (c != '[') {
            // reopen so that line numbers count from the file's first line
            in.close();
            return new RecordReader(file, Files.newBufferedReader(file, StandardCharsets.UTF_8), null);
        }
        Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
        JsonParser parser = JSON.getFactory().createParser(reader);
        in.close();
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

    /** The next record, or null at the end. A malformed JSON array stops the load (it cannot be resynced). */
    Raw next() throws IOException {
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
        } while (line.isBlank());
        if (lineNumber == 1 && line.charAt(0) == '\uFEFF') {
            line = line.substring(1);
        }
        try {
            return new Raw(lineNumber, JSON.readTree(line), null);
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
            return new Raw(line, JSON.readTree(array), null);
        } catch (JsonProcessingException e) {
            throw new BadDataException(file, e.getLocation() == null ? 0 : e.getLocation().getLineNr(), "json",
                    "malformed JSON array: " + e.getOriginalMessage());
        }
    }

    @Override
    public void close() throws IOException {
        if (lines != null) {
            lines.close();
        } else {
            array.close();
        }
    }
}
