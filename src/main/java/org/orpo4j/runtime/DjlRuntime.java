package org.orpo4j.runtime;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.engine.StandardCapabilities;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place orpo4j starts DJL: offline (the native library ships in the pytorch-native-cpu jar, so the
 * engine must never reach for the network) and on the GPU when one is present.
 */
public final class DjlRuntime {

    private static final Pattern GPU = Pattern.compile("(?:cuda|gpu)(?::(\\d+))?");

    private static final String OFFLINE = "ai.djl.offline";

    private static final Logger LOG = LoggerFactory.getLogger(DjlRuntime.class);

    private static volatile boolean started;
    private static Integer gpuCount;

    private DjlRuntime() {}

    /** Puts DJL in offline mode unless the user decided otherwise; call before the engine first loads. */
    public static void ensureOffline() {
        if (System.getProperty(OFFLINE) == null) {
            System.setProperty(OFFLINE, "true");
        }
    }

    /**
     * The PyTorch engine, started offline and quietly: DJL's TorchScript graph-executor notice is turned off with
     * the optimizer it announces (orpo4j runs eager ops only); where the SLF4J binding is slf4j-simple, DJL's
     * "no GPU" warnings are kept at ERROR and its start-up INFO lines at WARN; one INFO line says what started.
     * A property the user set wins. Before the first start, {@link NativeLoader} puts orpo4j's JNI (bfloat16) under
     * DJL when this orpo4j carries one; DJL calls made before this one start the engine with DJL's own JNI.
     *
     * @throws NativeLibraryException when orpo4j's native library is configured but can't be used (one line)
     */
    public static synchronized Engine engine() {
        quiet();
        boolean first = !started;
        NativeLoader.Choice jni = null;
        if (first) {
            jni = NativeLoader.install();
            started = true;
        }
        Engine engine;
        try {
            engine = Engine.getEngine("PyTorch");
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            if (jni == null || jni.library() == null) {
                throw e;
            }
            String problem = "DJL could not load orpo4j's native library " + jni.library() + " (" + rootCause(e) + ")";
            if (jni.source() != NativeLoader.Source.BUNDLED) {
                throw new NativeLibraryException(problem + ": rebuild it on this machine (mvn package) or set"
                        + " ORPO4J_NATIVE=off", e);
            }
            // the jar's library built elsewhere (a newer glibc, say): DJL's own JNI still runs everything but bf16
            jni = NativeLoader.fallBack(problem + ": rebuild orpo4j on this machine (mvn package)");
            LOG.warn("{}; DJL's own JNI (no bf16) is used", jni.reason());
            engine = Engine.getEngine("PyTorch");
        }
        if (first) {
            MallocTuning.apply(System.getenv());
            LOG.info("PyTorch {} started offline ({}); {} GPU(s) visible", engine.getVersion(),
                    jni.library() != null ? "orpo4j's JNI, bf16" : jni.source() == NativeLoader.Source.USER_LIBRARY_PATH
                            ? "the JNI in PYTORCH_LIBRARY_PATH" : "DJL's JNI", gpuCount());
        }
        return engine;
    }

    /** The first line of the innermost message: DJL wraps the loader's own words ("...: cannot open ..."). */
    private static String rootCause(Throwable e) {
        String m = e.getClass().getSimpleName();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                m = t.getMessage().strip();
            }
        }
        return m.lines().findFirst().orElse(m);
    }

    /**
     * Offline, and DJL's start-up chatter down, before any DJL class logs: the tokenizer library loads DJL's
     * platform detection too, so {@code HfTokenizer.load} calls this as well as {@link #engine()} does. Idempotent.
     */
    public static void quiet() {
        ensureOffline();
        setIfAbsent("ai.djl.pytorch.graph_optimizer", "false");
        if (LoggerFactory.getILoggerFactory().getClass().getName().equals("org.slf4j.simple.SimpleLoggerFactory")) {
            setIfAbsent("org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "error");
            setIfAbsent("org.slf4j.simpleLogger.log.ai.djl.util.Platform", "warn");
            setIfAbsent("org.slf4j.simpleLogger.log.ai.djl.pytorch.engine.PtEngine", "warn");
        }
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** The first GPU when the engine sees one, else the CPU. */
    public static Device defaultDevice() {
        return gpuCount() > 0 ? Device.gpu() : Device.cpu();
    }

    /**
     * The GPUs PyTorch can use. DJL counts them through the CUDA runtime library, which it finds only on the library
     * path (a pip-installed torch keeps it in {@code nvidia/cuda_runtime/lib}); when that count is 0 but the engine
     * was built with CUDA, the devices are probed one by one instead.
     */
    public static synchronized int gpuCount() {
        if (gpuCount == null) {
            Engine engine = engine();
            int n = engine.getGpuCount();
            if (n == 0 && engine.hasCapability(StandardCapabilities.CUDA)) {
                while (usable(engine, Device.gpu(n))) {
                    n++;
                }
            }
            gpuCount = n;
        }
        return gpuCount;
    }

    private static boolean usable(Engine engine, Device device) {
        try (NDManager manager = engine.newBaseManager(device)) {
            manager.zeros(new Shape(1)).close();
            return true;
        } catch (EngineException | IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The device a user names: {@code cpu}, {@code cuda} (the first GPU) or {@code cuda:N} ({@code gpu} and
     * {@code gpu:N} too); a GPU the engine does not see is an error naming why.
     */
    public static Device device(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        if (n.equals("cpu")) {
            return Device.cpu();
        }
        Matcher m = GPU.matcher(n);
        if (!m.matches()) {
            throw new IllegalArgumentException("device '" + name + "' must be cpu, cuda or cuda:N");
        }
        int index = m.group(1) == null ? 0 : Integer.parseInt(m.group(1));
        int gpus = gpuCount();
        if (index >= gpus) {
            throw new IllegalArgumentException("device '" + name + "': PyTorch sees " + gpus + " GPU(s)"
                    + (gpus == 0 ? " (a CPU-only native library, or no CUDA driver; docs/gpu.md)" : ""));
        }
        return Device.gpu(index);
    }

    /** A root manager on {@code device} owned by the PyTorch engine. */
    public static NDManager newManager(Device device) {
        return engine().newBaseManager(device);
    }
}
