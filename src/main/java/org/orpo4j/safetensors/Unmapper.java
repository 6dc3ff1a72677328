package org.orpo4j.safetensors;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.MappedByteBuffer;

/**
 * Releases a file mapping as soon as its chunk is copied, instead of whenever the GC finds the buffer (which, with
 * a load that allocates almost nothing on the heap, may be never: the mappings would pile up in RSS and keep the
 * file open on Windows). Uses {@code sun.misc.Unsafe.invokeCleaner} (module jdk.unsupported), the one JDK 17 way;
 * when it is unavailable the GC does the job as before.
 */
final class Unmapper {

    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method cleaner = null;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
            cleaner = c.getMethod("invokeCleaner", java.nio.ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            unsafe = null;
            cleaner = null;
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = cleaner;
    }

    private Unmapper() {}

    /** Unmaps {@code buffer}; it must not be used (nor aliased by a live NDArray) afterwards. */
    static void unmap(MappedByteBuffer buffer) {
        if (INVOKE_CLEANER == null) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, buffer);
        } catch (ReflectiveOperationException e) {
            // leave it to the GC
        }
    }
}
