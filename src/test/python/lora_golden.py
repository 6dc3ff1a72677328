"""Golden values for org.orpo4j.lora: LoRA training as PEFT defines it, in plain PyTorch.

An adapted linear layer computes base(x) + s * B(A(dropout(x))), A [r, in], B [out, r], s = lora_alpha / r
(rsLoRA: lora_alpha / sqrt(r)); the base is frozen. Training is TRL's ORPO loss + HF Trainer's loop (accumulation,
warmup, clipping of the adapter gradients only) + torch.optim.AdamW with weight decay on the adapter weights (HF's
no-decay rule exempts only biases and norms). Two cases:
  qwen2_qv        tiny qwen2 (q/k/v biases, untied head), q_proj and v_proj, r 4, alpha 8
  llama_tied_all  tiny llama with tied embeddings, all-linear, rsLoRA, r 4, alpha 8
Each starts from a random adapter with non-zero B, so the first step already depends on both matrices. The adapter
files use PEFT's layout (adapter_config.json, adapter_model.safetensors with base_model.model.<layer>.lora_A.weight
keys); qwen2_qv also gets a BF16 copy of its initial adapter and the logits it gives, as PEFT writes and runs it.

Run from the repository root: /usr/bin/python3 src/test/python/lora_golden.py
Outputs go to src/test/resources/golden/lora/ and are committed; Java tests never run Python.
"""
import json
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_llama_reference as ref  # noqa: E402
import trainer_golden as tg  # noqa: E402

OUT = Path("src/test/resources/golden/lora")
PREFIX = "base_model.model."
LINEARS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
BASE_LINEAR = ref.linear


def lora_linear_factory(adapters, scaling):
    """ref.linear with the LoRA addition for every adapted layer (the reference model calls it by name)."""
    def linear(x, state, prefix):
        y = BASE_LINEAR(x, state, prefix)
        if prefix in adapters:
            a, b = adapters[prefix]
            y = y + ((x @ a.t()) @ b.t()) * scaling
        return y
    return linear


def base_state(config, g):
    state = tg.tiny_llama_state(config, g)
    if config.get("tie_word_embeddings"):
        del state["lm_head.weight"]
    if config["model_type"] == "qwen2":
        h = config["hidden_size"]
        kv = config["num_key_value_heads"] * h // config["num_attention_heads"]
        for l in range(config["num_hidden_layers"]):
            p = f"model.layers.{l}.self_attn"
            state[p + ".q_proj.bias"] = 0.1 * torch.randn(h, generator=g)
            state[p + ".k_proj.bias"] = 0.1 * torch.randn(kv, generator=g)
            state[p + ".v_proj.bias"] = 0.1 * torch.randn(kv, generator=g)
    return state


def targeted_layers(config, targets):
    layers = []
    for l in range(config["num_hidden_layers"]):
        for name in LINEARS:
            if targets == "all-linear" or name in targets:
                block = "self_attn" if name.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) else "mlp"
                layers.append(f"model.layers.{l}.{block}.{name}")
    return layers


def random_adapter(state, layers, r, g):
    """A ~ U(-1/sqrt(in), 1/sqrt(in)) as PEFT's kaiming init, B ~ N(0, 0.1) instead of PEFT's zeros."""
    adapters = {}
    for layer in layers:
        out_features, in_features = state[layer + ".weight"].shape
        bound = 1 / math.sqrt(in_features)
        a = (torch.rand(r, in_features, generator=g) * 2 - 1) * bound
        b = 0.1 * torch.randn(out_features, r, generator=g)
        adapters[layer] = (a, b)
    return adapters


def adapter_config(r, alpha, targets_written, rslora, base):
    return {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": base, "bias": "none",
            "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layers_pattern": None,
            "layers_to_transform": None, "lora_alpha": alpha, "lora_dropout": 0.0, "modules_to_save": None,
            "peft_type": "LORA", "r": r, "rank_pattern": {}, "revision": None, "target_modules": targets_written,
            "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": rslora}


