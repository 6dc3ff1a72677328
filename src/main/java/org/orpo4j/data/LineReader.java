package org.orpo4j.data;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * {@code BufferedReader.readLine} for UTF-8 files from the internet, with two guarantees: a line longer than
 * {@code maxBytes} is read through without being held (one endless line cannot exhaust the heap), and bytes that
 * are not UTF-8 are reported for the line that holds them. Lines end at {@code \n}, {@code \r\n} or {@code \r};
 * those bytes never occur inside a UTF-8 sequence, so lines are split before decoding.
 */
final class LineReader implements Closeable {

    /** A line that did not fit. */
    static final String TOO_LONG = new String("<too long>"); // compared by identity
    /** A line that is not UTF-8. */
    static final String NOT_UTF8 = new String("<not utf-8>"); // compared by identity

    private final InputStream in;
    private final int maxBytes;
    private final byte[] buffer = new byte[1 << 16];
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private int pos;
    private int end;
    private boolean skipLf; // the previous line ended with \r

    LineReader(InputStream in, int maxBytes) {
        this.in = in;
        this.maxBytes = maxBytes;
    }

    /** The next line without its terminator, {@link #TOO_LONG}, {@link #NOT_UTF8}, or null at the end. */
    String readLine() throws IOException {
        line.reset();
        boolean started = false;
        boolean tooLong = false;
        while (true) {
            if (pos == end) {
                end = in.read(buffer, 0, buffer.length);
                pos = 0;
                if (end <= 0) {
                    end = 0;
                    return started ? finish(tooLong) : null;
                }
            }
            if (skipLf) {
                skipLf = false;
                if (buffer[pos] == '\n') {
                    pos++;
                    continue;
                }
            }
            started = true;
            int start = pos;
            while (pos < end && buffer[pos] != '\n' && buffer[pos] != '\r') {
                pos++;
            }
            if (!tooLong) {
                if (line.size() + (pos - start) > maxBytes) {
                    tooLong = true;
                    line.reset();
                } else {
                    line.write(buffer, start, pos - start);
                }
            }
            if (pos < end) { // a terminator
                skipLf = buffer[pos] == '\r';
                pos++;
                return finish(tooLong);
            }
        }
    }

    private String finish(boolean tooLong) {
        if (tooLong) {
            return TOO_LONG;
        }
        try {
            return utf8.decode(ByteBuffer.wrap(line.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            return NOT_UTF8;
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
