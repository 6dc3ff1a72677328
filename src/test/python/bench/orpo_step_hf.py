"""One ORPO training step in PyTorch 2.x, the way people run it: transformers' LlamaForCausalLM, TRL's loss, AdamW.

The PyTorch side of org.orpo4j.bench.ReferenceBenchmark (docs/benchmarks.md), run with the reference venv
(src/test/python/requirements.txt: torch 2.7.1, transformers, TRL). Three modes:
  eager    model forward (transformers, attn_implementation as given, default sdpa as transformers picks), TRL's
           ORPOTrainer.concatenated_forward loss math (its get_batch_logps and odds_ratio_loss), backward,
           torch.optim.AdamW (foreach), each step timed
  compile  the same step with the model's forward and the loss under torch.compile (inductor, CPU: C++ codegen with
           the machine's g++ and OpenMP); compilation happens in the warm-up step, which is not timed
  trl      TRL's ORPOTrainer itself (trl_common.py's pre-tokenized rows: the same batch every step), float32, no
           gradient checkpointing, the Trainer's own loop; a callback times each optimizer step
Batch: B pairs, prompt P, chosen C, rejected R tokens: TRL's concatenated [2B, P + max(C, R)] batch, right-padded,
labels -100 on the prompt. Prints per-step times and one `RESULT k=v ...` line (peak RSS = VmHWM).
"""
import argparse
import os
import statistics
import sys
import time
import types

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

IGNORE = -100


def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def matmul_peak(n=2048):
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for i in range(11):
        t0 = time.perf_counter()
        a @ b
        if i > 0:
            best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best


def model(a):
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
                         num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
                         max_position_embeddings=max(2048, a.prompt + max(a.chosen, a.rejected)),
                         rms_norm_eps=1e-5, tie_word_embeddings=True, attn_implementation=a.attn)
    torch.manual_seed(1)
    m = LlamaForCausalLM(config)
    m.train()
    return m


def rows(a):
    """The pairs as token ids (random, fixed seed): prompt, chosen, rejected."""
    g = torch.Generator().manual_seed(7)

    def ids(n):
        return torch.randint(1, a.vocab, (n,), generator=g).tolist()
    return [{"prompt_ids": ids(a.prompt), "chosen_ids": ids(a.chosen), "rejected_ids": ids(a.rejected)}
            for _ in range(a.pairs)]


def batch(a, pairs):
    """TRL's concatenated batch: chosen rows then rejected rows, right-padded with 0, labels -100 on prompts."""
    t = a.prompt + max(a.chosen, a.rejected)
    ids, mask, labels = [], [], []
    for key in ("chosen_ids", "rejected_ids"):
        for p in pairs:
            seq = p["prompt_ids"] + p[key]
            pad = t - len(seq)
            ids.append(seq + [0] * pad)
            mask.append([1] * len(seq) + [0] * pad)
            labels.append([IGNORE] * len(p["prompt_ids"]) + p[key] + [IGNORE] * pad)
    return torch.tensor(ids), torch.tensor(mask), torch.tensor(labels)


def trl_loss(logits, ids, mask, labels, beta=0.1):
    """TRL's ORPOTrainer.concatenated_forward + get_batch_loss_metrics loss, with TRL's own functions."""
    from trl.experimental.orpo import ORPOTrainer
    b = ids.shape[0] // 2
    nll_labels = torch.where(mask == 1, ids, IGNORE)
    nll = F.cross_entropy(logits[:b, :-1].reshape(-1, logits.shape[-1]), nll_labels[:b, 1:].reshape(-1))
    logps = ORPOTrainer.get_batch_logps(logits, labels, average_log_prob=True)
    stub = types.SimpleNamespace(beta=beta, accelerator=types.SimpleNamespace(device=logits.device))
    losses = ORPOTrainer.odds_ratio_loss(stub, logps[:b], logps[b:])[0]
    return nll - losses.mean()


