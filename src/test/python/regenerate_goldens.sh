#!/usr/bin/env bash
# Regenerates every committed golden file with the real reference libraries, and says whether any byte changed.
#
#   bash src/test/python/regenerate_goldens.sh [--venv DIR] [--check]
#
# From the repository root. Makes (or reuses) a venv from src/test/python/requirements.txt -- DIR, else
# $ORPO4J_REF_VENV, else /work/venv-ref -- and runs each generator with it, one thread, PYTHONHASHSEED=0 (PEFT saves
# target_modules from a Python set). Then lists the golden files that differ from the last commit; --check exits 1
# when any does. Python never runs in the Java build: the goldens are committed and the Java tests read them.
#
# Where each golden comes from:
#   golden/model/*            model_golden.py, families_golden.py: transformers' AutoModelForCausalLM (eager, fp32)
#   golden/train/trajectory*, tiny_llama, gemma2_tiny, phi3_tiny
#                             trainer_golden.py, families_golden.py: TRL's ORPOTrainer (trl_common.py)
#   golden/train/adamw.json   trainer_golden.py: torch.optim.AdamW and clip_grad_norm_
#   golden/lora/*             lora_golden.py: TRL's ORPOTrainer with a PEFT LoraConfig, PEFT's own adapter files
#   golden/trl/*              trl_golden.py: TRL end to end on conversational rows, real Qwen3 tokenizer, full + LoRA
#   golden/data/chat_templates.json
#                             chat_template_golden.py: transformers' tokenizer.apply_chat_template
#   golden/gguf/*             gguf_golden.py: llama.cpp's convert_hf_to_gguf.py (from the llama.cpp sources the
#                             llama-cpp-python 0.3.36 sdist vendors) read back with the gguf package; ggml's
#                             F16/BF16/Q8_0 conversions from the gguf package's quantizer
#   golden/quantization/*     quantization_golden.py: bitsandbytes' quantize_4bit / dequantize_4bit on the CPU
#   golden/qlora/*            qlora_golden.py: checkpoints transformers quantizes and saves with bitsandbytes, their
#                             evaluation, TRL's ORPOTrainer with PEFT LoRA over a 4-bit base
# Hand-written where a real library cannot produce the value (each script's docstring says why):
#   golden/loss/orpo_loss_golden.json   orpo_loss_golden.py: TRL's loss in float64 (TRL casts to float32 and has no
#                                       alpha / disable_prompt_loss); checked against TRL's functions when written
#   golden/safetensors/golden.safetensors
#                                       safetensors_golden.py: a header order the safetensors package never writes
# Not regenerated here: golden/data/parquet (an independent JavaScript parquet writer, src/test/js), the demo assets
# (make_demo_assets.py, plain Python), GradScaler's sequence (grad_scaler_golden.py, a device check, not committed).
#
# Byte for byte holds on the same kind of machine: float results depend on the CPU's vector kernels (AVX2 vs
# AVX-512 paths of oneDNN/MKL), so another CPU may change the last bits of some values, never their tolerance.
set -euo pipefail

VENV="${ORPO4J_REF_VENV:-/work/venv-ref}"
CHECK=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --venv) VENV="$2"; shift 2 ;;
    --check) CHECK=1; shift ;;
    *) echo "usage: $0 [--venv DIR] [--check]" >&2; exit 2 ;;
  esac
done

HERE="src/test/python"
[[ -f "$HERE/requirements.txt" ]] || { echo "run from the repository root" >&2; exit 2; }
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import trl.experimental.orpo, peft, bitsandbytes" 2>/dev/null; then
  echo "creating the reference venv in $VENV (torch's wheel pulls several GB of CUDA libraries)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
fi
PY="$VENV/bin/python"
"$PY" -m pip freeze --exclude-editable | sort > /tmp/orpo4j-venv-freeze.txt
if ! diff -q <(grep -v '^#' "$HERE/requirements.txt" | grep . | sort) /tmp/orpo4j-venv-freeze.txt > /dev/null; then
  echo "warning: $VENV does not hold exactly requirements.txt's pins:" >&2
  diff <(grep -v '^#' "$HERE/requirements.txt" | grep . | sort) /tmp/orpo4j-venv-freeze.txt >&2 || true
fi

export PYTHONHASHSEED=0 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TRL_EXPERIMENTAL_SILENCE=1 TOKENIZERS_PARALLELISM=false
export PYTHONWARNINGS=ignore HF_HUB_OFFLINE=1
for script in model_golden.py families_golden.py trainer_golden.py lora_golden.py trl_golden.py \
    chat_template_golden.py orpo_loss_golden.py safetensors_golden.py quantization_golden.py qlora_golden.py; do
  echo "== $script"
  "$PY" "$HERE/$script"
done

LLAMA_CPP_SDIST="${ORPO4J_LLAMA_CPP_SRC:-/tmp/orpo4j-llama-cpp-python-0.3.36}"
if [[ ! -f "$LLAMA_CPP_SDIST/vendor/llama.cpp/convert_hf_to_gguf.py" ]]; then
  mkdir -p "$(dirname "$LLAMA_CPP_SDIST")"
  "$VENV/bin/pip" download -q --no-deps --no-binary :all: -d /tmp/orpo4j-sdist llama-cpp-python==0.3.36
  tar -xzf /tmp/orpo4j-sdist/llama_cpp_python-0.3.36.tar.gz -C "$(dirname "$LLAMA_CPP_SDIST")"
  mv "$(dirname "$LLAMA_CPP_SDIST")/llama_cpp_python-0.3.36" "$LLAMA_CPP_SDIST"
fi
echo "== gguf_golden.py"
"$PY" "$HERE/gguf_golden.py" "$LLAMA_CPP_SDIST/vendor/llama.cpp" src/test/resources/golden/gguf

GOLDEN=src/test/resources/golden
CHANGED=$(git status --porcelain --untracked-files=all -- "$GOLDEN")
if [[ -z "$CHANGED" ]]; then
  echo "goldens: every committed byte regenerated unchanged"
else
  echo "goldens: these files differ from the last commit:"
  echo "$CHANGED"
  [[ $CHECK == 1 ]] && exit 1
fi
exit 0
