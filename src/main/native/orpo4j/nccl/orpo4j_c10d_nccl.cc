// ProcessGroupNCCL for CUDA tensors: compiled only against a CUDA torch whose libtorch_cuda.so exports it (the build
// script decides, docs/distributed.md), never against DJL's CPU libtorch. Only the group's creation is NCCL's own:
// the collectives are orpo4j_c10d.cc's, called through c10d::Backend's virtual functions, and Java asks whether this
// unit is linked with C10d.ncclAvailable (a weak reference to the function below).
#define USE_C10D_NCCL
#include <jni.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <chrono>

namespace orpo4j {
void rethrowC10d(JNIEnv* env);  // orpo4j_c10d.cc: the C++ exception in flight as a DistributedException
}  // namespace orpo4j

extern "C" {

// An NCCL group over the store on CUDA device `device` (the rank's LOCAL_RANK, as torchrun scripts call
// torch.cuda.set_device): bound to it, so NCCL's communicator is made now (eager init) and barrier knows the device.
JNIEXPORT jlong JNICALL Java_org_orpo4j_distributed_C10d_ncclGroup(JNIEnv* env, jclass, jlong storeHandle, jint rank,
                                                                   jint size, jlong timeoutMs, jint device) {
  try {
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = std::chrono::milliseconds(timeoutMs);
    auto& store = *reinterpret_cast<c10::intrusive_ptr<c10d::Store>*>(storeHandle);
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
    pg->setBoundDeviceId(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device)));
    pg->eagerConnectSingleDevice(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device)));
    return reinterpret_cast<jlong>(new c10::intrusive_ptr<c10d::Backend>(pg));
  } catch (...) {
    orpo4j::rethrowC10d(env);
    return 0;
  }
}

}  // extern "C"
