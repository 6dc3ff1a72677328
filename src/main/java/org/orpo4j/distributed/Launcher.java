package org.orpo4j.distributed;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import sun.misc.Signal;

/**
 * Starts this host's workers as torchrun does: {@code nprocPerNode} processes, each with torchrun's variables
 * ({@link RankEnv}) and one torch thread unless {@code OMP_NUM_THREADS} says otherwise; forwards SIGTERM and SIGINT
 * to them (each checkpoints after its step and exits 143 or 130); and exits with the first failing worker's code,
 * after giving the others a minute to stop by themselves (their collectives fail at once, naming the lost rank)
 * and then killing them.
 *
 * @param nnodes hosts in the run, each running a launcher
 * @param nodeRank this host's index; node 0 holds rank 0 and its TCPStore
 */
public record Launcher(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort) {

    private static final long GRACE_MS = 60_000;

    /** Checks the plan before anything starts or is written; each problem is one line naming the flag. */
    public Launcher {
        if (nprocPerNode < 1) {
            throw new IllegalArgumentException("--nproc-per-node " + nprocPerNode + " must be at least 1");
        }
        if (nnodes < 1) {
            throw new IllegalArgumentException("--nnodes " + nnodes + " must be at least 1");
        }
        if (nodeRank < 0 || nodeRank >= nnodes) {
            throw new IllegalArgumentException("--node-rank " + nodeRank + " must be in 0.." + (nnodes - 1)
                    + " (--nnodes " + nnodes + ")");
        }
        if (masterPort < 1 || masterPort > 65535) {
            throw new IllegalArgumentException("--master-port " + masterPort + " is not a TCP port (1..65535)");
        }
    }

    /** Refuses a master port another process holds (node 0 binds it for the TCPStore), before any worker starts. */
    public void checkPort() {
        if (nodeRank != 0) {
            return;
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(masterPort));
        } catch (IOException e) {
            throw new IllegalArgumentException("--master-port " + masterPort + " is in use on this host ("
                    + e.getMessage() + "): choose another port, or stop the run holding it");
        }
    }

    /** The environment of local worker {@code local}: torchrun's variables. */
    public RankEnv rank(int local) {
        return new RankEnv(nodeRank * nprocPerNode + local, local, nnodes * nprocPerNode, nprocPerNode,
                masterAddr, masterPort);
    }

    /**
     * Runs {@code command} once per local rank, their output on this process's; returns 0 when all succeed, else
     * the first failing worker's exit code (143 after a forwarded SIGTERM).
     */
    public int run(List<String> command, PrintStream err) throws IOException, InterruptedException {
        List<Process> workers = new ArrayList<>();
        Map<String, String> inherited = System.getenv();
        for (int local = 0; local < nprocPerNode; local++) {
            ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
            pb.environment().putAll(rank(local).variables());
            if (!inherited.containsKey("OMP_NUM_THREADS")) {
                pb.environment().put("OMP_NUM_THREADS", "1"); // torchrun's default: ranks share the cores
            }
            workers.add(pb.start());
        }
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), s -> forward(s, workers, err));
        }
        int failed = -1;
        long giveUpAt = Long.MAX_VALUE;
        while (workers.stream().anyMatch(Process::isAlive)) {
            Thread.sleep(100);
            for (int i = 0; i < workers.size() && failed < 0; i++) {
                Process w = workers.get(i);
                if (!w.isAlive() && w.exitValue() != 0) {
                    failed = i;
                    giveUpAt = System.currentTimeMillis() + GRACE_MS;
                    err.println("orpo4j train: rank " + rank(i).rank() + " (pid " + w.pid() + ") exited with "
                            + w.exitValue() + describe(w.exitValue()));
                    err.flush();
                }
            }
            if (System.currentTimeMillis() > giveUpAt) {
                err.println("orpo4j train: the other workers did not stop within " + GRACE_MS / 1000 + " s:"
                        + " killing them");
                workers.forEach(Process::destroyForcibly);
                giveUpAt = Long.MAX_VALUE;
            }
        }
        return failed < 0 ? 0 : workers.get(failed).exitValue();
    }

    private static void forward(Signal signal, List<Process> workers, PrintStream err) {
        err.println("orpo4j train: SIG" + signal.getName() + " forwarded to the " + workers.size() + " workers");
        err.flush();
        for (Process w : workers) {
            if (w.isAlive()) {
                try {
                    new ProcessBuilder("kill", "-" + signal.getName(), Long.toString(w.pid())).start().waitFor();
                } catch (IOException e) {
                    w.destroy(); // SIGTERM
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private static String describe(int code) {
        return switch (code) {
            case 137 -> " (killed by SIGKILL)";
            case 143 -> " (SIGTERM)";
            case 130 -> " (SIGINT)";
            case 134 -> " (aborted)";
            case 139 -> " (segmentation fault)";
            default -> "";
        };
    }
}
