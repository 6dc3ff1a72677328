"""Independent reference of the HuggingFace LlamaForCausalLM-family forward pass (llama, mistral, qwen2, qwen3).

Written from transformers' modeling_llama / modeling_qwen2 / modeling_qwen3 / modeling_mistral (eager attention)
with plain torch 1.13 ops, sharing no code with orpo4j. Importable by other golden scripts:

    state, config = load_state(model_dir)
    logits = forward(state, config, input_ids, attention_mask)      # [N, T, V] float32

Semantics mirrored from HF: RMSNorm in fp32, RoPE with rotate_half and optional llama3 rope_scaling, grouped-query
attention with K/V repeated per group, q/k/v biases when present (qwen2), per-head q_norm/k_norm before RoPE (qwen3),
SwiGLU MLP, additive causal+padding mask filled with finfo.min (so a fully padded row attends uniformly instead of
producing NaN), positions 0..T-1, tie_word_embeddings.
"""
import json
import math
import os
import struct
from collections import OrderedDict

import torch

_FLOAT_DTYPES = {"F32": torch.float32, "F16": torch.float16}


def read_safetensors(path):
    """name -> float32 tensor, for F32, F16 and BF16 files (BF16 widened by a 16-bit shift)."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data = f.read()
    out = OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[begin:end])
        shape = info["shape"]
        if info["dtype"] == "BF16":
            bits = torch.frombuffer(raw, dtype=torch.int16).to(torch.int32) & 0xFFFF
            t = (bits << 16).view(torch.float32)
        elif info["dtype"] in _FLOAT_DTYPES:
            t = torch.frombuffer(raw, dtype=_FLOAT_DTYPES[info["dtype"]]).float()
        else:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        out[name] = t.reshape(shape).clone()
    return out


def write_safetensors(path, tensors, dtype="F32"):
    """Writes name -> tensor as a safetensors file by hand (F32, F16 or BF16 with round-to-nearest-even)."""
    header = OrderedDict()
    header["__metadata__"] = {"format": "pt"}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if dtype == "BF16":
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        elif dtype == "F16":
            raw = t.to(torch.float16).numpy().tobytes()
        else:
            raw = t.to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for raw in blobs:
            f.write(raw)


def load_state(model_dir):
    """(state, config) of a HF folder: config.json and model.safetensors or an index with shards."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single), config
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        weight_map = json.load(f)["weight_map"]
    state = OrderedDict()
    for shard in OrderedDict.fromkeys(weight_map.values()):
        state.update(read_safetensors(os.path.join(model_dir, shard)))
    return state, config


def head_dim(config):
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


def inv_freq(config):
    """HF's _compute_default_rope_parameters, then _compute_llama3_parameters when rope_scaling says llama3."""
    dim = head_dim(config)
    base = config.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = config.get("rope_scaling")
    if not scaling or scaling.get("rope_type", scaling.get("type")) in (None, "default"):
        return inv
    assert scaling.get("rope_type", scaling.get("type")) == "llama3", scaling
    factor = scaling["factor"]
    low_freq_factor = scaling["low_freq_factor"]
    high_freq_factor = scaling["high_freq_factor"]
    old_context_len = scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv
    inv_llama = torch.where(wavelen > low_freq_wavelen, inv / factor, inv)
    smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1 - smooth) * inv_llama / factor + smooth * inv_llama
    is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, inv_llama)


def rms_norm(x, weight, eps):
    x32 = x.to(torch.float32)
    variance = x32.pow(2).mean(-1, keepdim=True)
    x32 = x32 * torch.rsqrt(variance + eps)
    return weight * x32.to(x.dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    b, kv, s, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, kv, n_rep, s, d).reshape(b, kv * n_rep, s, d)


def sliding_window(config, layer):
    """The window of a layer: mistral's on every layer, qwen2/qwen3's from max_window_layers on, else None."""
    if config["model_type"] == "mistral":
        return config.get("sliding_window")
    if config["model_type"] in ("qwen2", "qwen3") and config.get("use_sliding_window", False):
        return config.get("sliding_window") if layer >= config.get("max_window_layers", 28) else None
    return None