def write_adapter(folder, config, adapters, dtype="F32"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
    tensors = {}
    for layer, (a, b) in adapters.items():
        tensors[PREFIX + layer + ".lora_A.weight"] = a
        tensors[PREFIX + layer + ".lora_B.weight"] = b
    ref.write_safetensors(folder / "adapter_model.safetensors", tensors, dtype)


def train(config, state, adapters, scaling, pairs, settings):
    params = {}
    for layer, (a, b) in adapters.items():
        params[PREFIX + layer + ".lora_A.weight"] = a.clone().requires_grad_(True)
        params[PREFIX + layer + ".lora_B.weight"] = b.clone().requires_grad_(True)
    live = {layer: (params[PREFIX + layer + ".lora_A.weight"], params[PREFIX + layer + ".lora_B.weight"])
            for layer in adapters}
    ref.linear = lora_linear_factory(live, scaling)
    opt = torch.optim.AdamW(list(params.values()), lr=settings["learning_rate"], betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=settings["weight_decay"])
    batch, accumulation = settings["per_device_train_batch_size"], settings["gradient_accumulation_steps"]
    micro = [pairs[i:i + batch] for i in range(0, len(pairs), batch)]
    cursor, log = 0, []
    for k in range(settings["max_steps"]):
        metrics = []
        for _ in range(accumulation):
            ids, mask, labels = tg.collate(micro[cursor % len(micro)])
            cursor += 1
            logits = ref.forward(state, config, ids, mask)
            loss, m = tg.orpo_loss(logits, ids, mask, labels, settings["beta"], 1.0)
            (loss / accumulation).backward()
            metrics.append(m)
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), settings["max_grad_norm"])
        step_lr = tg.linear_lr(settings["learning_rate"], settings["warmup_steps"], settings["max_steps"], k)
        for group in opt.param_groups:
            group["lr"] = step_lr
        opt.step()
        opt.zero_grad()
        line = {"step": k + 1, "learning_rate": step_lr, "grad_norm": float(norm)}
        for name in metrics[0]:
            line[name] = sum(m[name] for m in metrics) / len(metrics)
        log.append(line)
    ref.linear = BASE_LINEAR
    return {layer: (p[0].detach(), p[1].detach()) for layer, p in live.items()}, log


def case(name, config, targets, r, alpha, rslora, seed):
    g = torch.Generator().manual_seed(seed)
    state = base_state(config, g)
    pairs = tg.tiny_pairs(g, 16, config["vocab_size"])
    layers = targeted_layers(config, targets)
    adapters = random_adapter(state, layers, r, g)
    scaling = alpha / math.sqrt(r) if rslora else alpha / r
    folder = OUT / name
    (folder / "base").mkdir(parents=True, exist_ok=True)
    (folder / "base" / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    ref.write_safetensors(folder / "base" / "model.safetensors", state)
    written = sorted({layer.rsplit(".", 1)[1] for layer in layers})
    cfg = adapter_config(r, alpha, written, rslora, "base")
    write_adapter(folder / "adapter", cfg, adapters)
    with open(folder / "pairs.jsonl", "w") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2, "max_steps": 5,
                "learning_rate": 1e-2, "warmup_steps": 1, "weight_decay": 0.01, "max_grad_norm": 1.0, "beta": 0.1}
    final, log = train(config, state, adapters, scaling, pairs, settings)
    write_adapter(folder / "final", cfg, final)
    (folder / "trajectory.json").write_text(json.dumps(dict(settings, log=log), indent=1) + "\n")
    return state, adapters, scaling, layers, cfg


def peft_bf16_fixture(config, state, adapters, scaling, cfg):
    """The qwen2 adapter as PEFT would save it from a bf16 run, and the logits it gives (BF16 values, fp32 math)."""
    rounded = {layer: (a.to(torch.bfloat16).float(), b.to(torch.bfloat16).float())
               for layer, (a, b) in adapters.items()}
    folder = OUT / "qwen2_qv" / "peft_bf16"
    write_adapter(folder, cfg, rounded, "BF16")
    ids = torch.tensor([[1, 5, 9, 13, 17, 21, 25, 2], [1, 6, 10, 14, 18, 22, 2, 0]])
    mask = torch.tensor([[1] * 8, [1] * 7 + [0]])
    ref.linear = lora_linear_factory(rounded, scaling)
    logits = ref.forward(state, config, ids, mask)
    ref.linear = BASE_LINEAR
    (folder.parent / "peft_bf16_logits.json").write_text(json.dumps(
        {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": logits.flatten().tolist()}) + "\n")


def main():
    qwen2 = dict(tg.TINY_LLAMA, model_type="qwen2", architectures=["Qwen2ForCausalLM"], attention_bias=True,
                 use_sliding_window=False)
    state, adapters, scaling, _, cfg = case("qwen2_qv", qwen2, ["q_proj", "v_proj"], 4, 8, False, 21)
    peft_bf16_fixture(qwen2, state, adapters, scaling, cfg)
    llama_tied = dict(tg.TINY_LLAMA, tie_word_embeddings=True)
    case("llama_tied_all", llama_tied, "all-linear", 4, 8, True, 22)


if __name__ == "__main__":
    main()
