package org.orpo4j.tracking;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.mlflow.api.proto.Service.Metric;
import org.mlflow.tracking.MlflowHttpException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The calls to an MLflow server, made in order on a thread of their own so that training never waits for them: a
 * call that fails for want of a server (refused, timed out, 5xx, 429) stays first in line and is retried with
 * growing pauses, everything after it waiting behind; one the server refuses (another 4xx) is dropped with a
 * warning. Metric calls waiting together go as one batch. An outage is reported once when it starts and once when
 * it ends.
 */
final class MlflowSender {

    private static final Logger LOG = LoggerFactory.getLogger(MlflowSender.class);
    /** MLflow's log-batch limit on metrics per request. */
    static final int MAX_METRICS = 1000;

    /** One request; throws when it did not go through. */
    interface Call {
        void send() throws Exception;
    }

    /**
     * A queued call: what it does (for messages) and, for metric calls, the metrics (merged with their neighbours);
     * {@code count} is the number of submitted calls it stands for.
     */
    private record Task(String what, Call call, List<Metric> metrics, int count) {}

    private final String target;
    private final Function<List<Metric>, Call> metricCall;
    private final Duration maxPause;
    private final LinkedBlockingDeque<Task> queue = new LinkedBlockingDeque<>();
    private final Thread thread;
    private volatile long lastProgress = System.nanoTime();
    private volatile boolean reached;
    private volatile boolean failedOnce;
    private final AtomicInteger outstanding = new AtomicInteger();
    private volatile boolean closing;
    private boolean down;

    /** Sends to the server at {@code target} (for messages); {@code metricCall} makes the request for a metric batch. */
    MlflowSender(String target, Function<List<Metric>, Call> metricCall, Duration maxPause) {
        this.target = target;
        this.metricCall = metricCall;
        this.maxPause = maxPause;
        this.thread = new Thread(this::loop, "orpo4j-mlflow");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    void submit(String what, Call call) {
        outstanding.incrementAndGet();
        queue.addLast(new Task(what, call, null, 1));
    }

    void metrics(List<Metric> metrics) {
        if (!metrics.isEmpty()) {
            outstanding.incrementAndGet();
            queue.addLast(new Task("log metrics", null, List.copyOf(metrics), 1));
        }
    }

    /** Marks upload progress (bytes going out), which keeps {@link #finish} waiting for a long upload. */
    void progress() {
        lastProgress = System.nanoTime();
    }

    /**
     * Sends what is left, then stops: waits while the server answers or an upload moves within {@code patience}; a
     * server never reached is not waited for. What stays undelivered is said in one line.
     */
    void finish(Duration patience) {
        closing = true;
        while (outstanding.get() > 0 && thread.isAlive()) {
            if (!reached && failedOnce || System.nanoTime() - lastProgress > patience.toNanos()) {
                break;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Task> left = new ArrayList<>(queue);
        int calls = outstanding.get();
        if (calls > 0) {
            long values = left.stream().filter(t -> t.metrics() != null).mapToLong(t -> t.metrics().size()).sum();
            String line = "MLflow at " + target + ": " + calls + " call(s) not delivered (" + values
                    + " metric values" + (left.isEmpty() ? "" : ", first: " + left.get(0).what())
                    + "); metrics.jsonl holds every value";
            if (reached) {
                LOG.warn(line);
            } else {
                LOG.info(line); // the outage was reported when it began
            }
        }
    }

    /** Calls submitted and not yet delivered or dropped. */
    int pending() {
        return outstanding.get();
    }

    private void loop() {
        long pause = 100;
        while (!Thread.currentThread().isInterrupted()) {
            Task task;
            try {
                task = queue.pollFirst(50, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (task == null) {
                if (closing) {
                    return;
                }
                continue;
            }
            task = merged(task);
            try {
                (task.metrics() != null ? metricCall.apply(task.metrics()) : task.call()).send();
                outstanding.addAndGet(-task.count());
                delivered();
                pause = 100;
            } catch (InterruptedException e) {
                queue.addFirst(task);
                return;
            } catch (Exception e) {
                if (status(e) > 0) { // it answered: a server to wait for at the end
                    reached = true;
                    lastProgress = System.nanoTime();
                }
                if (refused(e)) {
                    outstanding.addAndGet(-task.count());
                    LOG.warn("MLflow at {} refused to {}: {}", target, task.what(), e.getMessage());
                    continue;
                }
                queue.addFirst(task);
                failed(e);
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException ie) {
                    return;
                }
                pause = Math.min(2 * pause, maxPause.toMillis());
            }
        }
    }

    /** A metric task joined by the metric tasks right behind it, up to MLflow's batch limit. */
    private Task merged(Task task) {
        if (task.metrics() == null) {
            return task;
        }
        List<Metric> all = new ArrayList<>(task.metrics());
        int count = task.count();
        Task next;
        while ((next = queue.peekFirst()) != null && next.metrics() != null
                && all.size() + next.metrics().size() <= MAX_METRICS) {
            queue.pollFirst();
            all.addAll(next.metrics());
            count += next.count();
        }
        return new Task(task.what(), null, all, count);
    }

    private void delivered() {
        lastProgress = System.nanoTime();
        reached = true;
        if (down) {
            down = false;
            LOG.info("MLflow at {} reachable again; sending the buffered calls ({} waiting)", target, queue.size());
        }
    }

    private void failed(Exception e) {
        failedOnce = true;
        if (!down) {
            down = true;
            LOG.warn("MLflow at {} {} ({}); training goes on, its tracking calls are kept and retried", target,
                    status(e) > 0 ? "unavailable" : "unreachable", cause(e));
        }
    }

    /** The HTTP status the server answered with, or -1 when it did not answer. */
    private static int status(Exception e) {
        return e instanceof MlflowHttpException h ? h.getStatusCode()
                : e instanceof ArtifactStore.HttpStatusException h ? h.status() : -1;
    }

    /** The server answered and refused the request itself: retrying cannot help. */
    private static boolean refused(Exception e) {
        int status = status(e);
        return status >= 400 && status < 500 && status != 408 && status != 429;
    }

    private static String cause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
