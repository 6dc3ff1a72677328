"""Golden values for QLoRA: checkpoints transformers quantizes and saves with bitsandbytes, what transformers +
bitsandbytes compute with them, and TRL's ORPOTrainer training a PEFT LoRA adapter over a 4-bit base, on the CPU.

A tiny random llama (hidden 64, intermediate 128: every linear layer's rows are whole blocks of 64, see below) is
written in float32 as base/. Then:
  nf4_double/, fp4/      transformers' from_pretrained(base, BitsAndBytesConfig(load_in_4bit, nf4 + double quant |
                         fp4, compute float32)) and save_pretrained: pre-quantized checkpoints as the hub holds them
  eval.json              what transformers + bitsandbytes compute from each saved checkpoint, loaded back: TRL's
                         ORPOTrainer.evaluate over pairs.jsonl (eval_loss and the other eval_ metrics), and the logits
                         of two rows
  lora/                  TRL's ORPOTrainer with a PEFT LoraConfig (all-linear, r 4, alpha 8) over the base loaded
                         in 4 bits (nf4, double quant): the starting adapter (random, B non-zero, as lora_golden.py),
                         trajectory.json (5 steps) and the final adapter, both PEFT's own save_pretrained folders

Evaluation runs bitsandbytes' Linear4bit in float32, the compute dtype asked for: on a CPU with AVX-512 BF16,
bitsandbytes otherwise switches an eval-mode layer without gradients to a packed bfloat16 kernel (inputs and scales
rounded to bfloat16) whatever the compute dtype; eval.json records that kernel's eval_loss too, for comparison.
bitsandbytes' AVX-512 dequantize_4bit indexes the absmax per row and is wrong for rows that are not whole blocks
(quantization_golden.py shows it), hence the model's sizes.

Run from the repository root with the reference venv (src/test/python/regenerate_goldens.sh runs every script):
    python src/test/python/qlora_golden.py
Outputs go to src/test/resources/golden/qlora/ and are committed; Java tests never run Python.
"""
import json
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_common as hf  # noqa: E402
import lora_golden as lg  # noqa: E402
import trainer_golden as tg  # noqa: E402
import trl_common as tc  # noqa: E402

OUT = Path("src/test/resources/golden/qlora")
CONFIG = dict(tg.TINY_LLAMA, hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2)
ROWS = {"input_ids": [[1, 5, 9, 13, 17, 21, 25, 2], [1, 6, 10, 14, 18, 22, 2, 0]],
        "attention_mask": [[1] * 8, [1] * 7 + [0]]}


def bnb_config(quant_type, double):
    from transformers import BitsAndBytesConfig
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quant_type, bnb_4bit_use_double_quant=double,
                              bnb_4bit_compute_dtype=torch.float32)


def load_4bit(folder, quantization_config=None, float32_kernel=True):
    """transformers' model of folder in 4 bits (quantized while loading when a config is given), eager, float32;
    with float32_kernel, bitsandbytes' packed bf16 CPU inference kernel is kept out."""
    from transformers import AutoModelForCausalLM
    extra = {} if quantization_config is None else {"quantization_config": quantization_config}
    model = AutoModelForCausalLM.from_pretrained(str(folder), attn_implementation="eager", dtype=torch.float32,
                                                 device_map="cpu", **extra)
    if float32_kernel:
        import bitsandbytes as bnb
        for module in model.modules():
            if isinstance(module, bnb.nn.Linear4bit):
                module.support_avx512bf16_for_cpu = False
    return model


def save_quantized(base, folder, quant_type, double):
    model = load_4bit(base, bnb_config(quant_type, double))
    model.save_pretrained(str(folder))
    for extra in ("README.md", "generation_config.json"):
        (folder / extra).unlink(missing_ok=True)


