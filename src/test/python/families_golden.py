"""Golden values for the gemma, gemma2, gemma3_text, phi3 and smollm3 families, from hf_families_reference.py.

Run from the repository root with Debian's torch:  /usr/bin/python3 src/test/python/families_golden.py
Writes, like model_golden.py, src/test/resources/golden/model/<case>/{config.json, model.safetensors,
expected.safetensors, golden.json} (logits of a right-padded batch with a fully padded row, and a greedy
continuation by full recompute), and src/test/resources/golden/train/<case>/{tiny model, pairs, trajectory.json,
final.safetensors} for five training steps of gemma2 and phi3 (TRL ORPO + HF Trainer + torch AdamW, as
trainer_golden.py). The tiny configs make every difference from llama count: windows shorter than the sequences,
soft-caps below the scores' size, partial rotary, long RoPE factors, a layer without RoPE.
"""
import json
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_families_reference as fam  # noqa: E402
import hf_llama_reference as ref  # noqa: E402  (safetensors I/O only)
import trainer_golden as tg  # noqa: E402

OUT = os.path.join("src", "test", "resources", "golden")
VOCAB = 96
LENGTHS = [8, 5, 1, 0]
PAD = 0
GREEDY_TOKENS = 40

BASE = {"vocab_size": VOCAB, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "max_position_embeddings": 256,
        "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}

CASES = OrderedDict([
    # multi-query attention, head_dim 16 stated (not hidden / heads), tied
    ("gemma_geglu", ("BF16", {"architectures": ["GemmaForCausalLM"], "model_type": "gemma", "head_dim": 16,
                              "num_key_value_heads": 1, "hidden_act": "gelu_pytorch_tanh",
                              "hidden_activation": "gelu_pytorch_tanh", "rope_theta": 10000.0})),
    # layers 0 and 2 sliding (window 3), soft-caps that bite, query_pre_attn_scalar != head_dim
    ("gemma2_softcap", ("F32", {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "head_dim": 8,
                                "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 12,
                                "attn_logit_softcapping": 1.5, "final_logit_softcapping": 2.5, "sliding_window": 3,
                                "rope_theta": 10000.0})),
    # sliding layers 0 and 2 on the local RoPE base, layer 1 global with linear scaling; q/k norms; final cap
    ("gemma3_local_global", ("BF16", {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text",
                                      "head_dim": 8, "hidden_activation": "gelu_pytorch_tanh",
                                      "query_pre_attn_scalar": 16, "sliding_window": 3, "sliding_window_pattern": 2,
                                      "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
                                      "rope_scaling": {"rope_type": "linear", "factor": 8.0},
                                      "final_logit_softcapping": 4.0, "attn_logit_softcapping": None})),
    # fused projections, half the head rotated, longrope with its short factors (positions stay below 64)
    ("phi3_longrope", ("F32", {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_act": "silu",
                               "partial_rotary_factor": 0.5, "original_max_position_embeddings": 64,
                               "max_position_embeddings": 256, "sliding_window": 4, "rms_norm_eps": 1e-5,
                               "tie_word_embeddings": False, "rope_theta": 10000.0,
                               "rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.5],
                                                "long_factor": [2.0, 4.0]}})),
    # the long factors: an 8-token forward past original_max_position_embeddings 6
    ("phi3_long_factors", ("BF16", {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_act": "silu",
                                    "partial_rotary_factor": 0.5, "original_max_position_embeddings": 6,
                                    "max_position_embeddings": 96, "rms_norm_eps": 1e-5,
                                    "tie_word_embeddings": False, "rope_theta": 10000.0,
                                    "rope_scaling": {"rope_type": "longrope", "short_factor": [1.0, 1.5],
                                                     "long_factor": [2.0, 4.0]}})),
    # 4 layers, layer 3 without RoPE and the only one windowed (use_sliding_window)
    ("smollm3_nope", ("F32", {"architectures": ["SmolLM3ForCausalLM"], "model_type": "smollm3", "hidden_act": "silu",
                              "num_hidden_layers": 4, "rope_theta": 2000000.0, "use_sliding_window": True,
                              "sliding_window": 3, "tie_word_embeddings": True})),
])


def random_state(c, g, train=False):
    """HF-named tensors; norms random around their identity (1 for llama style, 0 for gemma's 1 + w)."""
    c = fam.with_defaults(c)
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    heads, kv, d = c["num_attention_heads"], c["num_key_value_heads"], fam.head_dim(c)
    gemma = c["model_type"] in fam.GEMMAS
    std = 0.1 if train else 0.2

    def normal(*shape, s=std):
        return torch.randn(*shape, generator=g) * s

    def norm(n):
        return normal(n, s=0.1) if gemma else 1.0 + normal(n, s=0.1)

    state = OrderedDict()
    state["model.embed_tokens.weight"] = normal(v, h, s=0.1 if train else (0.3 if gemma else 1.0))
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        if c["model_type"] == "phi3":
            state[p + "self_attn.qkv_proj.weight"] = normal((heads + 2 * kv) * d, h)
        else:
            for name, rows in (("q_proj", heads * d), ("k_proj", kv * d), ("v_proj", kv * d)):
                state[p + f"self_attn.{name}.weight"] = normal(rows, h)
        state[p + "self_attn.o_proj.weight"] = normal(h, heads * d)
        if c["model_type"] == "gemma3_text":
            state[p + "self_attn.q_norm.weight"] = norm(d)
            state[p + "self_attn.k_norm.weight"] = norm(d)
        if c["model_type"] == "phi3":
            state[p + "mlp.gate_up_proj.weight"] = normal(2 * i, h)
        else:
            state[p + "mlp.gate_proj.weight"] = normal(i, h)
            state[p + "mlp.up_proj.weight"] = normal(i, h)
        state[p + "mlp.down_proj.weight"] = normal(h, i)
        state[p + "input_layernorm.weight"] = norm(h)
        state[p + "post_attention_layernorm.weight"] = norm(h)
        if c["model_type"] in ("gemma2", "gemma3_text"):
            state[p + "pre_feedforward_layernorm.weight"] = norm(h)
            state[p + "post_feedforward_layernorm.weight"] = norm(h)
    state["model.norm.weight"] = norm(h)
    if not c["tie_word_embeddings"]:
        state["lm_head.weight"] = normal(v, h)
    return state


