// DJL's tensor handles as Java passes them (a long[] of torch::Tensor*): the c10d and the optimizer units read them.
#pragma once

#include <jni.h>
#include <torch/torch.h>

#include <vector>

namespace orpo4j {

// The tensors behind `handles`, in order (the same storage: in-place updates reach DJL's arrays).
inline std::vector<torch::Tensor> tensors(JNIEnv* env, jlongArray handles) {
  jsize n = env->GetArrayLength(handles);
  std::vector<jlong> raw(n);
  env->GetLongArrayRegion(handles, 0, n, raw.data());
  std::vector<torch::Tensor> out;
  out.reserve(n);
  for (jlong h : raw) {
    out.push_back(*reinterpret_cast<torch::Tensor*>(h));
  }
  return out;
}

}  // namespace orpo4j
