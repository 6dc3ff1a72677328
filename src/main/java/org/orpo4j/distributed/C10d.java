package org.orpo4j.distributed;

/**
 * The JNI functions of {@code src/main/native/orpo4j/orpo4j_c10d.cc}, in orpo4j's {@code libdjl_torch.so}: c10d's
 * TCPStore, PrefixStore and ProcessGroupGloo from DJL's libtorch; ProcessGroupNCCL ({@code orpo4j/nccl}) only in a
 * library built against a CUDA torch that has it ({@link #ncclAvailable}). Handles are native pointers that
 * {@link #storeFree} and {@link #groupFree} release; tensors are DJL's tensor handles. Failures throw
 * {@link DistributedException} with c10d's message.
 */
final class C10d {

    /** {@link #allReduce}'s operations. */
    static final int SUM = 0;
    static final int MIN = 1;
    static final int MAX = 2;

    private C10d() {}

    static native long tcpStore(String host, int port, boolean server, int worldSize, long timeoutMs);

    static native long prefixStore(String prefix, long store);

    static native void storeSet(long store, String key, byte[] value);

    static native byte[] storeGet(long store, String key);

    static native long storeAdd(long store, String key, long delta);

    static native boolean storeCheck(long store, String key);

    static native void storeFree(long store);

    static native long glooGroup(long store, int rank, int size, long timeoutMs, String networkInterface);

    /** Whether this library holds {@link #ncclGroup}: built against a CUDA libtorch with ProcessGroupNCCL. */
    static native boolean ncclAvailable();

    /** An NCCL group over CUDA tensors of {@code device} (the rank's LOCAL_RANK); only where {@link #ncclAvailable}. */
    static native long ncclGroup(long store, int rank, int size, long timeoutMs, int device);

    static native void groupFree(long group);

    static native void allReduceMean(long group, long[] tensors);

    static native void allReduce(long group, long tensor, int op);

    static native void broadcast(long group, long[] tensors, int root);

    static native void barrier(long group);
}
