package org.orpo4j.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.DjlRuntime;

/**
 * The CPU build's JNI has no ProcessGroupNCCL (its translation unit is compiled only against a CUDA torch that has
 * it): the weak reference reads null, and {@code --ddp-backend nccl} is refused in one line before any rendezvous
 * (the port is never opened). The NCCL path itself runs in the GPU kit (scripts/gpu/device-check.sh, stage nccl).
 */
class NcclBackendTest {

    @Test
    void theCpuBuildHasNoNcclAndRefusesItInOneLine() throws Exception {
        DjlRuntime.engine();
        assertFalse(C10d.ncclAvailable());
        RankEnv env = new RankEnv(0, 0, 2, 2, "127.0.0.1", Workers.freePort());
        DistributedException e = assertThrows(DistributedException.class,
                () -> Distributed.join(env, "nccl", Duration.ofSeconds(5)));
        assertEquals("--ddp-backend nccl needs CUDA tensors and orpo4j's JNI built against a CUDA libtorch with"
                + " ProcessGroupNCCL, and the JNI loaded has none: use gloo, or build it (docs/distributed.md)",
                e.getMessage());
    }
}
