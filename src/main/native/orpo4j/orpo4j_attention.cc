// torch's scaled_dot_product_attention (transformers' attn_implementation="sdpa") over DJL's tensors: one fused
// kernel (flash attention on the CPU, flash or memory-efficient on CUDA) instead of matmul, softmax and matmul, so a
// layer neither materialises nor saves the [N, H, T, S] probabilities. Java peer: org.orpo4j.runtime.FusedAttention.
// The call records autograd history like any DJL op (grad mode is the calling thread's).
#include <jni.h>
#include <torch/torch.h>

#include <limits>

extern "C" {

// softmax(q·kᵀ·scale + mask)·v for q, k and v [N, H, T|S, D]; mask (0 for none) is additive, broadcast as
// [N|1, 1, T, S]; `causal` hides key j > query i instead (then mask is 0).
// Returns a new tensor handle; q == 0 returns 0 (Java calls it so to learn whether this library has the function).
JNIEXPORT jlong JNICALL Java_org_orpo4j_runtime_FusedAttention_sdpa(JNIEnv* env, jclass, jlong jq, jlong jk,
    jlong jv, jlong jmask, jboolean causal, jdouble scale) {
  if (jq == 0) {
    return 0;
  }
  try {
    const auto& q = *reinterpret_cast<torch::Tensor*>(jq);
    const auto& k = *reinterpret_cast<torch::Tensor*>(jk);
    const auto& v = *reinterpret_cast<torch::Tensor*>(jv);
    std::optional<at::Tensor> mask;
    if (jmask != 0) {
      at::Tensor m = *reinterpret_cast<torch::Tensor*>(jmask);
      if (m.scalar_type() != q.scalar_type()) {
        // the kernel adds the mask in the query's dtype: -FLT_MAX rounds to -inf in bf16 and fp16, and a row of
        // -inf makes NaN, so hidden keys get that dtype's lowest finite value instead (what HF's eager mask holds)
        double lowest = q.scalar_type() == at::kHalf ? -65504.0
            : q.scalar_type() == at::kBFloat16 ? -3.3895313892515355e38
            : std::numeric_limits<float>::lowest();
        m = m.clamp_min(lowest).to(q.scalar_type());
      }
      mask = m;
    }
    at::Tensor out = at::scaled_dot_product_attention(q, k, v, mask, /*dropout_p=*/0.0, causal, scale);
    return reinterpret_cast<jlong>(new torch::Tensor(std::move(out)));
  } catch (const c10::Error& e) {
    env->ThrowNew(env->FindClass("java/lang/IllegalStateException"), e.what_without_backtrace());
  } catch (const std::exception& e) {
    env->ThrowNew(env->FindClass("java/lang/IllegalStateException"), e.what());
  }
  return 0;
}

}  // extern "C"