def evaluate(model, pairs):
    """TRL's evaluation (eval_ metrics) of a 4-bit model; the Trainer refuses a purely quantized model, so a LoRA
    adapter with PEFT's default init (B = 0, an exact zero addition) is attached first."""
    from peft import LoraConfig
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 1, "max_steps": 1,
                "learning_rate": 0.0, "beta": 0.1}
    args = tc.orpo_config(settings, "/tmp/orpo4j-qlora-eval")
    args.per_device_eval_batch_size = 4
    rows = tc.Dataset.from_list(tg.pretokenized_rows(pairs))
    trainer = tc.PretokenizedOrpoTrainer(model=model, args=args, train_dataset=rows, eval_dataset=rows,
                                         processing_class=tc.stand_in_tokenizer(CONFIG["vocab_size"]),
                                         peft_config=LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8,
                                                                lora_dropout=0.0, target_modules=["q_proj"]))
    trainer.remove_callback(tc.PrinterCallback)
    trainer.model.eval()
    metrics = trainer.evaluate()
    return {k: float(v) for k, v in metrics.items() if k.startswith("eval_") and not k.endswith(
        ("_runtime", "_per_second", "_preparation_time"))}


def evaluations(base, pairs):
    out = {}
    for name in ("nf4_double", "fp4"):
        model = load_4bit(OUT / name)
        ids = torch.tensor(ROWS["input_ids"])
        mask = torch.tensor(ROWS["attention_mask"])
        logits = hf.logits(model, ids, mask)
        metrics = evaluate(model, pairs)
        bf16_kernel = evaluate(load_4bit(OUT / name, float32_kernel=False), pairs)
        out[name] = {"eval": metrics, "logits": logits.flatten().tolist(),
                     "bnb_cpu_bf16_kernel_eval_loss": bf16_kernel["eval_loss"]}
        print(f"{name}: eval_loss {metrics['eval_loss']:.6f} (bitsandbytes' bf16 CPU kernel: "
              f"{bf16_kernel['eval_loss']:.6f})")
    return out


def lora_trajectory(base, pairs, g):
    from peft import LoraConfig
    folder = OUT / "lora"
    state = hf.load_tensors(base / "model.safetensors")
    layers = lg.targeted_layers(CONFIG, "all-linear")
    adapters = lg.random_adapter(state, layers, 4, g)
    settings = {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2, "max_steps": 5,
                "learning_rate": 1e-2, "warmup_steps": 1, "weight_decay": 0.01, "max_grad_norm": 1.0, "beta": 0.1,
                "load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "use_bnb_nested_quant": True}
    peft_config = LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear")

    def start(trainer):
        lg.set_adapter(trainer.model, adapters)
        lg.save_adapter(trainer.model, folder / "adapter")

    trl_settings = {k: v for k, v in settings.items() if not k.startswith(("load_in", "bnb_", "use_bnb"))}
    log, trainer = tc.run_orpo(load_4bit(base, bnb_config("nf4", True)), tc.stand_in_tokenizer(CONFIG["vocab_size"]),
                               tg.pretokenized_rows(pairs), dict(trl_settings, max_steps=5), peft_config=peft_config,
                               pretokenized=True, before_training=start)
    lg.save_adapter(trainer.model, folder / "final")
    for sub in ("adapter", "final"):  # the base is base/, whichever folder PEFT recorded
        cfg = json.loads((folder / sub / "adapter_config.json").read_text())
        cfg["base_model_name_or_path"] = None
        hf.write_json(folder / sub / "adapter_config.json", cfg, indent=2)
    hf.write_json(folder / "trajectory.json", dict(tc.settings_record(settings), log=log), indent=1)
    print(f"lora over nf4: loss {log[0]['loss']:.5f} -> {log[-1]['loss']:.5f}")


def main():
    hf.deterministic()
    g = torch.Generator().manual_seed(28)
    shutil.rmtree(OUT, ignore_errors=True)
    base = OUT / "base"
    hf.write_config(base, CONFIG)
    hf.save_tensors(base / "model.safetensors", tg.tiny_llama_state(CONFIG, g))
    pairs = tg.tiny_pairs(g, 16, CONFIG["vocab_size"])
    with open(OUT / "pairs.jsonl", "w") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")
    save_quantized(base, OUT / "nf4_double", "nf4", True)
    save_quantized(base, OUT / "fp4", "fp4", False)
    hf.write_json(OUT / "eval.json", dict(rows=ROWS, versions=versions(), **evaluations(base, pairs)), indent=1)
    lora_trajectory(base, pairs, g)


def versions():
    import bitsandbytes
    import peft
    import transformers
    import trl
    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
            "trl": trl.__version__, "bitsandbytes": bitsandbytes.__version__,
            "cpu": torch.backends.cpu.get_cpu_capability()}


if __name__ == "__main__":
    main()
