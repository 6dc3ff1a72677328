"""Golden values for org.orpo4j.lora: LoRA training by TRL's ORPOTrainer with a peft_config, PEFT's own adapters.

PEFT's LoRA layer computes base(x) + s * B(A(dropout(x))), A [r, in], B [out, r], s = lora_alpha / r (rsLoRA:
lora_alpha / sqrt(r)); the base is frozen. TRL's ORPOTrainer (trl_common.py, pre-tokenized rows) wraps the model
with get_peft_model and trains under the HF Trainer (accumulation, warmup, clipping of the adapter gradients, AdamW
with weight decay on the adapter weights: HF's no-decay rule exempts only biases and norms). Two cases:
  qwen2_qv        tiny qwen2 (q/k/v biases, untied head), q_proj and v_proj, r 4, alpha 8
  llama_tied_all  tiny llama with tied embeddings, all-linear (PEFT saves the module paths), rsLoRA, r 4, alpha 8
Each starts from a random adapter with non-zero B (written into PEFT's layers before the first step, so that the
first step already depends on both matrices); adapter/ and final/ are PEFT's own save_pretrained folders.
qwen2_qv also gets the initial adapter saved by PEFT in BF16 and the logits PEFT computes with it on the float32 base.

Run from the repository root with the reference venv (src/test/python/regenerate_goldens.sh runs every script):
    python src/test/python/lora_golden.py
Outputs go to src/test/resources/golden/lora/ and are committed; Java tests never run Python.
"""
import json
import math
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_common as hf  # noqa: E402
import trainer_golden as tg  # noqa: E402
import trl_common as tc  # noqa: E402

OUT = Path("src/test/resources/golden/lora")
LINEARS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


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


def lora_layers(peft_model):
    """HF layer path -> PEFT's LoRA layer (peft.tuners.lora.LoraLayer) of the default adapter."""
    from peft.tuners.lora import LoraLayer
    prefix = "base_model.model."
    return {name[len(prefix):]: module for name, module in peft_model.named_modules() if isinstance(module, LoraLayer)}


def set_adapter(peft_model, adapters):
    """Writes our random A and B into PEFT's layers."""
    layers = lora_layers(peft_model)
    assert set(layers) == set(adapters), (sorted(layers), sorted(adapters))
    with torch.no_grad():
        for name, (a, b) in adapters.items():
            layers[name].lora_A["default"].weight.copy_(a)
            layers[name].lora_B["default"].weight.copy_(b)


def save_adapter(peft_model, folder):
    """PEFT's own save_pretrained; its README model card is dropped."""
    peft_model.save_pretrained(str(folder))
    readme = Path(folder) / "README.md"
    if readme.exists():
        readme.unlink()


def case(name, config, targets, r, alpha, rslora, seed):
    from peft import LoraConfig
    g = torch.Generator().manual_seed(seed)
    state = base_state(config, g)
    pairs = tg.tiny_pairs(g, 16, config["vocab_size"])
    layers = targeted_layers(config, targets)
    adapters = random_adapter(state, layers, r, g)
    folder = OUT / name
    base = folder / "base"  # relative: PEFT records it as base_model_name_or_path
    hf.write_config(base, config)
    hf.save_tensors(base / "model.safetensors", state)
    with open(folder / "pairs.jsonl", "w") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2, "max_steps": 5,
                "learning_rate": 1e-2, "warmup_steps": 1, "weight_decay": 0.01, "max_grad_norm": 1.0, "beta": 0.1}
    peft_config = LoraConfig(task_type="CAUSAL_LM", r=r, lora_alpha=alpha, lora_dropout=0.0, use_rslora=rslora,
                             target_modules=targets)

    def start(trainer):
        set_adapter(trainer.model, adapters)
        save_adapter(trainer.model, folder / "adapter")

    log, trainer = tc.run_orpo(hf.load_model(base), tc.stand_in_tokenizer(config["vocab_size"]),
                               tg.pretokenized_rows(pairs), settings, peft_config=peft_config, pretokenized=True,
                               before_training=start)
    save_adapter(trainer.model, folder / "final")
    hf.write_json(folder / "trajectory.json", dict(tc.settings_record(settings), log=log), indent=1)
    print(f"{name}: loss {log[0]['loss']:.5f} -> {log[-1]['loss']:.5f}")
    return trainer.model


def peft_bf16_fixture(peft_model):
    """The qwen2 initial adapter saved by PEFT from bf16 weights, and the logits PEFT computes with that file on the
    float32 base (PEFT widens a bf16 adapter to the base's float32 on load)."""
    from peft import PeftModel
    folder = OUT / "qwen2_qv" / "peft_bf16"
    with torch.no_grad():
        for layer in lora_layers(peft_model).values():
            for part in (layer.lora_A["default"], layer.lora_B["default"]):
                part.weight.data = part.weight.data.to(torch.bfloat16)
    save_adapter(peft_model, folder)
    model = PeftModel.from_pretrained(hf.load_model(OUT / "qwen2_qv" / "base"), str(folder)).eval()
    ids = torch.tensor([[1, 5, 9, 13, 17, 21, 25, 2], [1, 6, 10, 14, 18, 22, 2, 0]])
    mask = torch.tensor([[1] * 8, [1] * 7 + [0]])
    logits = hf.logits(model, ids, mask)
    hf.write_json(folder.parent / "peft_bf16_logits.json",
                  {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": logits.flatten().tolist()})


def main():
    hf.deterministic()
    qwen2 = dict(tg.TINY_LLAMA, model_type="qwen2", architectures=["Qwen2ForCausalLM"], attention_bias=True,
                 use_sliding_window=False)
    peft_bf16_fixture(case("qwen2_qv", qwen2, ["q_proj", "v_proj"], 4, 8, False, 21))
    llama_tied = dict(tg.TINY_LLAMA, tie_word_embeddings=True)
    case("llama_tied_all", llama_tied, "all-linear", 4, 8, True, 22)


if __name__ == "__main__":
    main()
