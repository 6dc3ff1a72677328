package org.orpo4j.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import java.time.Duration;
import java.util.List;
import org.orpo4j.runtime.TensorHandles;

/**
 * A c10d process group: torch's {@code ProcessGroupGloo} over CPU tensors or {@code ProcessGroupNCCL} over CUDA
 * tensors, created on a TCPStore rendezvous and
 * called through orpo4j's JNI ({@link C10d}); collectives run in place on DJL's arrays, each list as one flat
 * float32 bucket (DDP's reducer does the same). Every rank must call the same collectives in the same order.
 */
public final class ProcessGroup implements AutoCloseable {

    private final long handle;
    private final int rank;
    private final int size;

    private ProcessGroup(long handle, int rank, int size) {
        this.handle = handle;
        this.rank = rank;
        this.size = size;
    }

    /**
     * Gloo over {@code store} (a native store handle, which the group keeps alive). The TCP device binds to
     * {@code GLOO_SOCKET_IFNAME} when set (as in torch), else to the interface this host's name resolves to.
     */
    static ProcessGroup gloo(long store, int rank, int size, Duration timeout) {
        String iface = System.getenv().getOrDefault("GLOO_SOCKET_IFNAME", "");
        return new ProcessGroup(C10d.glooGroup(store, rank, size, timeout.toMillis(), iface), rank, size);
    }

    /** NCCL over {@code store} on CUDA device {@code device}, whose tensors every collective must hold. */
    static ProcessGroup nccl(long store, int rank, int size, Duration timeout, int device) {
        return new ProcessGroup(C10d.ncclGroup(store, rank, size, timeout.toMillis(), device), rank, size);
    }

    public int rank() {
        return rank;
    }

    public int size() {
        return size;
    }

    /** Replaces each array by its mean over the ranks: one all-reduce of their flat bucket. */
    public void allReduceMean(List<NDArray> arrays) {
        C10d.allReduceMean(handle, TensorHandles.of(arrays));
    }

    /** Reduces one contiguous array in place with {@link C10d#SUM}, {@link C10d#MIN} or {@link C10d#MAX}. */
    void allReduce(NDArray array, int op) {
        C10d.allReduce(handle, ((PtNDArray) array).getHandle(), op);
    }

    /** Every rank's arrays take {@code root}'s values: one broadcast of their flat bucket. */
    public void broadcast(List<NDArray> arrays, int root) {
        C10d.broadcast(handle, TensorHandles.of(arrays), root);
    }

    public void barrier() {
        C10d.barrier(handle);
    }

    @Override
    public void close() {
        C10d.groupFree(handle);
    }
}
