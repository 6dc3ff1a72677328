package org.orpo4j.runtime;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

/**
 * The one place orpo4j starts DJL: offline (the native library ships in the pytorch-native-cpu jar, so the
 * engine must never reach for the network) and on the GPU when one is present.
 */
public final class DjlRuntime {

    private static final String OFFLINE = "ai.djl.offline";

    private DjlRuntime() {}

    /** Puts DJL in offline mode unless the user decided otherwise; call before the engine first loads. */
    public static void ensureOffline() {
        if (System.getProperty(OFFLINE) == null) {
            System.setProperty(OFFLINE, "true");
        }
    }

    /** The PyTorch engine, started offline. */
    public static Engine engine() {
        ensureOffline();
        return Engine.getEngine("PyTorch");
    }

    /** The first GPU when the engine sees one, else the CPU. */
    public static Device defaultDevice() {
        return engine().getGpuCount() > 0 ? Device.gpu() : Device.cpu();
    }

    /** A root manager on {@code device} owned by the PyTorch engine. */
    public static NDManager newManager(Device device) {
        return engine().newBaseManager(device);
    }
}
