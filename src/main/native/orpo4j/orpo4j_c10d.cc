// c10d for data-parallel training: a TCPStore for the rendezvous, PrefixStore for per-run key spaces and a
// ProcessGroupGloo over CPU tensors, all from DJL's libtorch_cpu.so (no collective of orpo4j's own); NCCL's group,
// where a CUDA torch has one, comes from nccl/orpo4j_c10d_nccl.cc and uses the collectives here. Java peer:
// org.orpo4j.distributed.C10d. Handles are heap-held intrusive_ptrs; tensors are DJL's handles (torch::Tensor*).
// Gradients travel as one flat bucket per call, as DDP's reducer concatenates them: one collective, not one per
// parameter.
#define USE_C10D_GLOO
#include <jni.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <chrono>
#include <string>
#include <vector>

#include "orpo4j/handles.h"

namespace orpo4j {

// c10d's errors (DistNetworkError, DistBackendError, timeouts) become org.orpo4j.distributed.DistributedException
// with c10's message without its C++ backtrace (the NCCL unit uses it too).
void rethrowC10d(JNIEnv* env) {
  std::string message;
  try {
    throw;
  } catch (const c10::Error& e) {
    message = e.what_without_backtrace();
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown C++ exception in c10d";
  }
  jclass type = env->FindClass("org/orpo4j/distributed/DistributedException");
  if (type != nullptr) {
    env->ThrowNew(type, message.c_str());
  }
}

}  // namespace orpo4j

