"""Golden values for org.orpo4j.train, computed with torch.optim.AdamW and torch.nn.utils.clip_grad_norm_.

Run from the repository root with the system Python that has torch (1.13):
    /usr/bin/python3 src/test/python/trainer_golden.py
Outputs go to src/test/resources/golden/train/ and are committed; Java tests never run Python.
"""
import json
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_llama_reference as ref  # noqa: E402  (the model helper's independent HF forward)

OUT = Path("src/test/resources/golden/train")
PAD = 0
IGNORE = -100


def adamw_golden():
    """Five AdamW steps with clipping, weight decay on 'w' only (a bias and a norm weight are exempt, as HF),
    and a different learning rate per step (what a schedule feeds the optimizer)."""
    g = torch.Generator().manual_seed(3)
    params = {
        "model.layers.0.mlp.up_proj.weight": torch.randn(3, 4, generator=g),
        "model.layers.0.self_attn.q_proj.bias": torch.randn(4, generator=g),
        "model.layers.0.input_layernorm.weight": torch.randn(4, generator=g),
    }
    decay = ["model.layers.0.mlp.up_proj.weight"]
    no_decay = [n for n in params if n not in decay]
    tensors = {n: p.clone().requires_grad_(True) for n, p in params.items()}
    wd = 0.1
    opt = torch.optim.AdamW(
        [{"params": [tensors[n] for n in decay], "weight_decay": wd},
         {"params": [tensors[n] for n in no_decay], "weight_decay": 0.0}],
        lr=1.0, betas=(0.9, 0.999), eps=1e-8)
    lrs = [0.0, 1e-2, 5e-3, 2e-2, 1e-3]
    max_norm = 2.0
    steps = []
    for lr in lrs:
        grads = {n: (torch.randn(p.shape, generator=g) * 1.5) for n, p in params.items()}
        for n, t in tensors.items():
            t.grad = grads[n].clone()
        norm = torch.nn.utils.clip_grad_norm_(list(tensors.values()), max_norm)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        steps.append({"lr": lr, "grads": {n: v.flatten().tolist() for n, v in grads.items()},
                      "grad_norm": float(norm)})
    state = {}
    for n, t in tensors.items():
        s = opt.state[t]
        state[n] = {"exp_avg": s["exp_avg"].flatten().tolist(), "exp_avg_sq": s["exp_avg_sq"].flatten().tolist(),
                    "step": float(s["step"])}
    return {
        "weight_decay": wd, "max_norm": max_norm, "betas": [0.9, 0.999], "eps": 1e-8,
        "initial": {n: {"shape": list(p.shape), "values": p.flatten().tolist()} for n, p in params.items()},
        "steps": steps,
        "final": {n: t.detach().flatten().tolist() for n, t in tensors.items()},
        "state": state,
    }


TINY_LLAMA = {
    "hidden_act": "silu", "vocab_size": 32, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
    "max_position_embeddings": 64, "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2,
    "pad_token_id": 0, "torch_dtype": "float32", "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False,
}


def tiny_llama_state(config, g):
    """Random weights N(0, 0.1), norms around 1 (perturbed so their gradients matter)."""
    h, i, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    kv = config["num_key_value_heads"] * h // config["num_attention_heads"]
    shapes = {"model.embed_tokens.weight": (v, h)}
    for l in range(config["num_hidden_layers"]):
        p = f"model.layers.{l}"
        shapes.update({
            p + ".self_attn.q_proj.weight": (h, h), p + ".self_attn.k_proj.weight": (kv, h),
            p + ".self_attn.v_proj.weight": (kv, h), p + ".self_attn.o_proj.weight": (h, h),
            p + ".mlp.gate_proj.weight": (i, h), p + ".mlp.up_proj.weight": (i, h),
            p + ".mlp.down_proj.weight": (h, i),
            p + ".input_layernorm.weight": (h,), p + ".post_attention_layernorm.weight": (h,)})
    shapes["model.norm.weight"] = (h,)
    shapes["lm_head.weight"] = (v, h)
    state = {}
    for name, shape in shapes.items():
        if "norm" in name:
            state[name] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            state[name] = 0.1 * torch.randn(shape, generator=g)
    return state


def tiny_pairs(g, n, vocab):
    """Pre-tokenized pairs: prompt starts with BOS (1), answers end with EOS (2); ids 3..vocab-1 otherwise."""
    pairs = []
    for _ in range(n):
        def ids(k):
            return torch.randint(3, vocab, (k,), generator=g).tolist()
        prompt = [1] + ids(int(torch.randint(1, 5, (1,), generator=g)))
        chosen = ids(int(torch.randint(1, 4, (1,), generator=g))) + [2]
        rejected = ids(int(torch.randint(1, 5, (1,), generator=g))) + [2]
        pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return pairs


