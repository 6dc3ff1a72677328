package org.orpo4j.distributed;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.NativeFeatures;
import org.orpo4j.train.DataParallel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process as one rank of a data-parallel run on torch's c10d (docs/distributed.md): the TCPStore rendezvous
 * ({@link Rendezvous}) and a Gloo or NCCL process group, given to {@code OrpoTrainer.dataParallel}. A collective that fails
 * (a rank killed, a host gone, the timeout) ends in a {@link DistributedException} naming the lost rank, never a
 * hang: Gloo notices a closed connection at once and anything else within the timeout.
 */
public final class Distributed implements DataParallel, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Distributed.class);

    /** torch's default process-group timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(30);

    private final RankEnv env;
    private final Rendezvous rendezvous;
    private final ProcessGroup group;
    private final Device device;
    private final NDManager manager; // the metrics' and checksums' arrays, on the group's device

    private Distributed(RankEnv env, Rendezvous rendezvous, ProcessGroup group, Device device) {
        this.env = env;
        this.rendezvous = rendezvous;
        this.group = group;
        this.device = device;
        this.manager = DjlRuntime.newManager(device);
    }

    /**
     * Joins the run the environment describes (torchrun's variables, {@link RankEnv}), or empty when it describes
     * none or a world of one.
     *
     * @param backend {@code gloo} (CPU tensors), {@code nccl} (CUDA tensors, where the JNI was built against a
     *     CUDA libtorch with ProcessGroupNCCL) or {@code auto} (nccl when it is there and a GPU is visible)
     */
    public static Optional<Distributed> fromEnvironment(String backend, Duration timeout) {
        Optional<RankEnv> env = RankEnv.fromEnvironment(System.getenv());
        if (env.isEmpty() || env.get().worldSize() == 1) {
            return Optional.empty();
        }
        return Optional.of(join(env.get(), backend, timeout));
    }

    /** Joins the run as {@code env} says, within {@code timeout} (also each collective's timeout). */
    public static Distributed join(RankEnv env, String backend, Duration timeout) {
        String b = backend.toLowerCase(Locale.ROOT);
        if (!b.equals("auto") && !b.equals("gloo") && !b.equals("nccl")) {
            throw new DistributedException("--ddp-backend " + backend + " is not one of auto, gloo, nccl");
        }
        if (!NativeFeatures.distributed()) {
            throw new DistributedException("data-parallel training needs orpo4j's PyTorch JNI and c10d in"
                    + " libtorch, and they are not loaded (orpo4j env says why; docs/native.md)");
        }
        boolean nccl = b.equals("nccl") || b.equals("auto") && C10d.ncclAvailable() && DjlRuntime.gpuCount() > 0;
        if (nccl && !C10d.ncclAvailable()) {
            throw new DistributedException("--ddp-backend nccl needs CUDA tensors and orpo4j's JNI built against a"
                    + " CUDA libtorch with ProcessGroupNCCL, and the JNI loaded has none: use gloo, or build it"
                    + " (docs/distributed.md)");
        }
        if (nccl && DjlRuntime.gpuCount() <= env.localRank()) {
            throw new DistributedException("--ddp-backend nccl: LOCAL_RANK " + env.localRank() + " needs GPU "
                    + env.localRank() + ", and PyTorch sees " + DjlRuntime.gpuCount() + ": one rank per GPU");
        }
        String name = nccl ? "NCCL" : "Gloo";
        Rendezvous rendezvous = Rendezvous.join(env, timeout);
        try {
            long store = rendezvous.prefixed(nccl ? "nccl" : "gloo");
            ProcessGroup group = nccl
                    ? ProcessGroup.nccl(store, env.rank(), env.worldSize(), timeout, env.localRank())
                    : ProcessGroup.gloo(store, env.rank(), env.worldSize(), timeout);
            LOG.info("rank {} of {}: {} process group ready", env.rank(), env.worldSize(), name);
            return new Distributed(env, rendezvous, group, nccl ? Device.gpu(env.localRank()) : Device.cpu());
        } catch (DistributedException e) {
            rendezvous.close();
            throw new DistributedException("rank " + env.rank() + " could not form the " + name + " group: "
                    + Rendezvous.firstLine(e.getMessage()), e);
        }
    }

    /** The device of this rank's tensors: the CPU with Gloo, {@code cuda:LOCAL_RANK} with NCCL. */
    public Device device() {
        return device;
    }

    public RankEnv env() {
        return env;
    }

    public ProcessGroup group() {
        return group;
    }

    @Override
    public int rank() {
        return env.rank();
    }

    @Override
    public int worldSize() {
        return env.worldSize();
    }

    @Override
    public void averageGradients(Collection<NDArray> params) {
        try (GradMode off = GradMode.enabled(false); NDScope scope = new NDScope()) {
            List<NDArray> grads = new ArrayList<>(params.size());
            for (NDArray p : params) {
                grads.add(p.getGradient()); // shares the parameter's gradient storage
            }
            guarded("the gradient all-reduce", () -> group.allReduceMean(grads));
        }
    }

    @Override
    public void sum(double[] values) {
        try (NDManager m = manager.newSubManager()) {
            NDArray v = m.create(values); // [n] float64
            guarded("the metrics all-reduce", () -> group.allReduce(v, C10d.SUM));
            double[] summed = v.toDoubleArray();
            System.arraycopy(summed, 0, values, 0, values.length);
        }
    }

    @Override
    public void broadcastFromRankZero(Collection<NDArray> tensors) {
        guarded("the weights broadcast", () -> group.broadcast(new ArrayList<>(tensors), 0));
    }

    @Override
    public void barrier() {
        guarded("a barrier", group::barrier);
    }

    /**
     * Compares the float64 sum and sum of squares of every parameter between the ranks (min and max all-reduced):
     * identical weights give identical numbers, up to the summation order of another thread count.
     */
    @Override
    public void checkSameWeights(Collection<NDArray> params, long step) {
        try (GradMode off = GradMode.enabled(false); NDManager m = manager.newSubManager()) {
            double[] local = new double[2];
            try (NDScope scope = new NDScope()) {
                for (NDArray p : params) {
                    NDArray d = p.toType(DataType.FLOAT64, false);
                    local[0] += d.sum().getDouble();
                    local[1] += d.square().sum().getDouble();
                }
            }
            NDArray low = m.create(local);
            NDArray high = m.create(local);
            guarded("the weights check", () -> {
                group.allReduce(low, C10d.MIN);
                group.allReduce(high, C10d.MAX);
            });
            double[] lo = low.toDoubleArray();
            double[] hi = high.toDoubleArray();
            for (int i = 0; i < 2; i++) {
                if (Math.abs(hi[i] - lo[i]) > 1e-9 * Math.max(1, Math.abs(hi[i]))) {
                    throw new DistributedException(String.format(Locale.ROOT, "the ranks' weights differ at step %d"
                            + " (checksum %s from %.17g to %.17g): a rank diverged; stopping", step,
                            i == 0 ? "sum" : "sum of squares", lo[i], hi[i]));
                }
            }
        }
    }

    /** Runs a collective; its failure becomes one line naming the lost rank. */
    private void guarded(String what, Runnable collective) {
        try {
            collective.run();
        } catch (DistributedException e) {
            throw new DistributedException("rank " + env.rank() + ": " + what + " failed, " + rendezvous.lostRanks()
                    + ": " + Rendezvous.firstLine(e.getMessage()), e);
        }
    }

    /**
     * Leaves the group without waiting: the trainer's last barrier follows the final save, and a rank that fails
     * must not meet the others' barriers (its peers' next collective then fails, naming it).
     */
    @Override
    public void close() {
        group.close();
        rendezvous.close();
        manager.close();
    }
}
