package org.orpo4j.data.template;

import java.time.Clock;
import java.time.LocalDateTime;

/** The globals transformers adds to its Jinja environment: {@code raise_exception} and {@code strftime_now}. */
public final class PyFunctions {

    private static final ThreadLocal<Clock> CLOCK = ThreadLocal.withInitial(Clock::systemDefaultZone);

    private PyFunctions() {}

    /** {@code raise_exception(message)}: aborts the render; the engine turns it into a TemplateException. */
    public static String raiseException(Object message) {
        throw new RaisedException(String.valueOf(message));
    }

    /** {@code strftime_now(format)}: the local time now, formatted like Python's strftime. */
    public static String strftimeNow(String format) {
        return Strftime.format(LocalDateTime.now(CLOCK.get()), format);
    }

    /** Runs {@code body} with {@code clock} as strftime_now's clock on this thread (tests pin the date). */
    static <T> T withClock(Clock clock, java.util.function.Supplier<T> body) {
        Clock previous = CLOCK.get();
        CLOCK.set(clock);
        try {
            return body.get();
        } finally {
            CLOCK.set(previous);
        }
    }

    /** What raise_exception throws; carries the template's own message. */
    static final class RaisedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RaisedException(String message) {
            super(message);
        }
    }
}
