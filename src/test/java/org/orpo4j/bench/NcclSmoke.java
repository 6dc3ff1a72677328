package org.orpo4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.orpo4j.distributed.Distributed;
import org.orpo4j.distributed.RankEnv;
import org.orpo4j.runtime.DjlRuntime;

/**
 * The GPU kit's NCCL stage (scripts/gpu/device-check.sh): one rank joins through ProcessGroupNCCL on cuda:0 and runs
 * every collective the trainer uses on CUDA tensors. One GPU cannot hold two NCCL ranks (NCCL refuses two ranks on
 * one device), so the world is 1 and every result is its input: a wrong device, a missing symbol or a failed
 * communicator shows; a wrong sum across ranks cannot. Exits non-zero on any difference.
 */
public final class NcclSmoke {

    private NcclSmoke() {}

    public static void main(String[] args) throws IOException {
        DjlRuntime.engine();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (Distributed rank = Distributed.join(new RankEnv(0, 0, 1, 1, "127.0.0.1", port), "nccl",
                Duration.ofSeconds(60)); NDManager m = DjlRuntime.newManager(rank.device())) {
            NDArray grad = m.create(new float[] {1.5f, -2f, 3.25f});
            NDArray weight = m.create(new float[] {0.5f, 4f});
            rank.group().allReduceMean(List.of(grad));
            rank.group().broadcast(List.of(weight), 0);
            double[] metrics = {2.5, 7};
            rank.sum(metrics);
            rank.barrier();
            rank.checkSameWeights(List.of(weight), 1);
            boolean ok = Arrays.equals(grad.toFloatArray(), new float[] {1.5f, -2f, 3.25f})
                    && Arrays.equals(weight.toFloatArray(), new float[] {0.5f, 4f})
                    && Arrays.equals(metrics, new double[] {2.5, 7});
            System.out.println("nccl: 1 rank on " + rank.device() + ", all-reduce mean " + Arrays.toString(
                    grad.toFloatArray()) + ", broadcast " + Arrays.toString(weight.toFloatArray()) + ", sum "
                    + Arrays.toString(metrics) + (ok ? ": ok" : ": WRONG"));
            System.exit(ok ? 0 : 1);
        }
    }
}
