// glibc's malloc, told to return large buffers to the OS: libtorch's CPU allocator takes every tensor from malloc,
// and glibc raises its mmap threshold (up to 32 MiB) each time a mapped block is freed, so after the first step the
// activations of tens of MB come from the heap, which fragments and never shrinks: the peak RSS of a training run
// then grows step after step with the same live tensors. A fixed M_MMAP_THRESHOLD of a few MiB maps those buffers
// (and unmaps them on free) while the many smaller ones stay on the heap, where reuse costs no page faults; at
// glibc's 128 KiB floor the faults of re-mapping every buffer made a step 40-60 % slower (docs/benchmarks.md,
// memory case b). Java peer: org.orpo4j.runtime.NativeExtension.
#include <jni.h>
#include <malloc.h>

extern "C" {

// Fixes M_MMAP_THRESHOLD at `mmap_bytes` and M_TRIM_THRESHOLD at `trim_bytes`; true when glibc took both. A no-op
// answering false on other C libraries.
JNIEXPORT jboolean JNICALL Java_org_orpo4j_runtime_NativeExtension_fixMallocThresholds(
    JNIEnv*, jclass, jlong mmap_bytes, jlong trim_bytes) {
#ifdef __GLIBC__
  bool mmap = mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_bytes)) == 1;
  bool trim = mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim_bytes)) == 1;
  return mmap && trim ? JNI_TRUE : JNI_FALSE;
#else
  (void)mmap_bytes;
  (void)trim_bytes;
  return JNI_FALSE;
#endif
}

}  // extern "C"
