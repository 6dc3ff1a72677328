"""An independent float32 forward of the gemma, gemma2, gemma3_text, phi3 and smollm3 families, written from
transformers' modeling files (eager attention path); it shares no code with the Java model.

    logits = forward(state, config, input_ids, attention_mask)        # [N, T, V]

What each family changes from llama (see docs/model.md):
  gemma        embeddings x sqrt(hidden); RMSNorm x^ * (1 + w) in float32; GeGLU (gelu tanh) MLP; tied head
  gemma2       + sandwich norms (post-attention, pre/post feed-forward); scores scaled by query_pre_attn_scalar^-0.5
               and soft-capped cap * tanh(s / cap) before the mask; sliding window on even layers; final soft-cap
  gemma3_text  + q/k RMSNorm per head before RoPE; full attention on layer i iff (i+1) % sliding_window_pattern == 0,
               else a sliding window; sliding layers use rope_local_base_freq, full layers rope_theta (+ linear
               scaling); attention soft-cap never applied (transformers stores but does not pass it)
  phi3         fused qkv_proj (q | k | v rows) and gate_up_proj (gate | up halves); partial rotary on the first
               head_dim * partial_rotary_factor dims; longrope (short factors while max position + 1 <=
               original_max_position_embeddings, else long) with cos/sin times the attention factor; a sliding
               window on every layer when sliding_window is set
  smollm3      llama with layers that skip RoPE (no_rope_layers, default every 4th); sliding windows only on those
               layers and only with use_sliding_window
"""
import math

import torch
import torch.nn.functional as F

GEMMAS = ("gemma", "gemma2", "gemma3_text")

# the config classes' defaults for the fields config.json may omit (transformers 5.x)
DEFAULTS = {
    "gemma": {"head_dim": 256, "tie_word_embeddings": True},
    "gemma2": {"head_dim": 256, "tie_word_embeddings": True, "query_pre_attn_scalar": 256, "sliding_window": 4096,
               "final_logit_softcapping": 30.0, "attn_logit_softcapping": 50.0},
    "gemma3_text": {"head_dim": 256, "tie_word_embeddings": True, "query_pre_attn_scalar": 256,
                    "sliding_window": 4096, "final_logit_softcapping": None},
    "phi3": {"tie_word_embeddings": False, "rms_norm_eps": 1e-5, "original_max_position_embeddings": 4096},
    "smollm3": {"tie_word_embeddings": True},
}


def with_defaults(c):
    out = dict(DEFAULTS.get(c["model_type"], {}))
    out.update(c)  # what the file states wins, an explicit null included
    return out


def head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def rms_norm(x, w, eps, gemma):
    xf = x.float()
    normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return normed * (1.0 + w.float()) if gemma else w * normed


def layer_types(c):
    t, n = c["model_type"], c["num_hidden_layers"]
    if c.get("layer_types"):
        return c["layer_types"]
    if t == "gemma2":
        return ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n)]
    if t == "gemma3_text":
        p = c.get("sliding_window_pattern", 6)
        return ["sliding_attention" if (i + 1) % p else "full_attention" for i in range(n)]
    if t == "phi3":
        return ["sliding_attention" if c.get("sliding_window") else "full_attention"] * n
    if t == "smollm3":
        rope = no_rope_layers(c)
        return ["sliding_attention" if c.get("use_sliding_window") and c.get("sliding_window") and not rope[i]
                else "full_attention" for i in range(n)]
    return ["full_attention"] * n


def no_rope_layers(c):
    if c.get("no_rope_layers") is not None:
        return c["no_rope_layers"]
    interval = c.get("no_rope_layer_interval", 4)
    return [int((i + 1) % interval != 0) for i in range(c["num_hidden_layers"])]


def rope_tables(c, layer_type, t):
    """cos, sin [T, rotary_dim] float32 for positions 0..t-1 of a layer of this type (None: no RoPE)."""
    typ = c["model_type"]
    d = head_dim(c)
    scaling = c.get("rope_scaling") or {}
    attention_factor = 1.0
    if typ == "gemma3_text":
        if layer_type == "sliding_attention":
            theta, scaling = c.get("rope_local_base_freq", 10000.0), {}
        else:
            theta = c.get("rope_theta", 1_000_000.0)
    elif typ == "smollm3":
        theta = c.get("rope_theta", 2_000_000.0)
    else:
        theta = c.get("rope_theta", 10000.0)
    dim = int(d * c.get("partial_rotary_factor", 1.0)) if typ == "phi3" else d
    exponents = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind in ("su", "yarn"):
        kind = "longrope"
    if kind == "default":
        inv = 1.0 / (theta ** exponents)
    elif kind == "linear":
        inv = (1.0 / (theta ** exponents)) / scaling["factor"]
    elif kind == "longrope":
        original = c.get("original_max_position_embeddings", c["max_position_embeddings"])
        factor = scaling.get("factor") or c["max_position_embeddings"] / original
        attention_factor = scaling.get("attention_factor") or (
            1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original)))
        ext = torch.tensor(scaling["long_factor"] if t > original else scaling["short_factor"], dtype=torch.float32)
        inv = 1.0 / (ext * theta ** exponents)
    else:
        raise ValueError(kind)
    freqs = inv[None, :] * torch.arange(t, dtype=torch.float32)[:, None]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * attention_factor, emb.sin() * attention_factor


