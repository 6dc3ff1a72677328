package org.orpo4j.distributed;

import java.util.Map;
import java.util.Optional;

/**
 * Where this process stands in a data-parallel run, from the variables torchrun sets ({@code RANK},
 * {@code LOCAL_RANK}, {@code WORLD_SIZE}, {@code LOCAL_WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT}), as
 * Kubernetes' PyTorchJob and orpo4j's own launcher set them too; under Slurm without them, from
 * {@code SLURM_PROCID}, {@code SLURM_LOCALID}, {@code SLURM_NTASKS} (MASTER_ADDR and MASTER_PORT still given).
 *
 * @param rank 0..worldSize-1; rank 0 hosts the TCPStore and alone writes
 * @param localRank this process's index on its host
 * @param masterAddr the host of rank 0 (its TCPStore)
 */
public record RankEnv(int rank, int localRank, int worldSize, int localWorldSize, String masterAddr,
        int masterPort) {

    /** torchrun's default port. */
    public static final int DEFAULT_PORT = 29500;

    public RankEnv {
        if (worldSize < 1) {
            throw new DistributedException("WORLD_SIZE " + worldSize + " must be at least 1");
        }
        if (rank < 0 || rank >= worldSize) {
            throw new DistributedException("RANK " + rank + " is outside WORLD_SIZE " + worldSize
                    + " (ranks are 0.." + (worldSize - 1) + ")");
        }
        if (masterPort < 1 || masterPort > 65535) {
            throw new DistributedException("MASTER_PORT " + masterPort + " is not a TCP port (1..65535)");
        }
    }

    /** This process's place, or empty when the environment names no data-parallel run (no WORLD_SIZE or SLURM). */
    public static Optional<RankEnv> fromEnvironment(Map<String, String> env) {
        boolean torchrun = env.containsKey("WORLD_SIZE");
        if (!torchrun && !(env.containsKey("SLURM_NTASKS") && env.containsKey("MASTER_ADDR"))) {
            return Optional.empty();
        }
        int world = number(env, torchrun ? "WORLD_SIZE" : "SLURM_NTASKS", null);
        int rank = number(env, torchrun ? "RANK" : "SLURM_PROCID", null);
        int local = number(env, torchrun ? "LOCAL_RANK" : "SLURM_LOCALID", rank);
        int localWorld = number(env, "LOCAL_WORLD_SIZE", world);
        String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
        return Optional.of(new RankEnv(rank, local, world, localWorld, addr,
                number(env, "MASTER_PORT", DEFAULT_PORT)));
    }

    /** The variables a worker process gets, torchrun's names. */
    public Map<String, String> variables() {
        return Map.of("RANK", Integer.toString(rank), "LOCAL_RANK", Integer.toString(localRank), "WORLD_SIZE",
                Integer.toString(worldSize), "LOCAL_WORLD_SIZE", Integer.toString(localWorldSize), "MASTER_ADDR",
                masterAddr, "MASTER_PORT", Integer.toString(masterPort));
    }

    private static int number(Map<String, String> env, String name, Integer fallback) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            if (fallback == null) {
                throw new DistributedException(name + " is not set (a data-parallel worker needs RANK, WORLD_SIZE,"
                        + " MASTER_ADDR and MASTER_PORT; docs/distributed.md)");
            }
            return fallback;
        }
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new DistributedException(name + "=" + v + " is not a whole number");
        }
    }
}
