"""GGUF goldens: what llama.cpp's own converter (convert_hf_to_gguf.py, run from the llama.cpp sources that the
llama-cpp-python sdist on PyPI vendors) writes for tiny checkpoints of each family, read back with the gguf package's
GGUFReader, and ggml's Q8_0/F16/BF16 conversions of a fixed set of floats (the gguf package's quantizer).

    python gguf_golden.py LLAMA_CPP_DIR OUT_DIR

Checkpoints: config.json as written here, float32 weights from a formula both sides compute exactly
(GgufCheckpoints.java): value(name, i) = ((i * 40503 + crc32(name)) mod 65536 - 32768) / 65536, and the real
tokenizers of src/test/resources/tokenizers. Each golden lists every metadata key (type and value; long arrays as
length and sha256 of their elements) and every tensor (name, ggml shape, type, offset, sha256 of its bytes), for
--outtype f32, f16, bf16 and q8_0.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
RESOURCES = os.path.join(HERE, "..", "resources")
OUTTYPES = ["f32", "f16", "bf16", "q8_0"]

# name -> (tokenizer folder, config.json)
MODELS = {
    "llama": ("llama3", {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "hidden_act": "silu",
        "tie_word_embeddings": False, "bos_token_id": 128000, "eos_token_id": [128001, 128009],
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 64}}),
    "mistral": ("llama2", {
        "architectures": ["MistralForCausalLM"], "model_type": "mistral", "vocab_size": 32000, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
        "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
        "sliding_window": 4096, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2}),
    "qwen2": ("qwen3", {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 151936, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "hidden_act": "silu",
        "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": 32768,
        "bos_token_id": 151643, "eos_token_id": 151645}),
    "qwen3": ("qwen3", {
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 151936, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 16, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "hidden_act": "silu", "tie_word_embeddings": True, "bos_token_id": 151643, "eos_token_id": 151645}),
    "smollm3": ("llama3", {
        "architectures": ["SmolLM3ForCausalLM"], "model_type": "smollm3", "vocab_size": 128256, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 65536, "rms_norm_eps": 1e-6, "rope_theta": 5000000.0, "hidden_act": "silu",
        "tie_word_embeddings": True, "bos_token_id": None, "eos_token_id": 128012, "pad_token_id": 128004}),
}


def formula(name, shape):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    v = (i * 40503 + zlib.crc32(name.encode("utf-8"))) % 65536 - 32768
    return (v.astype(np.float64) / 65536).astype(np.float32).reshape(shape)


def hf_tensors(cfg):
    """The parameter shapes transformers gives a checkpoint of cfg (the families here)."""
    h, f, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    nh, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", h // nh)
    t = {"model.embed_tokens.weight": (cfg["vocab_size"], h), "model.norm.weight": (h,)}
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = (cfg["vocab_size"], h)
    for l in range(L):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = (h,)
        t[p + "post_attention_layernorm.weight"] = (h,)
        t[p + "self_attn.q_proj.weight"] = (nh * hd, h)
        t[p + "self_attn.k_proj.weight"] = (kv * hd, h)
        t[p + "self_attn.v_proj.weight"] = (kv * hd, h)
        t[p + "self_attn.o_proj.weight"] = (h, nh * hd)
        t[p + "mlp.gate_proj.weight"] = (f, h)
        t[p + "mlp.up_proj.weight"] = (f, h)
        t[p + "mlp.down_proj.weight"] = (h, f)
        if cfg["model_type"] == "qwen2":
            for x in "qkv":
                t[p + f"self_attn.{x}_proj.bias"] = (t[p + f"self_attn.{x}_proj.weight"][0],)
        if cfg["model_type"] == "qwen3":
            t[p + "self_attn.q_norm.weight"] = (hd,)
            t[p + "self_attn.k_norm.weight"] = (hd,)
    return t


def make_checkpoint(folder, tokenizer, cfg):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    save_file({n: formula(n, s) for n, s in hf_tensors(cfg).items()}, os.path.join(folder, "model.safetensors"),
              metadata={"format": "pt"})
    src = os.path.join(RESOURCES, "tokenizers", tokenizer)
    with gzip.open(os.path.join(src, "tokenizer.json.gz"), "rb") as fin, \
            open(os.path.join(folder, "tokenizer.json"), "wb") as fout:
        shutil.copyfileobj(fin, fout)
    shutil.copy(os.path.join(src, "tokenizer_config.json"), folder)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def describe(path):
    import gguf
    r = gguf.GGUFReader(path)
    kv = []
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue
        types = [gguf.GGUFValueType(t).name for t in field.types]
        value = field.contents()
        entry = {"key": key, "type": types}
        if types[0] == "ARRAY" and len(value) > 16:
            if types[1] == "STRING":
                data = "\n".join(value).encode("utf-8")
            else:
                data = np.asarray(value, dtype=np.float32 if types[1] == "FLOAT32" else np.int64).tobytes()
            entry["length"] = len(value)
            entry["sha256"] = sha(data)
            entry["head"] = value[:8]
        elif isinstance(value, float):
            entry["value"] = float(np.float32(value))
        else:
            entry["value"] = value
        kv.append(entry)
    tensors = [{"name": t.name, "shape": [int(x) for x in t.shape], "type": t.tensor_type.name,
                "offset": int(t.data_offset), "sha256": sha(np.asarray(t.data).tobytes())} for t in r.tensors]
    return {"kv": kv, "tensors": tensors, "file_size": os.path.getsize(path)}


def convert(llama_cpp, folder, outtype, out):
    subprocess.run([sys.executable, os.path.join(llama_cpp, "convert_hf_to_gguf.py"), folder,
                    "--outtype", outtype, "--outfile", out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def quant_golden(out_dir):
    """ggml's conversions of 4096 floats: ties, subnormals, overflow, NaN and random normals."""
    import gguf
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(4096) * np.exp(rng.uniform(-12, 12, 4096))).astype(np.float32)
    special = np.array([0.0, -0.0, 1.0, -1.0, 65504.0, 65519.996, 65520.0, 1e9, -1e9, np.inf, -np.inf,
                        2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26, 2.0 ** -14, 1.0009765625, 1.00048828125,
                        1.0014648437, 0.1, 1e-30, np.nan], dtype=np.float32)
    x[:len(special)] = special
    x[64:96] = 0  # an all-zero Q8_0 block
    x[96:128] = np.linspace(-2.5, 2.5, 32, dtype=np.float32) * (127 / 2.5)  # exact halves in q
    qx = x.copy()
    qx[~np.isfinite(qx)] = 0  # Q8_0 of non-finite values is undefined
    x.tofile(os.path.join(out_dir, "floats.f32"))
    qx.tofile(os.path.join(out_dir, "floats_finite.f32"))
    gguf.quants.quantize(x, gguf.GGMLQuantizationType.F16).tofile(os.path.join(out_dir, "floats.f16"))
    gguf.quants.quantize(x, gguf.GGMLQuantizationType.BF16).tofile(os.path.join(out_dir, "floats.bf16"))
    gguf.quants.quantize(qx.reshape(32, 128), gguf.GGMLQuantizationType.Q8_0).tofile(
        os.path.join(out_dir, "floats_finite.q8_0"))


def main():
    llama_cpp, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    quant_golden(out_dir)
    for name, (tokenizer, cfg) in MODELS.items():
        with tempfile.TemporaryDirectory() as tmp:
            folder = os.path.join(tmp, name)
            make_checkpoint(folder, tokenizer, cfg)
            golden = {"model": name, "tokenizer": tokenizer, "config": cfg, "outtypes": {}}
            for outtype in OUTTYPES:
                out = os.path.join(tmp, f"{name}-{outtype}.gguf")
                convert(llama_cpp, folder, outtype, out)
                golden["outtypes"][outtype] = describe(out)
            with open(os.path.join(out_dir, f"{name}.json"), "w", encoding="utf-8") as f:
                json.dump(golden, f, indent=1, ensure_ascii=False)
                f.write("\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
