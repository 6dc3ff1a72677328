package org.orpo4j.cli;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.orpo4j.distributed.Launcher;
import picocli.CommandLine.Option;

/**
 * torchrun's flags on {@code train}: with {@code --nproc-per-node} this process launches the workers
 * ({@link Launcher}) instead of training, each worker the same {@code train} command without these flags.
 */
final class LaunchOptions {

    private static final Set<String> FLAGS = Set.of("--nproc-per-node", "--nnodes", "--node-rank", "--master-addr",
            "--master-port");

    @Option(names = "--nproc-per-node", paramLabel = "N",
            description = "Start N data-parallel workers on this host, as torchrun (docs/distributed.md).")
    Integer nprocPerNode;

    @Option(names = "--nnodes", paramLabel = "M", defaultValue = "1",
            description = "Hosts in the run, each started with the same flags and its --node-rank (default: ${DEFAULT-VALUE}).")
    int nnodes;

    @Option(names = "--node-rank", paramLabel = "K", defaultValue = "0",
            description = "This host's index, 0..M-1; host 0 holds rank 0 (default: ${DEFAULT-VALUE}).")
    int nodeRank;

    @Option(names = "--master-addr", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address of host 0, where rank 0 serves the TCPStore (default: ${DEFAULT-VALUE}).")
    String masterAddr;

    @Option(names = "--master-port", paramLabel = "PORT", defaultValue = "29500",
            description = "Port of that TCPStore on host 0 (default: ${DEFAULT-VALUE}).")
    int masterPort;

    /** The launcher these flags ask for, or null when this process trains itself (no flag, or a worker). */
    Launcher launcher() {
        if (nprocPerNode == null) {
            return null;
        }
        if (System.getenv("WORLD_SIZE") != null) {
            throw new IllegalArgumentException("--nproc-per-node inside a process that already has WORLD_SIZE ("
                    + "started by torchrun or a scheduler): give one or the other");
        }
        return new Launcher(nprocPerNode, nnodes, nodeRank, masterAddr, masterPort);
    }

    /** This JVM again, with its flags and class path, running {@code train} with {@code args} minus our flags. */
    static List<String> workerCommand(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (FLAGS.contains(name)) {
                i += a.contains("=") ? 0 : 1; // its value too
            } else {
                cmd.add(a);
            }
        }
        return cmd;
    }
}
