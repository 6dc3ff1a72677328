package org.orpo4j.runtime;

import java.util.Optional;

/**
 * The Java side of orpo4j's own native code ({@code src/main/native/orpo4j}), which lives in the same
 * {@code libdjl_torch.so} as DJL's JNI functions and so is bound when DJL loads that library. With DJL's own JNI, or
 * where DJL's classes and orpo4j's were loaded by different class loaders, the methods are not bound: every call
 * here is guarded and answers "not available" then.
 */
final class NativeExtension {

    private NativeExtension() {}

    /** The build record of the loaded orpo4j JNI; empty with any other JNI. */
    static Optional<NativeBuild> loaded() {
        DjlRuntime.engine();
        try {
            return Optional.of(NativeBuild.parse(buildRecord()));
        } catch (UnsatisfiedLinkError notOurs) {
            return Optional.empty();
        }
    }

    /**
     * Whether orpo4j's JNI is loaded and binds the native method {@code call} invokes (a build older than the method
     * does not); {@code call} must be harmless.
     */
    static boolean binds(Runnable call) {
        if (loaded().isEmpty()) {
            return false;
        }
        try {
            call.run();
            return true;
        } catch (UnsatisfiedLinkError olderBuild) {
            return false;
        }
    }

    /** Whether the loaded libtorch_cpu.so exports {@code symbol}; false where orpo4j's JNI is not loaded. */
    static boolean torchExportsSymbol(String symbol) {
        if (loaded().isEmpty()) {
            return false;
        }
        return torchExports(symbol);
    }

    /**
     * Fixes glibc's mmap and trim thresholds ({@link MallocTuning}); false where orpo4j's JNI is not loaded or the C
     * library is not glibc.
     */
    static boolean returnLargeBuffersToOs(long mmapThreshold, long trimThreshold) {
        return loaded().isPresent() && fixMallocThresholds(mmapThreshold, trimThreshold);
    }

    private static native String buildRecord();

    private static native boolean fixMallocThresholds(long mmapBytes, long trimBytes);

    private static native boolean torchExports(String symbol);
}
