package org.orpo4j.data;

import java.nio.file.Path;

/** Loading stopped at a bad row: the message is {@code file:line: field: what is wrong}. */
public final class BadDataException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final int line;
    private final String field;

    public BadDataException(Path file, int line, String field, String problem) {
        super(file + ":" + line + ": " + field + ": " + problem);
        this.file = file;
        this.line = line;
        this.field = field;
    }

    public Path file() {
        return file;
    }

    public int line() {
        return line;
    }

    public String field() {
        return field;
    }
}