def rotate(x, cos, sin):
    """HF's rotate_half RoPE on the first cos.shape[-1] dims of x [N, h, T, d]; the rest passes through."""
    r = cos.shape[-1]
    xr, xp = x[..., :r], x[..., r:]
    x1, x2 = xr[..., : r // 2], xr[..., r // 2:]
    rotated = xr * cos + torch.cat((-x2, x1), dim=-1) * sin
    return torch.cat((rotated, xp), dim=-1)


def mask(c, attention_mask, t, window):
    q = torch.arange(t)[:, None]
    k = torch.arange(t)[None, :]
    visible = k <= q
    if window is not None:
        visible = visible & (k > q - window)
    visible = visible[None, None] & (attention_mask[:, None, None, :] != 0)
    return torch.zeros(visible.shape).masked_fill(~visible, torch.finfo(torch.float32).min)


def attention(x, s, p, c, cos, sin, additive):
    n, t, _ = x.shape
    typ = c["model_type"]
    h, kv, d = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"], head_dim(c)
    if typ == "phi3":
        qkv = x @ s[p + ".qkv_proj.weight"].t()
        q, k, v = qkv[..., : h * d], qkv[..., h * d: (h + kv) * d], qkv[..., (h + kv) * d:]
    else:
        def proj(name):
            y = x @ s[p + f".{name}.weight"].t()
            return y + s[p + f".{name}.bias"] if p + f".{name}.bias" in s else y
        q, k, v = proj("q_proj"), proj("k_proj"), proj("v_proj")
    q = q.view(n, t, h, d).transpose(1, 2)
    k = k.view(n, t, kv, d).transpose(1, 2)
    v = v.view(n, t, kv, d).transpose(1, 2)
    eps = c.get("rms_norm_eps", 1e-6)
    if typ == "gemma3_text":
        q = rms_norm(q, s[p + ".q_norm.weight"], eps, True)
        k = rms_norm(k, s[p + ".k_norm.weight"], eps, True)
    if cos is not None:
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
    k = k.repeat_interleave(h // kv, dim=1)
    v = v.repeat_interleave(h // kv, dim=1)
    scale = c["query_pre_attn_scalar"] ** -0.5 if typ in ("gemma2", "gemma3_text") else d ** -0.5
    scores = (q @ k.transpose(2, 3)) * scale
    cap = c.get("attn_logit_softcapping") if typ == "gemma2" else None
    if cap is not None:
        scores = torch.tanh(scores / cap) * cap
    weights = torch.softmax(scores + additive, dim=-1, dtype=torch.float32)
    out = (weights @ v).transpose(1, 2).reshape(n, t, h * d)
    o = out @ s[p + ".o_proj.weight"].t()
    return o + s[p + ".o_proj.bias"] if p + ".o_proj.bias" in s else o


def mlp(x, s, p, c):
    typ = c["model_type"]
    if typ == "phi3":
        gate, up = (x @ s[p + ".gate_up_proj.weight"].t()).chunk(2, dim=-1)
        return (up * F.silu(gate)) @ s[p + ".down_proj.weight"].t()

    def proj(name, y):
        out = y @ s[p + f".{name}.weight"].t()
        return out + s[p + f".{name}.bias"] if p + f".{name}.bias" in s else out
    gate = proj("gate_proj", x)
    act = F.gelu(gate, approximate="tanh") if typ in GEMMAS else F.silu(gate)
    return proj("down_proj", act * proj("up_proj", x))


def hidden_states(s, c, input_ids, attention_mask):
    c = with_defaults(c)
    input_ids = torch.as_tensor(input_ids, dtype=torch.int64)
    attention_mask = torch.as_tensor(attention_mask, dtype=torch.int64)
    n, t = input_ids.shape
    typ = c["model_type"]
    gemma = typ in GEMMAS
    eps = c.get("rms_norm_eps", 1e-5 if typ == "phi3" else 1e-6)
    h = s["model.embed_tokens.weight"][input_ids]
    if gemma:
        h = h * torch.tensor(c["hidden_size"] ** 0.5, dtype=torch.float32)
    types = layer_types(c)
    rope = no_rope_layers(c) if typ == "smollm3" else [1] * c["num_hidden_layers"]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}"
        window = c.get("sliding_window") if types[i] == "sliding_attention" else None
        additive = mask(c, attention_mask, t, window)
        cos, sin = rope_tables(c, types[i], t) if rope[i] else (None, None)
        a = attention(rms_norm(h, s[p + ".input_layernorm.weight"], eps, gemma), s, p + ".self_attn", c, cos, sin,
                      additive)
        if typ in ("gemma2", "gemma3_text"):
            h = h + rms_norm(a, s[p + ".post_attention_layernorm.weight"], eps, True)
            m = mlp(rms_norm(h, s[p + ".pre_feedforward_layernorm.weight"], eps, True), s, p + ".mlp", c)
            h = h + rms_norm(m, s[p + ".post_feedforward_layernorm.weight"], eps, True)
        else:
            h = h + a
            h = h + mlp(rms_norm(h, s[p + ".post_attention_layernorm.weight"], eps, gemma), s, p + ".mlp", c)
    return rms_norm(h, s["model.norm.weight"], eps, gemma)


def forward(s, c, input_ids, attention_mask):
    hidden = hidden_states(s, c, input_ids, attention_mask)
    c = with_defaults(c)
    logits = hidden @ (s["model.embed_tokens.weight"] if c["tie_word_embeddings"] else s["lm_head.weight"]).t()
    cap = c.get("final_logit_softcapping")
    if c["model_type"] in ("gemma2", "gemma3_text") and cap is not None:
        logits = torch.tanh(logits / cap) * cap
    return logits
