package org.orpo4j.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.mlflow.api.proto.Service.Metric;
import org.mlflow.tracking.MlflowHttpException;

/** The MLflow call queue without a server: order, batching, retries, refusals and how long the end waits. */
class MlflowSenderTest {

    private final List<String> delivered = Collections.synchronizedList(new ArrayList<>());

    private MlflowSender sender() {
        return new MlflowSender("http://test", metrics -> () -> delivered.add("metrics " + metrics.size()),
                Duration.ofMillis(50));
    }

    private static List<Metric> metrics(int n, long step) {
        List<Metric> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(Metric.newBuilder().setKey("m" + i).setValue(i).setStep(step).build());
        }
        return out;
    }

    /** Waiting metric calls go as batches of at most 1000 values, in order, behind the calls before them. */
    @Test
    void callsGoInOrderAndWaitingMetricsGoTogether() {
        MlflowSender sender = sender();
        sender.submit("start", () -> delivered.add("start"));
        for (int step = 1; step <= 5; step++) {
            sender.metrics(metrics(300, step));
        }
        sender.submit("end", () -> delivered.add("end"));
        sender.metrics(metrics(7, 6));
        sender.start();
        sender.finish(Duration.ofSeconds(10));
        assertEquals(List.of("start", "metrics 900", "metrics 600", "end", "metrics 7"), delivered);
        assertEquals(0, sender.pending());
    }

    /** A call that cannot reach the server stays first and is retried; nothing behind it overtakes or is lost. */
    @Test
    void anOutageHoldsTheQueueUntilTheServerAnswers() {
        MlflowSender sender = sender();
        AtomicInteger attempts = new AtomicInteger();
        sender.submit("first", () -> delivered.add("first"));
        sender.submit("flaky", () -> {
            if (attempts.incrementAndGet() <= 3) {
                throw new ConnectException("Connection refused");
            }
            delivered.add("flaky");
        });
        sender.metrics(metrics(2, 1));
        sender.start();
        sender.finish(Duration.ofSeconds(10));
        assertEquals(4, attempts.get());
        assertEquals(List.of("first", "flaky", "metrics 2"), delivered);
        assertEquals(0, sender.pending());
    }

    /** The server's own refusal (a 4xx but 408 and 429) cannot be cured by retrying: dropped, the rest goes on. */
    @Test
    void aRefusedCallIsDroppedAndTheRestGoes() {
        MlflowSender sender = sender();
        AtomicInteger attempts = new AtomicInteger();
        sender.submit("bad param", () -> {
            attempts.incrementAndGet();
            throw new MlflowHttpException(400, "Bad Request", "INVALID_PARAMETER_VALUE");
        });
        AtomicInteger limited = new AtomicInteger();
        sender.submit("rate limited", () -> {
            if (limited.incrementAndGet() == 1) {
                throw new MlflowHttpException(429, "Too Many Requests");
            }
            delivered.add("rate limited");
        });
        sender.submit("after", () -> delivered.add("after"));
        sender.start();
        sender.finish(Duration.ofSeconds(10));
        assertEquals(1, attempts.get());
        assertEquals(2, limited.get());
        assertEquals(List.of("rate limited", "after"), delivered);
    }

    /** A server never reached is not waited for at the end; what is left is counted. */
    @Test
    void theEndDoesNotWaitForAServerNeverReached() {
        MlflowSender sender = sender();
        sender.submit("start", () -> {
            throw new ConnectException("Connection refused");
        });
        sender.metrics(metrics(3, 1));
        sender.start();
        long t0 = System.nanoTime();
        sender.finish(Duration.ofSeconds(30));
        assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(5).toNanos(), "no wait");
        assertEquals(2, sender.pending());
        assertEquals(List.of(), delivered);
    }

    /** A server that answered before and is down at the end is waited for, up to the patience (then given up). */
    @Test
    void theEndWaitsForAServerThatWasReachedAndComesBack() {
        MlflowSender sender = sender();
        long back = System.nanoTime() + Duration.ofMillis(800).toNanos();
        sender.submit("start", () -> delivered.add("start"));
        sender.submit("late", () -> {
            if (System.nanoTime() < back) {
                throw new ConnectException("Connection refused");
            }
            delivered.add("late");
        });
        sender.start();
        sender.finish(Duration.ofSeconds(20));
        assertEquals(List.of("start", "late"), delivered);

        MlflowSender gone = sender();
        gone.submit("start", () -> delivered.add("start again"));
        gone.submit("never", () -> {
            throw new ConnectException("Connection refused");
        });
        gone.start();
        long t0 = System.nanoTime();
        gone.finish(Duration.ofMillis(500));
        assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(5).toNanos(), "gave up after its patience");
        assertEquals(1, gone.pending());
    }
}
