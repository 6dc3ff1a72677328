"""Golden values for org.orpo4j.train, computed with torch.optim.AdamW and torch.nn.utils.clip_grad_norm_.

Run from the repository root with the system Python that has torch (1.13):
    /usr/bin/python3 src/test/python/trainer_golden.py
Outputs go to src/test/resources/golden/train/ and are committed; Java tests never run Python.
"""
import json
import math
from pathlib import Path

import torch

OUT = Path("src/test/resources/golden/train")


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


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "adamw.json").write_text(json.dumps(adamw_golden()) + "\n")


if __name__ == "__main__":
    main()
