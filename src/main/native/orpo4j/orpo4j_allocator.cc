// glibc's malloc, told to return large buffers to the OS: libtorch's CPU allocator takes every tensor from malloc,
// and glibc raises its mmap threshold (up to 32 MiB) each time a mapped block is freed, so after the first step the
// activations of tens of MB come from the heap, which fragments and never shrinks: the peak RSS of a training run
// then grows step after step with the same live tensors. Setting M_TRIM_THRESHOLD fixes the mmap threshold at its
// default (128 KiB), as MALLOC_TRIM_THRESHOLD_ in the environment does (docs/benchmarks.md, memory case b).
// Java peer: org.orpo4j.runtime.NativeExtension.
#include <jni.h>
#include <malloc.h>

extern "C" {

// Sets M_TRIM_THRESHOLD to `trim_bytes`; true when glibc took it. A no-op answering false on other C libraries.
JNIEXPORT jboolean JNICALL Java_org_orpo4j_runtime_NativeExtension_fixMmapThreshold(
    JNIEnv*, jclass, jlong trim_bytes) {
#ifdef __GLIBC__
  return mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim_bytes)) == 1 ? JNI_TRUE : JNI_FALSE;
#else
  (void)trim_bytes;
  return JNI_FALSE;
#endif
}

}  // extern "C"
