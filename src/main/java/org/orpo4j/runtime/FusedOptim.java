package org.orpo4j.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.List;

/**
 * torch's fused AdamW kernel ({@code aten::_fused_adamw_}, {@code torch.optim.AdamW(fused=True)}) through orpo4j's JNI
 * ({@code src/main/native/orpo4j/orpo4j_optim.cc}): one pass over each parameter, gradient and moment per step
 * instead of a dozen element-wise ops, and on a GPU a few kernel launches instead of thousands. Where orpo4j's JNI
 * is not loaded (DJL's own, or a build without this function) {@link #available()} says so and callers keep their
 * element-wise update.
 */
public final class FusedOptim {

    private static Boolean available;

    private FusedOptim() {}

    /** Whether the loaded JNI has the fused AdamW (an empty call binds it or fails to). */
    public static synchronized boolean available() {
        if (available == null) {
            long[] none = new long[0];
            available = NativeExtension.binds(() -> fusedAdamw(none, none, none, none, 1, 0, 0, 0, 0, 0));
        }
        return available;
    }

    /** Whether the kernel takes these tensors together: float32, all on one device. */
    public static boolean accepts(List<NDArray> params) {
        return !params.isEmpty() && params.stream().allMatch(p -> p.getDataType() == DataType.FLOAT32
                && p.getDevice().equals(params.get(0).getDevice()));
    }

    /**
     * One AdamW update of {@code params} in place from {@code grads}, their moments updated in place ({@code step}
     * counts updates from 1). The four lists are parallel; see {@link #accepts(List)}.
     */
    public static void adamw(List<NDArray> params, List<NDArray> grads, List<NDArray> expAvgs,
            List<NDArray> expAvgSqs, long step, double lr, double beta1, double beta2, double weightDecay,
            double eps) {
        fusedAdamw(TensorHandles.of(params), TensorHandles.of(grads), TensorHandles.of(expAvgs),
                TensorHandles.of(expAvgSqs), step, lr, beta1, beta2, weightDecay, eps);
    }

    private static native void fusedAdamw(long[] params, long[] grads, long[] expAvgs, long[] expAvgSqs, long step,
            double lr, double beta1, double beta2, double weightDecay, double eps);
}
