"""Golden logits for org.orpo4j.model: tiny random checkpoints of each family and the reference forward's logits.

Run from the repository root with the reference venv (src/test/python/regenerate_goldens.sh runs every script):
    python src/test/python/model_golden.py
Writes src/test/resources/golden/model/<case>/{config.json, model.safetensors, expected.safetensors, golden.json}:
the weights (stored as F32, F16 or BF16 to exercise each loader path), the logits [N, T, V] of a right-padded batch
with one fully padded row (F32, tensor "logits"), the batch itself, and a 20-token greedy continuation.
Every value is computed by transformers' own model (AutoModelForCausalLM, eager attention, float32) loaded from the
folder just written, so the stored (rounded) weights are the truth.
"""
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common as hf  # noqa: E402

OUT = os.path.join("src", "test", "resources", "golden", "model")
VOCAB = 128
LENGTHS = [8, 5, 1, 0]  # right padding; the last row is all padding
PAD = 0
GREEDY_TOKENS = 20

BASE = {
    "hidden_act": "silu", "vocab_size": VOCAB, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
    "max_position_embeddings": 256, "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2,
    "torch_dtype": "float32",
}

CASES = OrderedDict([
    ("llama_untied", ("F32", {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                              "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False})),
    # Llama 3.2 style: tied embeddings, rope_theta 500000 and llama3 rope scaling hitting all three bands
    ("llama_tied_rope_scaling", ("BF16", {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                          "tie_word_embeddings": True, "rope_theta": 500000.0,
                                          "eos_token_id": [2, 3],
                                          "rope_scaling": {"rope_type": "llama3", "factor": 32.0,
                                                           "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                           "original_max_position_embeddings": 256}})),
    # q/k/v biases; a window of 4 on layer 1 only (max_window_layers 1), as Qwen2 windows the upper layers
    ("qwen2_bias", ("F16", {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
                            "tie_word_embeddings": False, "rope_theta": 1000000.0, "use_sliding_window": True,
                            "sliding_window": 4, "max_window_layers": 1})),
    # head_dim 16 with hidden 32 and 4 heads: q_proj is 32 -> 64
    ("qwen3_qk_norm", ("BF16", {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
                                "tie_word_embeddings": False, "head_dim": 16, "attention_bias": False,
                                "rope_theta": 1000000.0, "use_sliding_window": False})),
    # a window of 5 on 8 tokens, so the sliding-window mask matters
    ("mistral_window", ("BF16", {"architectures": ["MistralForCausalLM"], "model_type": "mistral",
                                 "tie_word_embeddings": False, "sliding_window": 5})),
])


def random_state(config, generator):
    """HF-named tensors; norms and biases are random too so that every parameter shows in the logits."""
    h, i, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    d = config.get("head_dim") or h // heads
    qwen2 = config["model_type"] == "qwen2"
    qwen3 = config["model_type"] == "qwen3"

    def normal(*shape, std=0.2):
        return torch.randn(*shape, generator=generator) * std

    def norm(n):
        return 1.0 + normal(n, std=0.1)

    state = OrderedDict()
    state["model.embed_tokens.weight"] = normal(v, h, std=1.0)
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        for name, rows in (("q_proj", heads * d), ("k_proj", kv * d), ("v_proj", kv * d)):
            state[p + f"self_attn.{name}.weight"] = normal(rows, h)
            if qwen2:
                state[p + f"self_attn.{name}.bias"] = normal(rows, std=0.5)
        state[p + "self_attn.o_proj.weight"] = normal(h, heads * d)
        if qwen3:
            state[p + "self_attn.q_norm.weight"] = norm(d)
            state[p + "self_attn.k_norm.weight"] = norm(d)
        state[p + "mlp.gate_proj.weight"] = normal(i, h)
        state[p + "mlp.up_proj.weight"] = normal(i, h)
        state[p + "mlp.down_proj.weight"] = normal(h, i)
        state[p + "input_layernorm.weight"] = norm(h)
        state[p + "post_attention_layernorm.weight"] = norm(h)
    state["model.norm.weight"] = norm(h)
    if not config["tie_word_embeddings"]:
        state["lm_head.weight"] = normal(v, h)
    return state


def batch(generator):
    t = max(LENGTHS)
    ids = torch.full((len(LENGTHS), t), PAD, dtype=torch.int64)
    mask = torch.zeros((len(LENGTHS), t), dtype=torch.int64)
    for row, length in enumerate(LENGTHS):
        ids[row, :length] = torch.randint(3, VOCAB, (length,), generator=generator)
        mask[row, :length] = 1
    return ids, mask


def main():
    hf.deterministic()
    for index, (case, (dtype, overrides)) in enumerate(CASES.items()):
        generator = torch.Generator().manual_seed(1000 + index)
        config = dict(BASE)
        config.update(overrides)
        config["torch_dtype"] = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]
        folder = os.path.join(OUT, case)
        hf.write_config(folder, config)
        hf.save_tensors(os.path.join(folder, "model.safetensors"), random_state(config, generator), dtype)
        model = hf.load_model(folder)
        ids, mask = batch(generator)
        logits = hf.logits(model, ids, mask)
        assert torch.isfinite(logits).all(), case
        prompt = ids[0, :4].tolist()
        continuation, gap = hf.greedy(model, prompt, GREEDY_TOKENS)
        assert gap > 1e-3, f"{case}: greedy top-2 gap {gap} too small for a stable golden"
        hf.save_tensors(os.path.join(folder, "expected.safetensors"), OrderedDict(logits=logits))
        golden = {
            "source": "src/test/python/model_golden.py: transformers AutoModelForCausalLM, eager, float32 ("
                      + hf.versions() + ")",
            "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits_shape": list(logits.shape),
            "greedy_prompt": prompt, "greedy_tokens": continuation, "greedy_min_top2_gap": gap,
        }
        hf.write_json(os.path.join(folder, "golden.json"), golden)
        print(f"{case}: logits {list(logits.shape)} max|.|={logits.abs().max():.3f} greedy gap={gap:.4f}")


if __name__ == "__main__":
    main()
