"""GGUF goldens: what llama.cpp's own converter (convert_hf_to_gguf.py, run from the llama.cpp sources that the
llama-cpp-python sdist on PyPI vendors) writes for tiny checkpoints of each family, read back with the gguf package's
GGUFReader, and ggml's Q8_0/F16/BF16 conversions of a fixed set of floats (the gguf package's quantizer).

    python gguf_golden.py LLAMA_CPP_DIR OUT_DIR

Checkpoints: config.json as written here, float32 weights from a formula both sides compute exactly
(GgufCheckpoints.java): value(name, i) = ((i * 40503 + crc32(name)) mod 65536 - 32768) / 65536, and the real
tokenizers of src/test/resources/tokenizers, or, for the families whose converter reads tokenizer.model (gemma,
gemma2, gemma3, phi3, and llama when it has one), a 320-piece SentencePiece BPE model trained here on a few
sentences, with the tokenizer.json transformers' converter would make of it (kept in OUT_DIR/spm_*). Each golden lists every metadata key (type and value; long arrays as
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
    "llama_spm": ("spm_llama", {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 320, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2}),
    "gemma": ("spm_gemma", {
        "architectures": ["GemmaForCausalLM"], "model_type": "gemma", "vocab_size": 320, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
        "head_dim": 16, "max_position_embeddings": 8192, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
        "hidden_act": "gelu_pytorch_tanh", "tie_word_embeddings": True, "bos_token_id": 2, "eos_token_id": 1,
        "pad_token_id": 0}),
    "gemma2": ("spm_gemma", {
        "architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "vocab_size": 320, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 16, "max_position_embeddings": 8192, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
        "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 16, "sliding_window": 4096,
        "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "tie_word_embeddings": True,
        "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0}),
    "gemma3": ("spm_gemma", {
        "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": 330, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 16, "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "rope_local_base_freq": 10000.0, "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 16,
        "sliding_window": 512, "final_logit_softcapping": None, "tie_word_embeddings": True,
        "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0}),
    "phi3": ("spm_llama", {
        "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "vocab_size": 352, "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": 4096, "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "hidden_act": "silu", "sliding_window": 2047, "tie_word_embeddings": False,
        "bos_token_id": 1, "eos_token_id": 2}),
}


SPM_TEXT = """The quick brown fox jumps over the lazy dog. Paris is the capital of France.
Hello there, how are you doing today? I am fine, thank you very much.
Preference optimization aligns a language model with the answers people choose.
The odds ratio compares the chosen answer with the rejected one, token by token.
"""

# tokenizer.model-based tokenizers trained here (SentencePiece BPE with byte fallback): name -> trainer settings
SPM_TOKENIZERS = {
    "spm_llama": dict(pad_id=-1, unk_id=0, bos_id=1, eos_id=2, add_dummy_prefix=True,
                      user_defined_symbols=["<|user|>", "<|assistant|>", "<|end|>"]),
    "spm_gemma": dict(pad_id=0, eos_id=1, bos_id=2, unk_id=3, add_dummy_prefix=False,
                      user_defined_symbols=["<start_of_turn>", "<end_of_turn>"]),
}


def spm_tokenizer(name, folder):
    """Trains a 320-piece SentencePiece BPE model (tokenizer.model) and writes the tokenizer.json and
    tokenizer_config.json transformers would give it (vocabulary, merges ranked by piece score, byte fallback)."""
    import sentencepiece as spm
    settings = SPM_TOKENIZERS[name]
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "corpus.txt"), "w", encoding="utf-8") as f:
            f.write(SPM_TEXT * 40)
        # relative paths from inside the folder: the trainer spec saved in the model records them, and a random
        # temporary folder's name would make each run's tokenizer.model differ
        here = os.getcwd()
        os.chdir(tmp)
        try:
            spm.SentencePieceTrainer.train(input="corpus.txt", model_prefix="m", model_type="bpe",
                                           vocab_size=320, byte_fallback=True, character_coverage=1.0,
                                           minloglevel=2, num_threads=1, **settings)
        finally:
            os.chdir(here)
        shutil.copy(os.path.join(tmp, "m.model"), os.path.join(folder, "tokenizer.model"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "tokenizer.model"))
    vocab = {sp.id_to_piece(i): i for i in range(sp.vocab_size())}
    normal = {sp.id_to_piece(i): (sp.get_score(i), i) for i in range(sp.vocab_size())
              if not (sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i) or sp.is_unused(i))
              and sp.id_to_piece(i) not in settings["user_defined_symbols"]}
    ranked = []
    for token, (score, i) in normal.items():
        for k in range(1, len(token)):
            if token[:k] in normal and token[k:] in normal:
                ranked.append((-score, i, token[:k], token[k:]))
    merges = [[l, r] for _, _, l, r in sorted(ranked)]
    specials = [i for i in range(sp.vocab_size()) if sp.is_control(i) or sp.is_unknown(i)]
    added = [{"id": i, "content": sp.id_to_piece(i), "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": i in specials}
             for i in range(sp.vocab_size()) if i in specials or sp.id_to_piece(i) in settings["user_defined_symbols"]]
    norm = [{"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]
    if settings["add_dummy_prefix"]:
        norm.insert(0, {"type": "Prepend", "prepend": "\u2581"})
    bos = sp.id_to_piece(settings["bos_id"])
    tokenizer = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
                 "normalizer": {"type": "Sequence", "normalizers": norm}, "pre_tokenizer": None,
                 "post_processor": {"type": "TemplateProcessing",
                                    "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                                               {"Sequence": {"id": "A", "type_id": 0}}],
                                    "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                                             {"Sequence": {"id": "A", "type_id": 0}},
                                             {"SpecialToken": {"id": bos, "type_id": 1}},
                                             {"Sequence": {"id": "B", "type_id": 1}}],
                                    "special_tokens": {bos: {"id": bos, "ids": [settings["bos_id"]],
                                                             "tokens": [bos]}}},
                 "decoder": {"type": "Sequence", "decoders": [
                     {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                     {"type": "ByteFallback"}, {"type": "Fuse"}]},
                 "model": {"type": "BPE", "dropout": None, "unk_token": sp.id_to_piece(sp.unk_id()),
                           "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": True,
                           "byte_fallback": True, "ignore_merges": False, "vocab": vocab, "merges": merges}}
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    config = {"tokenizer_class": "GemmaTokenizer" if name == "spm_gemma" else "LlamaTokenizer",
              "bos_token": bos, "eos_token": sp.id_to_piece(settings["eos_id"]),
              "unk_token": sp.id_to_piece(settings["unk_id"]), "add_bos_token": True, "add_eos_token": False,
              "chat_template": "{{ bos_token }}{% for m in messages %}{{ m['role'] + ': ' + m['content'] }}{% endfor %}"}
    if settings["pad_id"] >= 0:
        config["pad_token"] = sp.id_to_piece(settings["pad_id"])
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)


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
        if cfg["model_type"] == "phi3":
            t[p + "self_attn.qkv_proj.weight"] = ((nh + 2 * kv) * hd, h)
            t[p + "mlp.gate_up_proj.weight"] = (2 * f, h)
        else:
            t[p + "self_attn.q_proj.weight"] = (nh * hd, h)
            t[p + "self_attn.k_proj.weight"] = (kv * hd, h)
            t[p + "self_attn.v_proj.weight"] = (kv * hd, h)
            t[p + "mlp.gate_proj.weight"] = (f, h)
            t[p + "mlp.up_proj.weight"] = (f, h)
        t[p + "self_attn.o_proj.weight"] = (h, nh * hd)
        t[p + "mlp.down_proj.weight"] = (h, f)
        if cfg["model_type"] in ("gemma2", "gemma3_text"):
            t[p + "pre_feedforward_layernorm.weight"] = (h,)
            t[p + "post_feedforward_layernorm.weight"] = (h,)
        if cfg["model_type"] == "qwen2":
            for x in "qkv":
                t[p + f"self_attn.{x}_proj.bias"] = (t[p + f"self_attn.{x}_proj.weight"][0],)
        if cfg["model_type"] in ("qwen3", "gemma3_text"):
            t[p + "self_attn.q_norm.weight"] = (hd,)
            t[p + "self_attn.k_norm.weight"] = (hd,)
    return t


def make_checkpoint(folder, tokenizer, cfg):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    save_file({n: formula(n, s) for n, s in hf_tensors(cfg).items()}, os.path.join(folder, "model.safetensors"),
              metadata={"format": "pt"})
    if tokenizer in SPM_TOKENIZERS:
        for f in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(SPM_DIR[tokenizer], f), folder)
        return
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


SPM_DIR = {}


def main():
    """Writes every golden, or with model names after OUT_DIR only theirs (the trained tokenizers are kept)."""
    llama_cpp, out_dir, only = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    for name in SPM_TOKENIZERS:
        SPM_DIR[name] = os.path.join(out_dir, name)
        if not only or not os.path.isfile(os.path.join(SPM_DIR[name], "tokenizer.model")):
            os.makedirs(SPM_DIR[name], exist_ok=True)
            spm_tokenizer(name, SPM_DIR[name])
    if not only:
        quant_golden(out_dir)
    for name, (tokenizer, cfg) in MODELS.items():
        if only and name not in only:
            continue
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
