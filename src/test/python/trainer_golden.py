"""Golden values for org.orpo4j.train: torch.optim.AdamW with torch.nn.utils.clip_grad_norm_ (adamw.json), and five
optimizer steps of TRL's ORPOTrainer on a tiny random llama from transformers (trajectory.json).

Run from the repository root with the reference venv (src/test/python/regenerate_goldens.sh runs every script):
    python src/test/python/trainer_golden.py
Outputs go to src/test/resources/golden/train/ and are committed; Java tests never run Python.
"""
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_common as hf  # noqa: E402

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


def pretokenized_rows(pairs):
    """Dataset rows for trl_common's PretokenizedOrpoTrainer (TRL's string columns are unused)."""
    return [{"prompt": "", "chosen": "", "rejected": "", "prompt_ids": p["prompt"], "chosen_ids": p["chosen"],
             "rejected_ids": p["rejected"]} for p in pairs]


def trajectory_golden(out_dir):
    """TRL's ORPOTrainer under the HF Trainer (trl_common.py): 5 optimizer steps, 4 pairs per micro-batch,
    accumulation 2, lr 1e-3 linear with 1 warmup step, file order (16 pairs = 2 steps per epoch, so epochs wrap)."""
    import trl_common as tc
    g = torch.Generator().manual_seed(11)
    config = dict(TINY_LLAMA)
    state = tiny_llama_state(config, g)
    pairs = tiny_pairs(g, 16, config["vocab_size"])
    model_dir = out_dir / "tiny_llama"
    hf.write_config(model_dir, config)
    hf.save_tensors(model_dir / "model.safetensors", state)
    with open(out_dir / "tiny_pairs.jsonl", "w") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2, "max_steps": 5,
                "learning_rate": 1e-3, "warmup_steps": 1, "beta": 0.1, "alpha": 1.0, "max_grad_norm": 1.0}
    log, trainer = tc.run_orpo(hf.load_model(model_dir), tc.stand_in_tokenizer(config["vocab_size"]),
                               pretokenized_rows(pairs), settings, pretokenized=True)
    hf.save_tensors(out_dir / "trajectory_final.safetensors", tc.trained_state(trainer.model, state.keys()))
    hf.write_json(out_dir / "trajectory.json", dict(tc.settings_record(settings), log=log), indent=1)


def main():
    hf.deterministic()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "adamw.json").write_text(json.dumps(adamw_golden()) + "\n")
    trajectory_golden(OUT)


if __name__ == "__main__":
    main()