def greedy(state, c, prompt, new_tokens):
    ids = list(prompt)
    gap = float("inf")
    for _ in range(new_tokens):
        logits = fam.forward(state, c, torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.int64))[0, -1]
        top = torch.topk(logits, 2).values
        gap = min(gap, float(top[0] - top[1]))
        ids.append(int(torch.argmax(logits)))
    return ids[len(prompt):], gap


def write_config(folder, c):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")


def model_case(index, case, dtype, overrides):
    g = torch.Generator().manual_seed(2000 + index)
    c = dict(BASE)
    c.update(overrides)
    c["torch_dtype"] = {"F32": "float32", "BF16": "bfloat16"}[dtype]
    folder = os.path.join(OUT, "model", case)
    write_config(folder, c)
    ref.write_safetensors(os.path.join(folder, "model.safetensors"), random_state(c, g), dtype)
    state, c = ref.load_state(folder)  # the stored (rounded) values are the truth
    t = max(LENGTHS)
    ids = torch.full((len(LENGTHS), t), PAD, dtype=torch.int64)
    mask = torch.zeros((len(LENGTHS), t), dtype=torch.int64)
    for row, length in enumerate(LENGTHS):
        ids[row, :length] = torch.randint(3, VOCAB, (length,), generator=g)
        mask[row, :length] = 1
    with torch.no_grad():
        logits = fam.forward(state, c, ids, mask)
        assert torch.isfinite(logits).all(), case
        prompt = ids[0, :4].tolist()
        continuation, gap = greedy(state, c, prompt, GREEDY_TOKENS)
    ref.write_safetensors(os.path.join(folder, "expected.safetensors"), OrderedDict(logits=logits), "F32")
    golden = {"source": "src/test/python/families_golden.py via hf_families_reference.py (torch "
                        + torch.__version__ + ")",
              "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits_shape": list(logits.shape),
              "greedy_prompt": prompt, "greedy_tokens": continuation, "greedy_min_top2_gap": gap}
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump(golden, f)
        f.write("\n")
    print(f"{case}: logits max|.|={logits.abs().max():.3f} greedy gap={gap:.4f}")


def trajectory_case(case, overrides, seed):
    """As trainer_golden.trajectory_golden, on the family's forward (5 steps, accumulation 2, warmup 1)."""
    g = torch.Generator().manual_seed(seed)
    c = dict(BASE, vocab_size=32, num_hidden_layers=2, max_position_embeddings=64)
    c.update(overrides)
    c["torch_dtype"] = "float32"
    folder = os.path.join(OUT, "train", case)
    write_config(os.path.join(folder, "model"), c)
    state = random_state(c, g, train=True)
    ref.write_safetensors(os.path.join(folder, "model", "model.safetensors"), state)
    pairs = tg.tiny_pairs(g, 16, c["vocab_size"])
    with open(os.path.join(folder, "pairs.jsonl"), "w") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")
    batch, accumulation, steps, lr, warmup, beta, alpha, max_norm = 4, 2, 5, 1e-3, 1, 0.1, 1.0, 1.0
    params = {n: t.clone().requires_grad_(True) for n, t in state.items()}
    opt = torch.optim.AdamW(list(params.values()), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    micro = [pairs[i:i + batch] for i in range(0, len(pairs), batch)]
    cursor, log = 0, []
    for k in range(steps):
        metrics = []
        for _ in range(accumulation):
            ids, mask, labels = tg.collate(micro[cursor % len(micro)])
            cursor += 1
            logits = fam.forward(params, c, ids, mask)
            loss, m = tg.orpo_loss(logits, ids, mask, labels, beta, alpha)
            (loss / accumulation).backward()
            metrics.append(m)
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
        step_lr = tg.linear_lr(lr, warmup, steps, k)
        for group in opt.param_groups:
            group["lr"] = step_lr
        opt.step()
        opt.zero_grad()
        line = {"step": k + 1, "learning_rate": step_lr, "grad_norm": float(norm)}
        for name in metrics[0]:
            line[name] = sum(m[name] for m in metrics) / len(metrics)
        log.append(line)
    ref.write_safetensors(os.path.join(folder, "final.safetensors"), {n: p.detach() for n, p in params.items()})
    with open(os.path.join(folder, "trajectory.json"), "w") as f:
        json.dump({"per_device_train_batch_size": batch, "gradient_accumulation_steps": accumulation,
                   "max_steps": steps, "learning_rate": lr, "warmup_steps": warmup, "beta": beta, "alpha": alpha,
                   "max_grad_norm": max_norm, "log": log}, f, indent=1)
        f.write("\n")
    print(f"{case}: trajectory loss {log[0]['loss']:.5f} -> {log[-1]['loss']:.5f}")


def main():
    for index, (case, (dtype, overrides)) in enumerate(CASES.items()):
        model_case(index, case, dtype, overrides)
    trajectory_case("gemma2_tiny", CASES["gemma2_softcap"][1], 31)
    trajectory_case("phi3_tiny", CASES["phi3_longrope"][1], 32)


if __name__ == "__main__":
    main()
