"""One full ORPO training step in PyTorch eager (forward, TRL's ORPO loss, backward, torch.optim.AdamW), timed.

The PyTorch side of orpo4j's OrpoStepBenchmark (src/test/java/org/orpo4j/bench): the same llama-family model
(tied embeddings, random N(0, 0.02) weights), the same batch shape and the same thread count. The forward is the
independent HF reference (src/test/python/hf_llama_reference.py: RMSNorm, RoPE, GQA, SwiGLU) with the additive
mask built once per forward, as HF does; the loss is TRL's ORPOTrainer.odds_ratio_loss + concatenated_forward.
Prints per-step times and one `RESULT k=v ...` line. Run with /usr/bin/python3 (Debian's torch 1.13, OpenBLAS).
On a GPU (`--device cuda`) the weights stay float32 and `--dtype bf16|fp16` trains under torch.autocast, as HF
Trainer's bf16/fp16 do (fp16 with a GradScaler); step times are taken after torch.cuda.synchronize().
`--lora-r R` trains PEFT's LoRA on q_proj and v_proj (alpha 2R, no dropout: y = xW^T + 2 (xA^T)B^T) over a frozen
base, which under bf16/fp16 is stored in that type (a model loaded with torch_dtype=bfloat16); `--compile` runs the
forward and the loss under torch.compile (its compilation falls in the warm-up steps); `--sdpa` attends through
F.scaled_dot_product_attention as transformers' attn_implementation="sdpa" does (is_causal and no mask when nothing
is padded).
"""
import contextlib
import argparse
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import torch.utils.checkpoint

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import hf_llama_reference as ref  # noqa: E402


def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


SDPA = False  # --sdpa: attention through F.scaled_dot_product_attention


def sdpa_attention(x, state, p, config, cos, sin, mask):
    """ref.attention with the scores, softmax and weighted values in one fused kernel; mask None: causal."""
    n, t, _ = x.shape
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    d = ref.head_dim(config)
    q = ref.linear(x, state, p + ".q_proj").view(n, t, heads, d).transpose(1, 2)
    k = ref.linear(x, state, p + ".k_proj").view(n, t, kv_heads, d).transpose(1, 2)
    v = ref.linear(x, state, p + ".v_proj").view(n, t, kv_heads, d).transpose(1, 2)
    q = q * cos + ref.rotate_half(q) * sin
    k = k * cos + ref.rotate_half(k) * sin
    k = ref.repeat_kv(k, heads // kv_heads)
    v = ref.repeat_kv(v, heads // kv_heads)
    if mask is None:
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    else:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.clamp_min(torch.finfo(q.dtype).min).to(q.dtype))
    return ref.linear(out.transpose(1, 2).reshape(n, t, heads * d), state, p + ".o_proj")


def hidden_states(state, config, input_ids, attention_mask, checkpoint=False):
    n, t = input_ids.shape
    eps = config["rms_norm_eps"]
    device = input_ids.device
    positions = torch.arange(t, dtype=torch.int64)[None, :]
    freqs = (ref.inv_freq(config)[None, :, None].float() @ positions[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None, :, :].to(device), emb.sin()[:, None, :, :].to(device)
    unpadded = SDPA and bool(attention_mask.all())
    mask = None if unpadded else ref.causal_mask(config, attention_mask.cpu(), t, 0).to(device)  # once, as HF
    h = F.embedding(input_ids, state["model.embed_tokens.weight"])
    attention = sdpa_attention if SDPA else ref.attention

    def layer(h, p):
        h = h + attention(ref.rms_norm(h, state[p + ".input_layernorm.weight"], eps), state, p + ".self_attn",
                              config, cos, sin, mask)
        return h + ref.mlp(ref.rms_norm(h, state[p + ".post_attention_layernorm.weight"], eps), state, p + ".mlp")

    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}"
        if checkpoint:  # HF's gradient_checkpointing: one torch.utils.checkpoint per decoder layer
            h = torch.utils.checkpoint.checkpoint(layer, h, p, use_reentrant=False)
        else:
            h = layer(h, p)
    return ref.rms_norm(h, state["model.norm.weight"], eps)


def orpo_loss(logits, input_ids, attention_mask, labels, beta=0.1):
    """TRL ORPOTrainer: average completion log-probs, NLL over the chosen rows' full sequence, log-sigmoid odds."""
    b = input_ids.shape[0] // 2
    shift_logits = logits[:, :-1, :]
    shift_labels = labels[:, 1:].clone()
    mask = shift_labels != -100
    shift_labels[~mask] = 0
    logp = shift_logits.log_softmax(-1)
    per_token = torch.gather(logp, 2, shift_labels.unsqueeze(2)).squeeze(2)
    logps = (per_token * mask).sum(-1) / mask.sum(-1)
    nll_labels = input_ids[:b, 1:].clone()
    nll_labels[attention_mask[:b, 1:] == 0] = -100
    nll = F.cross_entropy(shift_logits[:b].reshape(-1, shift_logits.shape[-1]), nll_labels.reshape(-1),
                          ignore_index=-100)
    chosen, rejected = logps[:b], logps[b:]
    log_odds = (chosen - rejected) - (torch.log1p(-torch.exp(chosen)) - torch.log1p(-torch.exp(rejected)))
    ratio = F.logsigmoid(log_odds)
    return nll - beta * ratio.mean()


def lora(state, r, device):
    """PEFT's LoRA on every q_proj and v_proj: ref.linear adds 2 (x A^T) B^T; A random, B zero (PEFT's start)."""
    adapters = {}
    for name, weight in state.items():
        if name.endswith((".q_proj.weight", ".v_proj.weight")):
            out_features, in_features = weight.shape
            adapters[name[: -len(".weight")]] = (
                (torch.randn(r, in_features) / math.sqrt(in_features)).to(device).requires_grad_(),
                torch.zeros(out_features, r, device=device, requires_grad=True))
    base = ref.linear

    def linear(x, state, prefix):
        y = base(x, state, prefix)
        if prefix not in adapters:
            return y
        down, up = adapters[prefix]
        return y + (x @ down.t().to(x.dtype)) @ up.t().to(x.dtype) * 2.0

    ref.linear = linear
    return [t for pair in adapters.values() for t in pair]


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device, dtype=torch.float32):
    n = 8192 if device.type == "cuda" else 2048
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for i in range(6):
        sync(device)
        t0 = time.perf_counter()
        a @ b
        sync(device)
        s = time.perf_counter() - t0
        if i > 0:
            best = min(best, s)
    return 2.0 * n ** 3 / best