def manual_steps(a, m):
    ids, mask, labels = batch(a, rows(a))

    def forward_loss(ids, mask, labels):
        return trl_loss(m(input_ids=ids, attention_mask=mask, use_cache=False).logits, ids, mask, labels)
    step_fn = torch.compile(forward_loss) if a.mode == "compile" else forward_loss
    opt = torch.optim.AdamW(m.parameters(), lr=1e-5, weight_decay=0.0)
    times = []
    for s in range(a.steps + 1):
        profiler = None
        if a.profile and s == a.steps:
            profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            profiler.__enter__()
        t0 = time.perf_counter()
        loss = step_fn(ids, mask, labels)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=False)
        t3 = time.perf_counter()
        del loss
        if profiler is not None:
            profiler.__exit__(None, None, None)
            profiler.export_chrome_trace(a.profile)
        print(f"step {s}: total {t3 - t0:.3f} s (forward+loss {t1 - t0:.3f}, backward {t2 - t1:.3f}, "
              f"adamw {t3 - t2:.3f}); VmHWM {rss('VmHWM') >> 20} MB", flush=True)
        times.append(t3 - t0)
    return times[1:]


def trl_steps(a, m):
    import trl_common as tc
    from transformers import TrainerCallback
    times = []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter() - self.t0)
            print(f"step {len(times) - 1}: total {times[-1]:.3f} s; VmHWM {rss('VmHWM') >> 20} MB", flush=True)

    pairs = rows(a)
    data = [dict(prompt="", chosen="", rejected="", **pairs[i % a.pairs]) for i in range(a.pairs * (a.steps + 1))]
    settings = {"per_device_train_batch_size": a.pairs, "gradient_accumulation_steps": 1, "max_steps": a.steps + 1,
                "learning_rate": 1e-5, "beta": 0.1, "max_length": a.prompt + max(a.chosen, a.rejected) + 1}
    args = tc.orpo_config(settings, "/tmp/orpo4j-trl-bench")
    trainer = tc.PretokenizedOrpoTrainer(model=m, args=args, train_dataset=__import__("datasets").Dataset.from_list(
        data), processing_class=tc.stand_in_tokenizer(a.vocab))
    trainer.remove_callback(__import__("transformers").PrinterCallback)
    trainer.add_callback(Timer())
    trainer.train()
    return times[1:]


def main():
    ap = argparse.ArgumentParser()
    for name in ("vocab", "hidden", "layers", "heads", "kv-heads", "intermediate", "pairs", "prompt", "chosen",
                 "rejected", "steps", "threads"):
        ap.add_argument("--" + name, type=int, required=True)
    ap.add_argument("--flops", type=float, default=float("nan"), help="model FLOPs of one step (the Java side's)")
    ap.add_argument("--mode", choices=["eager", "compile", "trl"], default="eager")
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    ap.add_argument("--profile", help="write torch.profiler's Chrome trace of the last step (eager, compile) here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    peak = matmul_peak()
    m = model(a)
    params = sum(p.numel() for p in m.parameters())
    # the state before the first step as the Java side measures it: torch makes gradients and Adam moments in
    # step 1, so their 12 bytes per parameter are added to the RSS with the weights
    rss_state = rss("VmRSS") + 12 * params
    times = trl_steps(a, m) if a.mode == "trl" else manual_steps(a, m)
    median = statistics.median(times)
    peak_rss = rss("VmHWM")
    tokens = 2 * a.pairs * (a.prompt + max(a.chosen, a.rejected))
    print(f"RESULT impl=torch path={a.mode} attn={a.attn} step_median_s={median:.3f} step_min_s={min(times):.3f} "
          f"tokens_per_s={tokens / median:.1f} peak_rss_mb={peak_rss >> 20} state_mb={rss_state >> 20} "
          f"extra_mb={(peak_rss - rss_state) >> 20} mfu_pct={100 * a.flops / median / peak:.1f} "
          f"matmul_peak_gflops={peak / 1e9:.1f} params={params} torch={torch.__version__} "
          f"threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
