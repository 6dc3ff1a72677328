package org.orpo4j.data.template;

/** A chat template refused to render: its own raise_exception, or an error in the template. */
public final class TemplateException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final boolean raisedByTemplate;

    public TemplateException(String message, boolean raisedByTemplate) {
        super(message);
        this.raisedByTemplate = raisedByTemplate;
    }

    /** True when the template called raise_exception (the message is the template's own). */
    public boolean raisedByTemplate() {
        return raisedByTemplate;
    }
}
