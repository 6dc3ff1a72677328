// orpo4j's own native code, linked into the same libdjl_torch.so as DJL's JNI sources (src/main/native/djl), so the
// JVM holds one libtorch: DJL's. Its Java peer is org.orpo4j.runtime.NativeExtension. Later native features
// (c10d process groups, ...) are further .cc files in this folder; scripts/native/build-djl-jni.sh compiles every one.
#include <dlfcn.h>
#include <jni.h>
#include <torch/version.h>

#include "orpo4j_build_record.h"  // ORPO4J_NATIVE_KEY, _DJL_VERSION, _FLAVOR: written by scripts/native/build-djl-jni.sh

#define ORPO4J_STR2(x) #x
#define ORPO4J_STR(x) ORPO4J_STR2(x)

// The build record, kept in the binary so that a copied or renamed library still says what it was built for.
// org.orpo4j.runtime.NativeBuild reads it from the file's bytes BEFORE loading it: a JNI compiled against another
// torch's headers must be refused by name, not loaded into DJL's libtorch to crash the JVM on the first call.
extern "C" __attribute__((used, visibility("default"))) const char orpo4j_native_build[] =
    "orpo4j-native-build:torch=" TORCH_VERSION ";djl=" ORPO4J_DJL_VERSION ";flavor=" ORPO4J_FLAVOR
    ";cxx11_abi=" ORPO4J_STR(_GLIBCXX_USE_CXX11_ABI) ";key=" ORPO4J_NATIVE_KEY ";end";

extern "C" {

// The build record of the library this JVM loaded (the same bytes NativeBuild scans the file for).
JNIEXPORT jstring JNICALL Java_org_orpo4j_runtime_NativeExtension_buildRecord(JNIEnv* env, jclass) {
  return env->NewStringUTF(orpo4j_native_build);
}

// Whether the loaded libtorch_cpu.so exports `symbol` (a mangled C++ name): how orpo4j tells a libtorch built with
// c10d (TCPStore, ProcessGroupGloo) from one without, before any native code relies on it. The JVM loads libraries
// with RTLD_LOCAL, so the lookup goes through libtorch_cpu's own handle, found by its soname among loaded objects.
JNIEXPORT jboolean JNICALL Java_org_orpo4j_runtime_NativeExtension_torchExports(
    JNIEnv* env, jclass, jstring jsymbol) {
  void* torch = dlopen("libtorch_cpu.so", RTLD_LAZY | RTLD_NOLOAD);
  if (torch == nullptr) {
    return JNI_FALSE;
  }
  const char* symbol = env->GetStringUTFChars(jsymbol, nullptr);
  bool found = dlsym(torch, symbol) != nullptr;
  env->ReleaseStringUTFChars(jsymbol, symbol);
  dlclose(torch);  // balances the reference RTLD_NOLOAD took; the library stays loaded
  return found ? JNI_TRUE : JNI_FALSE;
}

}  // extern "C"
