"""Golden values for the gemma, gemma2, gemma3_text, phi3 and smollm3 families, from transformers and TRL.

Run from the repository root with the reference venv (src/test/python/regenerate_goldens.sh runs every script):
    python src/test/python/families_golden.py
Writes, like model_golden.py, src/test/resources/golden/model/<case>/{config.json, model.safetensors,
expected.safetensors, golden.json} (logits of a right-padded batch with a fully padded row, and a greedy
continuation by full recompute, from transformers' AutoModelForCausalLM with eager attention in float32), and
src/test/resources/golden/train/<case>/{tiny model, pairs, trajectory.json, final.safetensors} for five training
steps of gemma2 and phi3 by TRL's ORPOTrainer (trl_common.py). The tiny configs make every difference from llama
count: windows shorter than the sequences, soft-caps below the scores' size, partial rotary, long RoPE factors, a
layer without RoPE.
"""
import json
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common as hf  # noqa: E402
import trainer_golden as tg  # noqa: E402
import trl_common as tc  # noqa: E402

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


GEMMAS = ("gemma", "gemma2", "gemma3_text")
TIED_BY_DEFAULT = GEMMAS + ("smollm3",)


def random_state(c, g, train=False):
    """HF-named tensors; norms random around their identity (1 for llama style, 0 for gemma's 1 + w)."""
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    d = c.get("head_dim") or h // heads
    gemma = c["model_type"] in GEMMAS
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
    if not c.get("tie_word_embeddings", c["model_type"] in TIED_BY_DEFAULT):
        state["lm_head.weight"] = normal(v, h)
    return state


def model_case(index, case, dtype, overrides):
    g = torch.Generator().manual_seed(2000 + index)
    c = dict(BASE)
    c.update(overrides)
    c["torch_dtype"] = {"F32": "float32", "BF16": "bfloat16"}[dtype]
    folder = os.path.join(OUT, "model", case)
    hf.write_config(folder, c)
    hf.save_tensors(os.path.join(folder, "model.safetensors"), random_state(c, g), dtype)
    model = hf.load_model(folder)  # the stored (rounded) values are the truth
    t = max(LENGTHS)
    ids = torch.full((len(LENGTHS), t), PAD, dtype=torch.int64)
    mask = torch.zeros((len(LENGTHS), t), dtype=torch.int64)
    for row, length in enumerate(LENGTHS):
        ids[row, :length] = torch.randint(3, VOCAB, (length,), generator=g)
        mask[row, :length] = 1
    logits = hf.logits(model, ids, mask)
    assert torch.isfinite(logits).all(), case
    prompt = ids[0, :4].tolist()
    continuation, gap = hf.greedy(model, prompt, GREEDY_TOKENS)
    hf.save_tensors(os.path.join(folder, "expected.safetensors"), OrderedDict(logits=logits))
    golden = {"source": "src/test/python/families_golden.py: transformers AutoModelForCausalLM, eager, float32 ("
                        + hf.versions() + ")",
              "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits_shape": list(logits.shape),
              "greedy_prompt": prompt, "greedy_tokens": continuation, "greedy_min_top2_gap": gap}
    hf.write_json(os.path.join(folder, "golden.json"), golden)
    print(f"{case}: logits max|.|={logits.abs().max():.3f} greedy gap={gap:.4f}")


def trajectory_case(case, overrides, seed):
    """Five steps of TRL's ORPOTrainer on the family's tiny model (4 pairs per micro-batch, accumulation 2, lr 1e-3,
    1 warmup step, 16 pairs in file order so that epochs wrap), as trainer_golden.trajectory_golden."""
    g = torch.Generator().manual_seed(seed)
    c = dict(BASE, vocab_size=32, num_hidden_layers=2, max_position_embeddings=64)
    c.update(overrides)
    c["torch_dtype"] = "float32"
    folder = os.path.join(OUT, "train", case)
    hf.write_config(os.path.join(folder, "model"), c)
    state = random_state(c, g, train=True)
    hf.save_tensors(os.path.join(folder, "model", "model.safetensors"), state)
    pairs = tg.tiny_pairs(g, 16, c["vocab_size"])
    with open(os.path.join(folder, "pairs.jsonl"), "w") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2, "max_steps": 5,
                "learning_rate": 1e-3, "warmup_steps": 1, "beta": 0.1, "alpha": 1.0, "max_grad_norm": 1.0}
    model = hf.load_model(os.path.join(folder, "model"))
    log, trainer = tc.run_orpo(model, tc.stand_in_tokenizer(c["vocab_size"]), tg.pretokenized_rows(pairs), settings,
                               pretokenized=True)
    hf.save_tensors(os.path.join(folder, "final.safetensors"), tc.trained_state(trainer.model, state.keys()))
    hf.write_json(os.path.join(folder, "trajectory.json"), dict(tc.settings_record(settings), log=log), indent=1)
    print(f"{case}: trajectory loss {log[0]['loss']:.5f} -> {log[-1]['loss']:.5f}")


def main():
    hf.deterministic()
    for index, (case, (dtype, overrides)) in enumerate(CASES.items()):
        model_case(index, case, dtype, overrides)
    trajectory_case("gemma2_tiny", CASES["gemma2_softcap"][1], 31)
    trajectory_case("phi3_tiny", CASES["phi3_longrope"][1], 32)


if __name__ == "__main__":
    main()
