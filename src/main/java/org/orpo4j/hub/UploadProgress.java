package org.orpo4j.hub;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs an upload's bytes sent and rate every few seconds, and once at the end. */
final class UploadProgress {

    private static final Logger LOG = LoggerFactory.getLogger(UploadProgress.class);

    private final String what;
    private final long total;
    private final long everyNanos;
    private final long start = System.nanoTime();
    private long last = start;
    private long sent;

    UploadProgress(String what, long total, long everyNanos) {
        this.what = what;
        this.total = total;
        this.everyNanos = everyNanos;
    }

    synchronized void add(long bytes) {
        sent += bytes;
        long now = System.nanoTime();
        if (now - last >= everyNanos) {
            last = now;
            log(now);
        }
    }

    synchronized void done() {
        log(System.nanoTime());
    }

    long sent() {
        return sent;
    }

    private void log(long now) {
        double secs = Math.max(1e-9, (now - start) / 1e9);
        LOG.info("{}: {} of {} MB sent ({} MB/s)", what, fmt(sent / 1048576.0), fmt(total / 1048576.0),
                fmt(sent / secs / 1048576.0));
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