def main():
    ap = argparse.ArgumentParser()
    for name in ("vocab", "hidden", "layers", "heads", "kv-heads", "intermediate", "pairs", "length", "steps",
                 "threads"):
        ap.add_argument("--" + name, type=int, required=True)
    ap.add_argument("--flops", type=float, required=True, help="model FLOPs of one step (from the Java side)")
    ap.add_argument("--params", type=int, required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--checkpoint", action="store_true", help="torch.utils.checkpoint around every decoder layer")
    ap.add_argument("--lora-r", type=int, default=0, help="LoRA rank on q_proj and v_proj (0: full fine-tuning)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the forward and the loss")
    ap.add_argument("--sdpa", action="store_true", help="attention through F.scaled_dot_product_attention")
    a = ap.parse_args()
    global SDPA
    SDPA = a.sdpa
    device = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    torch.manual_seed(1)
    peak = matmul_peak(device)
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.dtype)
    peak_half = matmul_peak(device, half) if half is not None and device.type == "cuda" else float("nan")
    rss_start = rss("VmRSS")
    config = {"model_type": "llama", "vocab_size": a.vocab, "hidden_size": a.hidden, "num_hidden_layers": a.layers,
              "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads, "intermediate_size": a.intermediate,
              "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": True}
    d = a.hidden // a.heads
    shapes = {"model.embed_tokens.weight": (a.vocab, a.hidden)}
    for i in range(a.layers):
        p = f"model.layers.{i}"
        shapes.update({p + ".self_attn.q_proj.weight": (a.heads * d, a.hidden),
                       p + ".self_attn.k_proj.weight": (a.kv_heads * d, a.hidden),
                       p + ".self_attn.v_proj.weight": (a.kv_heads * d, a.hidden),
                       p + ".self_attn.o_proj.weight": (a.hidden, a.heads * d),
                       p + ".mlp.gate_proj.weight": (a.intermediate, a.hidden),
                       p + ".mlp.up_proj.weight": (a.intermediate, a.hidden),
                       p + ".mlp.down_proj.weight": (a.hidden, a.intermediate),
                       p + ".input_layernorm.weight": (a.hidden,),
                       p + ".post_attention_layernorm.weight": (a.hidden,)})
    shapes["model.norm.weight"] = (a.hidden,)
    state = {k: (torch.ones(s) if len(s) == 1 else torch.randn(s) * 0.02).to(device).requires_grad_(a.lora_r == 0)
             for k, s in shapes.items()}
    params = sum(t.numel() for t in state.values())
    assert params == a.params, (params, a.params)
    trained = list(state.values())
    if a.lora_r:
        if half is not None:
            state = {k: v.to(half) for k, v in state.items()}
        trained = lora(state, a.lora_r, device)
    opt = torch.optim.AdamW(trained, lr=1e-5, weight_decay=0.0)
    # the state before the first step as the Java side measures it: torch makes gradients and Adam moments in
    # step 1, so their 12 bytes per trained parameter are added to the RSS with the weights
    rss_state = rss("VmRSS") + 12 * sum(t.numel() for t in trained)

    def forward_loss(input_ids, attention_mask, labels):
        with torch.autocast(device.type, dtype=half) if half is not None else contextlib.nullcontext():
            logits = (hidden_states(state, config, input_ids, attention_mask, a.checkpoint)
                      @ state["model.embed_tokens.weight"].t())
        return orpo_loss(logits.float(), input_ids, attention_mask, labels)

    step_loss = torch.compile(forward_loss) if a.compile else forward_loss

    rows, t = 2 * a.pairs, a.length
    g = torch.Generator().manual_seed(7)
    input_ids = torch.randint(1, a.vocab, (rows, t), generator=g).to(device)
    attention_mask = torch.ones(rows, t, dtype=torch.int64).to(device)
    labels = input_ids.clone()
    labels[:, : t // 4] = -100
    scaler = torch.amp.GradScaler(device.type) if a.dtype == "fp16" else None

    times = []
    cpu_times = []  # process CPU time: what the step cost when other processes share the cores
    for s in range(a.steps + a.warmup):
        sync(device)
        t0 = time.perf_counter()
        c0 = time.process_time()
        loss = step_loss(input_ids, attention_mask, labels)
        sync(device)
        t1 = time.perf_counter()
        (scaler.scale(loss) if scaler else loss).backward()
        sync(device)
        t2 = time.perf_counter()
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=False)
        sync(device)
        t3 = time.perf_counter()
        del loss
        print(f"step {s}: total {t3 - t0:.3f} s (forward+loss {t1 - t0:.3f}, backward {t2 - t1:.3f}, "
              f"adamw {t3 - t2:.3f})", flush=True)
        if s >= a.warmup:
            times.append(t3 - t0)
            cpu_times.append(time.process_time() - c0)
    median = statistics.median(times)
    peak_rss = rss("VmHWM")
    mb = 1024 * 1024
    print(f"RESULT step_median_s={median:.3f} step_min_s={min(times):.3f} tokens_per_s={rows * t / median:.1f} "
          f"peak_rss_mb={peak_rss // mb} state_mb={rss_state // mb} extra_mb={(peak_rss - rss_state) // mb} "
          f"rss_start_mb={rss_start // mb} rss_end_mb={rss('VmRSS') // mb} mfu_pct={100 * a.flops / median / peak:.1f} "
          f"matmul_peak_gflops={peak / 1e9:.1f} params={params} torch={torch.__version__} "
          f"threads={torch.get_num_threads()} device={a.device} dtype={a.dtype} lora_r={a.lora_r} compile={a.compile} "
          f"half_matmul_peak_gflops={peak_half / 1e9:.1f} cpu_median_s={statistics.median(cpu_times):.3f} "
          f"step_times_s={','.join(f'{x:.3f}' for x in times)} cpu_times_s={','.join(f'{x:.3f}' for x in cpu_times)} "
          f"gpu_peak_alloc_mb={torch.cuda.max_memory_allocated() // mb if device.type == 'cuda' else -1}")


if __name__ == "__main__":
    main()