def causal_mask(config, attention_mask, t, layer):
    """[N, 1, T, T] additive: 0 where visible, finfo(float32).min where not (HF eager's _update_causal_mask)."""
    n = attention_mask.shape[0]
    min_value = torch.finfo(torch.float32).min
    q = torch.arange(t)[:, None]
    k = torch.arange(t)[None, :]
    visible = k <= q
    window = sliding_window(config, layer)
    if window is not None:
        visible = visible & (k > q - window)
    visible = visible[None, None, :, :] & (attention_mask[:, None, None, :] != 0)
    mask = torch.zeros(n, 1, t, t, dtype=torch.float32)
    return mask.masked_fill(~visible, min_value)


def linear(x, state, prefix):
    y = x @ state[prefix + ".weight"].t()
    if prefix + ".bias" in state:
        y = y + state[prefix + ".bias"]
    return y


def attention(x, state, p, config, cos, sin, mask):
    n, t, _ = x.shape
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    d = head_dim(config)
    eps = config.get("rms_norm_eps", 1e-6)
    q = linear(x, state, p + ".q_proj").view(n, t, heads, d)
    k = linear(x, state, p + ".k_proj").view(n, t, kv_heads, d)
    v = linear(x, state, p + ".v_proj").view(n, t, kv_heads, d)
    if p + ".q_norm.weight" in state:  # qwen3
        q = rms_norm(q, state[p + ".q_norm.weight"], eps)
        k = rms_norm(k, state[p + ".k_norm.weight"], eps)
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    k = repeat_kv(k, heads // kv_heads)
    v = repeat_kv(v, heads // kv_heads)
    scores = torch.matmul(q, k.transpose(2, 3)) * d ** -0.5 + mask
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32)
    out = torch.matmul(weights, v).transpose(1, 2).reshape(n, t, heads * d)
    return linear(out, state, p + ".o_proj")


def mlp(x, state, p):
    return linear(torch.nn.functional.silu(linear(x, state, p + ".gate_proj")) * linear(x, state, p + ".up_proj"),
                  state, p + ".down_proj")


def hidden_states(state, config, input_ids, attention_mask=None):
    """[N, T, H] after the final norm."""
    input_ids = torch.as_tensor(input_ids, dtype=torch.int64)
    n, t = input_ids.shape
    if attention_mask is None:
        attention_mask = torch.ones(n, t, dtype=torch.int64)
    attention_mask = torch.as_tensor(attention_mask, dtype=torch.int64)
    eps = config.get("rms_norm_eps", 1e-6)
    positions = torch.arange(t, dtype=torch.int64)[None, :]
    freqs = (inv_freq(config)[None, :, None].float() @ positions[:, None, :].float()).transpose(1, 2)  # [1, T, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None, :, :], emb.sin()[:, None, :, :]  # [1, 1, T, D]
    h = state["model.embed_tokens.weight"][input_ids]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}"
        mask = causal_mask(config, attention_mask, t, i)
        h = h + attention(rms_norm(h, state[p + ".input_layernorm.weight"], eps), state, p + ".self_attn", config,
                          cos, sin, mask)
        h = h + mlp(rms_norm(h, state[p + ".post_attention_layernorm.weight"], eps), state, p + ".mlp")
    return rms_norm(h, state["model.norm.weight"], eps)


def lm_head_weight(state, config):
    if config.get("tie_word_embeddings", False):
        return state["model.embed_tokens.weight"]
    return state["lm_head.weight"]


def forward(state, config, input_ids, attention_mask=None):
    """Logits [N, T, V] float32 for right-padded ids [N, T] and mask [N, T]."""
    return hidden_states(state, config, input_ids, attention_mask) @ lm_head_weight(state, config).t()


def greedy(state, config, prompt, new_tokens):
    """Argmax continuation by re-running the full forward each step; also returns the smallest top-1/top-2 gap."""
    ids = list(prompt)
    gap = float("inf")
    for _ in range(new_tokens):
        logits = forward(state, config, torch.tensor([ids]))[0, -1]
        top = torch.topk(logits, 2).values
        gap = min(gap, float(top[0] - top[1]))
        ids.append(int(torch.argmax(logits)))
    return ids[len(prompt):], gap