def collate(pairs):
    """TRL's concatenated batch: chosen rows then rejected rows, right-padded with PAD, labels -100 on prompts."""
    rows, labels = [], []
    for key in ("chosen", "rejected"):
        for p in pairs:
            rows.append(p["prompt"] + p[key])
            labels.append([IGNORE] * len(p["prompt"]) + p[key])
    t = max(len(r) for r in rows)
    ids = torch.tensor([r + [PAD] * (t - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (t - len(r)) for r in rows])
    lab = torch.tensor([l + [IGNORE] * (t - len(l)) for l in labels])
    return ids, mask, lab


def orpo_loss(logits, ids, mask, labels, beta, alpha):
    """TRL ORPOTrainer.get_batch_loss_metrics: nll over the chosen rows' full sequences, odds-ratio term on
    length-averaged completion log-probs."""
    b = ids.shape[0] // 2
    full = torch.where(mask == 1, ids, torch.full_like(ids, IGNORE))
    nll = torch.nn.functional.cross_entropy(logits[:b, :-1].reshape(-1, logits.shape[-1]), full[:b, 1:].reshape(-1),
                                            ignore_index=IGNORE)
    tgt = labels[:, 1:].clone()
    keep = tgt != IGNORE
    tgt[~keep] = 0
    per_token = torch.gather(logits[:, :-1].log_softmax(-1), 2, tgt.unsqueeze(2)).squeeze(2)
    logps = (per_token * keep).sum(-1) / keep.sum(-1)
    chosen, rejected = logps[:b], logps[b:]
    log_odds = (chosen - rejected) - (torch.log1p(-torch.exp(chosen)) - torch.log1p(-torch.exp(rejected)))
    ratio = torch.nn.functional.logsigmoid(log_odds)
    loss = nll - alpha * beta * ratio.mean()
    rc, rr = beta * chosen.detach(), beta * rejected.detach()
    metrics = {
        "loss": float(loss), "nll_loss": float(nll), "log_odds_ratio": float(ratio.mean()),
        "log_odds_chosen": float(log_odds.mean()), "rewards/chosen": float(rc.mean()),
        "rewards/rejected": float(rr.mean()), "rewards/accuracies": float((rc > rr).float().mean()),
        "rewards/margins": float((rc - rr).mean()), "logps/chosen": float(chosen.mean()),
        "logps/rejected": float(rejected.mean()), "logits/chosen": float(logits[:b, :-1].detach().mean()),
        "logits/rejected": float(logits[b:, :-1].detach().mean()),
    }
    # orpo4j's shared-prompt layout computes no padding: its logits/* average the real predicting positions
    real = mask[:, 1:].to(logits.dtype).unsqueeze(-1)
    vocab = logits.shape[-1]
    for name, rows in (("chosen", slice(0, b)), ("rejected", slice(b, 2 * b))):
        z = logits[rows, :-1].detach()
        metrics["real_logits/" + name] = float((z * real[rows]).sum() / (real[rows].sum() * vocab))
    return loss, metrics


def linear_lr(base, warmup, total, k):
    if k < warmup:
        return base * k / max(1, warmup)
    return base * max(0.0, (total - k) / max(1, total - warmup))


def trajectory_golden(out_dir):
    """HF Trainer + TRL ORPO + torch AdamW: 5 optimizer steps, 4 pairs per micro-batch, accumulation 2,
    lr 1e-3 linear with 1 warmup step, file order (16 pairs = 2 steps per epoch, so epochs wrap)."""
    g = torch.Generator().manual_seed(11)
    config = dict(TINY_LLAMA)
    state = tiny_llama_state(config, g)
    pairs = tiny_pairs(g, 16, config["vocab_size"])
    model_dir = out_dir / "tiny_llama"
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    ref.write_safetensors(model_dir / "model.safetensors", state)
    with open(out_dir / "tiny_pairs.jsonl", "w") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")

    batch, accumulation, steps, lr, warmup, beta, alpha, max_norm = 4, 2, 5, 1e-3, 1, 0.1, 1.0, 1.0
    params = {n: t.clone().requires_grad_(True) for n, t in state.items()}
    decay = [p for n, p in params.items() if not any(k in n for k in ("bias", "norm"))]
    no_decay = [p for n, p in params.items() if any(k in n for k in ("bias", "norm"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.0}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)
    micro = [pairs[i:i + batch] for i in range(0, len(pairs), batch)]  # file order, same every epoch
    cursor = 0
    log = []
    for k in range(steps):
        metrics = []
        for _ in range(accumulation):
            ids, mask, labels = collate(micro[cursor % len(micro)])
            cursor += 1
            logits = ref.forward(params, config, ids, mask)
            loss, m = orpo_loss(logits, ids, mask, labels, beta, alpha)
            (loss / accumulation).backward()
            metrics.append(m)
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
        step_lr = linear_lr(lr, warmup, steps, k)
        for group in opt.param_groups:
            group["lr"] = step_lr
        opt.step()
        opt.zero_grad()
        line = {"step": k + 1, "learning_rate": step_lr, "grad_norm": float(norm)}
        for name in metrics[0]:
            line[name] = sum(m[name] for m in metrics) / len(metrics)
        log.append(line)
    ref.write_safetensors(out_dir / "trajectory_final.safetensors", {n: p.detach() for n, p in params.items()})
    (out_dir / "trajectory.json").write_text(json.dumps({
        "per_device_train_batch_size": batch, "gradient_accumulation_steps": accumulation, "max_steps": steps,
        "learning_rate": lr, "warmup_steps": warmup, "beta": beta, "alpha": alpha, "max_grad_norm": max_norm,
        "log": log}, indent=1) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "adamw.json").write_text(json.dumps(adamw_golden()) + "\n")
    trajectory_golden(OUT)


if __name__ == "__main__":
    main()
