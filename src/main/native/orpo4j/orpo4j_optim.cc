// torch's fused AdamW (aten::_fused_adamw_, what torch.optim.AdamW(fused=True) runs) over DJL's tensors: one kernel
// per group of tensors instead of a dozen element-wise ops per tensor, so an optimizer step reads and writes each
// parameter, gradient and moment once, and a GPU step is a few launches instead of thousands. Java peer:
// org.orpo4j.runtime.FusedOptim. Tensors are DJL's handles (torch::Tensor*), updated in place.
#include <jni.h>
#include <torch/torch.h>

#include <vector>

#include "orpo4j/handles.h"

using orpo4j::tensors;

extern "C" {

// One AdamW update of every tensor of a group (same dtype and device), moments updated in place; `step` is the
// update's number counted from 1, as torch's state["step"] after its increment. An empty group does nothing (Java
// calls it so to learn whether this library has the function).
JNIEXPORT void JNICALL Java_org_orpo4j_runtime_FusedOptim_fusedAdamw(JNIEnv* env, jclass, jlongArray jparams,
    jlongArray jgrads, jlongArray jexp_avgs, jlongArray jexp_avg_sqs, jlong step, jdouble lr, jdouble beta1,
    jdouble beta2, jdouble weight_decay, jdouble eps) {
  try {
    std::vector<at::Tensor> params = tensors(env, jparams);
    if (params.empty()) {
      return;
    }
    std::vector<at::Tensor> grads = tensors(env, jgrads);
    std::vector<at::Tensor> exp_avgs = tensors(env, jexp_avgs);
    std::vector<at::Tensor> exp_avg_sqs = tensors(env, jexp_avg_sqs);
    torch::NoGradGuard no_grad;
    // the kernel reads the step from a float32 tensor on the parameters' device, one per parameter
    at::Tensor count = at::full({}, static_cast<double>(step), params[0].options().dtype(at::kFloat));
    std::vector<at::Tensor> steps(params.size(), count);
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, lr, beta1, beta2, weight_decay, eps,
        /*amsgrad=*/false, /*maximize=*/false);
  } catch (const c10::Error& e) {
    env->ThrowNew(env->FindClass("java/lang/IllegalStateException"), e.what_without_backtrace());
  } catch (const std::exception& e) {
    env->ThrowNew(env->FindClass("java/lang/IllegalStateException"), e.what());
  }
}

}  // extern "C"
