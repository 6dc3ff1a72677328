"""What every golden script shares: a deterministic torch, safetensors I/O through the safetensors package, and
transformers' own model (AutoModelForCausalLM, eager attention, float32) as the reference forward.

Determinism: one intra-op thread and torch's deterministic algorithms, so that a rerun of a script on the same
machine writes the same bytes (the reduction order of a multi-threaded matmul depends on the thread count).
"""
import json
import os

import torch
from safetensors.torch import load_file, save_file

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
TORCH_DTYPE_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def deterministic(seed=0):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)


def save_tensors(path, tensors, dtype="F32"):
    """Writes name -> tensor as safetensors (stored as dtype), with the {"format": "pt"} metadata HF writes."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_file({n: t.detach().to(DTYPES[dtype]).contiguous() for n, t in tensors.items()}, str(path),
              metadata={"format": "pt"})


def load_tensors(path):
    """name -> float32 tensor."""
    return {n: t.float() for n, t in load_file(str(path)).items()}


def write_json(path, value, indent=None):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def write_config(folder, config):
    write_json(os.path.join(folder, "config.json"), config, indent=2)


def load_model(folder):
    """transformers' model of the checkpoint folder: eager attention, float32 weights (F16/BF16 files widened)."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging
    logging.set_verbosity_error()
    model = AutoModelForCausalLM.from_pretrained(str(folder), attn_implementation="eager", dtype=torch.float32)
    return model.eval()


def logits(model, ids, mask):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask, use_cache=False).logits.float()


def greedy(model, prompt, new_tokens):
    """Greedy continuation by full recompute; also the smallest top-2 logit gap met (how stable the golden is)."""
    ids = list(prompt)
    gap = float("inf")
    for _ in range(new_tokens):
        row = torch.tensor([ids])
        last = logits(model, row, torch.ones_like(row))[0, -1]
        top = torch.topk(last, 2).values
        gap = min(gap, float(top[0] - top[1]))
        ids.append(int(torch.argmax(last)))
    return ids[len(prompt):], gap


def versions():
    import transformers
    return f"torch {torch.__version__}, transformers {transformers.__version__}"
