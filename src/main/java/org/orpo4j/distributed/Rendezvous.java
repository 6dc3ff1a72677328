package org.orpo4j.distributed;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the ranks meet: c10d's TCPStore on the master (rank 0 serves it), each rank announcing itself under
 * {@code orpo4j/}. The joins are checked before any process group exists, each failure one line: the master's port
 * in use, a rank started twice, hosts that disagree on the world size (which then stops every rank, not just the
 * odd one). A heartbeat per rank in the store lets a rank whose collective failed name the rank that was lost.
 */
final class Rendezvous implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Rendezvous.class);
    private static final long POLL_MS = 20;
    private static final long HEARTBEAT_MS = 1000;

    private final RankEnv env;
    private final long tcpStore;
    private final long store; // the PrefixStore orpo4j/ over tcpStore
    private final Thread heartbeat;
    private volatile boolean closed;

    private Rendezvous(RankEnv env, long tcpStore) {
        this.env = env;
        this.tcpStore = tcpStore;
        this.store = C10d.prefixStore("orpo4j", tcpStore);
        this.heartbeat = new Thread(this::beat, "orpo4j-heartbeat-rank" + env.rank());
        heartbeat.setDaemon(true);
    }

    /** Meets the other ranks at the master within {@code timeout}; throws with one line when the run can't form. */
    static Rendezvous join(RankEnv env, Duration timeout) {
        long tcp;
        try {
            tcp = C10d.tcpStore(env.masterAddr(), env.masterPort(), env.rank() == 0, env.worldSize(),
                    timeout.toMillis());
        } catch (DistributedException e) {
            String why = firstLine(e.getMessage());
            if (env.rank() == 0 && (why.contains("EADDRINUSE") || why.toLowerCase().contains("address already"))) {
                throw new DistributedException("MASTER_PORT " + env.masterPort() + " is in use on this host"
                        + " (another run, or rank 0 started twice): choose another --master-port");
            }
            throw new DistributedException("rank " + env.rank() + " could not reach the master's TCPStore at "
                    + master(env) + " within " + timeout.toSeconds() + " s: " + why, e);
        }
        Rendezvous r = new Rendezvous(env, tcp);
        try {
            r.announce(timeout);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        r.heartbeat.start();
        return r;
    }

    /** The TCPStore under {@code prefix}, for a process group's own rendezvous. */
    long prefixed(String prefix) {
        return C10d.prefixStore(prefix, tcpStore);
    }

    private void announce(Duration timeout) {
        if (env.rank() == 0) {
            C10d.storeSet(store, "world", bytes(Integer.toString(env.worldSize())));
        } else {
            int masters = Integer.parseInt(new String(C10d.storeGet(store, "world"), StandardCharsets.UTF_8));
            if (masters != env.worldSize()) {
                String line = "WORLD_SIZE differs between hosts: rank " + env.rank() + " has " + env.worldSize()
                        + ", rank 0 (the master at " + master(env) + ") has " + masters + ": give every host the"
                        + " same --nnodes and --nproc-per-node";
                C10d.storeSet(store, "abort", bytes(line));
                throw new DistributedException(line);
            }
        }
        if (C10d.storeAdd(store, "rank/" + env.rank(), 1) > 1) {
            throw new DistributedException("rank " + env.rank() + " was started twice: another process already"
                    + " joined the run at " + master(env) + " as rank " + env.rank() + "; this one stops");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Integer> missing = missing();
        while (!missing.isEmpty()) {
            if (C10d.storeCheck(store, "abort")) {
                throw new DistributedException(new String(C10d.storeGet(store, "abort"), StandardCharsets.UTF_8));
            }
            if (System.nanoTime() > deadline) {
                throw new DistributedException("rank" + (missing.size() == 1 ? " " : "s ") + join(missing)
                        + " did not join the run at " + master(env) + " within " + timeout.toSeconds() + " s"
                        + " (--ddp-timeout)");
            }
            sleep(POLL_MS);
            missing = missing();
        }
        LOG.info("rank {} of {} joined the run at {}", env.rank(), env.worldSize(), master(env));
    }

    private List<Integer> missing() {
        List<Integer> missing = new ArrayList<>();
        for (int r = 0; r < env.worldSize(); r++) {
            if (!C10d.storeCheck(store, "rank/" + r)) {
                missing.add(r);
            }
        }
        return missing;
    }

    private void beat() {
        try {
            while (!closed) {
                C10d.storeAdd(store, "alive/" + env.rank(), 1);
                Thread.sleep(HEARTBEAT_MS);
            }
        } catch (InterruptedException | DistributedException e) {
            // closing, or the master is gone: the failing collective says so
        }
    }

    /**
     * The ranks that stopped beating (their process ended or their host is unreachable), watched over three
     * heartbeats; when the master's store itself no longer answers, rank 0.
     */
    String lostRanks() {
        try {
            long[] before = beats();
            sleep(3 * HEARTBEAT_MS);
            long[] after = beats();
            List<Integer> lost = new ArrayList<>();
            for (int r = 0; r < before.length; r++) {
                if (r != env.rank() && before[r] == after[r]) {
                    lost.add(r);
                }
            }
            return lost.isEmpty() ? "no rank stopped beating (a network fault or the timeout?)"
                    : "rank" + (lost.size() == 1 ? " " : "s ") + join(lost) + " lost (process ended or host"
                            + " unreachable)";
        } catch (DistributedException storeGone) {
            return "rank 0 lost (the master's TCPStore at " + master(env) + " no longer answers)";
        }
    }

    private long[] beats() {
        long[] b = new long[env.worldSize()];
        for (int r = 0; r < b.length; r++) {
            b[r] = C10d.storeAdd(store, "alive/" + r, 0);
        }
        return b;
    }

    @Override
    public void close() {
        closed = true;
        heartbeat.interrupt();
        try {
            heartbeat.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        C10d.storeFree(store);
        C10d.storeFree(tcpStore);
    }

    static String master(RankEnv env) {
        return env.masterAddr() + ":" + env.masterPort();
    }

    static String firstLine(String message) {
        String m = message == null ? "" : message.strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private static String join(List<Integer> ranks) {
        return String.join(", ", ranks.stream().map(String::valueOf).toList());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistributedException("interrupted while waiting for the other ranks");
        }
    }
}
