package org.orpo4j.data;

/** A row that cannot be used, with the field at fault; the loader adds file and line. */
public final class BadRowException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String field;
    private final String problem;

    public BadRowException(String field, String problem) {
        super(field + ": " + problem);
        this.field = field;
        this.problem = problem;
    }

    public String field() {
        return field;
    }

    public String problem() {
        return problem;
    }
}