namespace {

using StorePtr = c10::intrusive_ptr<c10d::Store>;
using GroupPtr = c10::intrusive_ptr<c10d::Backend>;

using orpo4j::rethrowC10d;
using orpo4j::tensors;

std::string str(JNIEnv* env, jstring s) {
  const char* chars = env->GetStringUTFChars(s, nullptr);
  std::string out(chars);
  env->ReleaseStringUTFChars(s, chars);
  return out;
}

StorePtr& store(jlong handle) { return *reinterpret_cast<StorePtr*>(handle); }
GroupPtr& group(jlong handle) { return *reinterpret_cast<GroupPtr*>(handle); }

// The tensors' values as one contiguous float32 vector [sum of numels], their order kept.
torch::Tensor flatBucket(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> flat;
  flat.reserve(ts.size());
  for (const auto& t : ts) {
    flat.push_back(t.reshape({-1}).to(torch::kFloat32));
  }
  return torch::cat(flat);
}

// Copies the bucket's slices back into the tensors (in place: the gradients' storage is the parameters').
void unflatten(const torch::Tensor& bucket, std::vector<torch::Tensor>& ts) {
  int64_t offset = 0;
  for (auto& t : ts) {
    int64_t n = t.numel();
    t.copy_(bucket.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

}  // namespace

extern "C" {

// Defined by nccl/orpo4j_c10d_nccl.cc where the build links it (a CUDA torch with ProcessGroupNCCL), else null.
__attribute__((weak)) JNIEXPORT jlong JNICALL Java_org_orpo4j_distributed_C10d_ncclGroup(JNIEnv*, jclass, jlong,
                                                                                        jint, jint, jlong, jint);

// Whether this library holds NCCL's group.
JNIEXPORT jboolean JNICALL Java_org_orpo4j_distributed_C10d_ncclAvailable(JNIEnv*, jclass) {
  return Java_org_orpo4j_distributed_C10d_ncclGroup != nullptr ? JNI_TRUE : JNI_FALSE;
}

// A TCPStore on host:port; the server (rank 0) listens and waits up to timeout for worldSize clients.
JNIEXPORT jlong JNICALL Java_org_orpo4j_distributed_C10d_tcpStore(JNIEnv* env, jclass, jstring host, jint port,
                                                                  jboolean server, jint worldSize, jlong timeoutMs) {
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(port);
    opts.isServer = server == JNI_TRUE;
    opts.numWorkers = static_cast<std::size_t>(worldSize);
    opts.waitWorkers = false;  // the Java rendezvous waits, so that it can name who is missing
    opts.timeout = std::chrono::milliseconds(timeoutMs);
    return reinterpret_cast<jlong>(new StorePtr(c10::make_intrusive<c10d::TCPStore>(str(env, host), opts)));
  } catch (...) {
    rethrowC10d(env);
    return 0;
  }
}

JNIEXPORT jlong JNICALL Java_org_orpo4j_distributed_C10d_prefixStore(JNIEnv* env, jclass, jstring prefix,
                                                                     jlong base) {
  try {
    return reinterpret_cast<jlong>(new StorePtr(c10::make_intrusive<c10d::PrefixStore>(str(env, prefix),
                                                                                       store(base))));
  } catch (...) {
    rethrowC10d(env);
    return 0;
  }
}

JNIEXPORT void JNICALL Java_org_orpo4j_distributed_C10d_storeSet(JNIEnv* env, jclass, jlong handle, jstring key,
                                                                 jbyteArray value) {
  try {
    jsize n = env->GetArrayLength(value);
    std::vector<uint8_t> bytes(n);
    env->GetByteArrayRegion(value, 0, n, reinterpret_cast<jbyte*>(bytes.data()));
    store(handle)->set(str(env, key), bytes);
  } catch (...) {
    rethrowC10d(env);
  }
}

// The value of key, waiting for it up to the store's timeout.
JNIEXPORT jbyteArray JNICALL Java_org_orpo4j_distributed_C10d_storeGet(JNIEnv* env, jclass, jlong handle,
                                                                       jstring key) {
  try {
    std::vector<uint8_t> bytes = store(handle)->get(str(env, key));
    jbyteArray out = env->NewByteArray(static_cast<jsize>(bytes.size()));
    env->SetByteArrayRegion(out, 0, static_cast<jsize>(bytes.size()), reinterpret_cast<jbyte*>(bytes.data()));
    return out;
  } catch (...) {
    rethrowC10d(env);
    return nullptr;
  }
}

// Atomically adds delta to the counter at key (created at 0) and returns the new value.
JNIEXPORT jlong JNICALL Java_org_orpo4j_distributed_C10d_storeAdd(JNIEnv* env, jclass, jlong handle, jstring key,
                                                                  jlong delta) {
  try {
    return store(handle)->add(str(env, key), delta);
  } catch (...) {
    rethrowC10d(env);
    return 0;
  }
}

// Whether key exists, without waiting.
JNIEXPORT jboolean JNICALL Java_org_orpo4j_distributed_C10d_storeCheck(JNIEnv* env, jclass, jlong handle,
                                                                       jstring key) {
  try {
    return store(handle)->check({str(env, key)}) ? JNI_TRUE : JNI_FALSE;
  } catch (...) {
    rethrowC10d(env);
    return JNI_FALSE;
  }
}

JNIEXPORT void JNICALL Java_org_orpo4j_distributed_C10d_storeFree(JNIEnv*, jclass, jlong handle) {
  delete reinterpret_cast<StorePtr*>(handle);
}

// A Gloo process group over the store: one TCP device on the named interface (GLOO_SOCKET_IFNAME's meaning), or the
// one torch picks by default (this host's name, else loopback) when the name is empty.
JNIEXPORT jlong JNICALL Java_org_orpo4j_distributed_C10d_glooGroup(JNIEnv* env, jclass, jlong storeHandle, jint rank,
                                                                   jint size, jlong timeoutMs, jstring iface) {
  try {
    auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(timeoutMs));
    std::string name = str(env, iface);
    opts->devices.push_back(name.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                         : c10d::ProcessGroupGloo::createDeviceForInterface(name));
    GroupPtr pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store(storeHandle), rank, size, opts);
    return reinterpret_cast<jlong>(new GroupPtr(pg));
  } catch (...) {
    rethrowC10d(env);
    return 0;
  }
}

JNIEXPORT void JNICALL Java_org_orpo4j_distributed_C10d_groupFree(JNIEnv*, jclass, jlong handle) {
  delete reinterpret_cast<GroupPtr*>(handle);
}

// Averages the tensors over the group in place: one all-reduce (sum) of their flat float32 bucket, divided by the
// group's size (Gloo has no AVG), copied back into each tensor.
JNIEXPORT void JNICALL Java_org_orpo4j_distributed_C10d_allReduceMean(JNIEnv* env, jclass, jlong handle,
                                                                      jlongArray handles) {
  try {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> ts = tensors(env, handles);
    if (ts.empty()) {
      return;
    }
    std::vector<at::Tensor> bucket{flatBucket(ts)};
    group(handle)->allreduce(bucket)->wait();
    bucket[0].div_(group(handle)->getSize());
    unflatten(bucket[0], ts);
  } catch (...) {
    rethrowC10d(env);
  }
}

// Reduces one contiguous tensor in place: op 0 sum, 1 min, 2 max.
JNIEXPORT void JNICALL Java_org_orpo4j_distributed_C10d_allReduce(JNIEnv* env, jclass, jlong handle, jlong tensor,
                                                                  jint op) {
  try {
    torch::NoGradGuard noGrad;
    std::vector<at::Tensor> one{*reinterpret_cast<torch::Tensor*>(tensor)};
    c10d::AllreduceOptions opts;
    opts.reduceOp = op == 1 ? c10d::ReduceOp::MIN : op == 2 ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
    group(handle)->allreduce(one, opts)->wait();
  } catch (...) {
    rethrowC10d(env);
  }
}

// Every rank's tensors take root's values: one broadcast of their flat bucket.
JNIEXPORT void JNICALL Java_org_orpo4j_distributed_C10d_broadcast(JNIEnv* env, jclass, jlong handle,
                                                                  jlongArray handles, jint root) {
  try {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> ts = tensors(env, handles);
    if (ts.empty()) {
      return;
    }
    std::vector<at::Tensor> bucket{flatBucket(ts)};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    group(handle)->broadcast(bucket, opts)->wait();
    unflatten(bucket[0], ts);
  } catch (...) {
    rethrowC10d(env);
  }
}

JNIEXPORT void JNICALL Java_org_orpo4j_distributed_C10d_barrier(JNIEnv* env, jclass, jlong handle) {
  try {
    group(handle)->barrier()->wait();
  } catch (...) {
    rethrowC10d(env);
  }
}

}  // extern "C"
