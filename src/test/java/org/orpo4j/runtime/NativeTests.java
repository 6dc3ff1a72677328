package org.orpo4j.runtime;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;

/**
 * The tests tagged {@code native} need orpo4j's JNI. Where {@code mvn package} could not build it (no C++ compiler,
 * no pip) they are skipped with the reason; with {@code -Dorpo4j.native.build=required} (CI) they fail instead, so a
 * machine that should have built it never skips them silently.
 */
public final class NativeTests {

    /** Set by the pom from {@code orpo4j.native.build}. */
    private static final String REQUIRED = "orpo4j.native.required";

    private NativeTests() {}

    /** Skips (or fails, when required) the calling test unless bfloat16 arrays can exist. */
    public static void assumeBf16() {
        if (Boolean.getBoolean(REQUIRED)) {
            assertTrue(NativeFeatures.bfloat16(), NativeFeatures.bfloat16Missing());
        } else {
            Assumptions.assumeTrue(NativeFeatures.bfloat16(), NativeFeatures.bfloat16Missing());
        }
    }

    /** Skips (or fails, when required) the calling test unless torch's fused attention is bound. */
    public static void assumeFusedAttention() {
        String why = "orpo4j's PyTorch JNI with the fused attention is not loaded";
        if (Boolean.getBoolean(REQUIRED)) {
            assertTrue(FusedAttention.available(), why);
        } else {
            Assumptions.assumeTrue(FusedAttention.available(), why);
        }
    }

    /** Whether orpo4j's native library must be there (CI). */
    public static boolean required() {
        return Boolean.getBoolean(REQUIRED);
    }
}
