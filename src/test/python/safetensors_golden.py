"""Writes src/test/resources/golden/safetensors/golden.safetensors by hand: the safetensors package always writes
its header in offset order with __metadata__ first, and this file must not (see Layout).

Layout: u64 little-endian header length | JSON header (space-padded to 8 bytes) | raw little-endian tensor bytes.
The JSON lists the tensors in a different order from their offsets and puts __metadata__ last, to check that a
reader does not rely on either. round_bf16 is torch's own float32 -> bfloat16 conversion of round_in, the oracle for
orpo4j's Java rounding. Run from the repository root with the reference venv:
    python src/test/python/safetensors_golden.py
"""
import json
import math
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "golden", "safetensors", "golden.safetensors")


def raw(t):
    """Little-endian bytes of a contiguous tensor (bf16 via its int16 view: numpy has no bfloat16)."""
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def main():
    g = torch.Generator().manual_seed(1234)
    f32 = torch.tensor([[1.0, -2.5, 3.25], [0.0, -0.0, 1e-30]], dtype=torch.float32)
    bf16 = torch.tensor([1.0, -3.0, 2.0 ** -133, -(2.0 ** -133), math.inf, -math.inf, math.nan, 1.0 / 3.0],
                        dtype=torch.float32).to(torch.bfloat16)
    f16 = torch.tensor([[1.0, -2.0, 65504.0, 2.0 ** -24], [1023 * 2.0 ** -24, -0.0, math.inf, math.nan]],
                       dtype=torch.float16)
    i64 = torch.tensor([-1, 0, 2 ** 40 + 1], dtype=torch.int64)
    # Rounding oracle: normal values over many scales, and random finite bit patterns. NaN is left out: torch's
    # vectorised path writes 0xFFFF (see bf16_special), its scalar c10::BFloat16 path 0x7FC0, which orpo4j follows.
    scales = torch.logspace(-40, 38, 256, dtype=torch.float64)
    normal = (torch.randn(256, generator=g, dtype=torch.float64) * scales).to(torch.float32)
    bits = torch.randint(-2 ** 31, 2 ** 31 - 1, (512,), generator=g, dtype=torch.int64).to(torch.int32)
    patterns = bits.view(torch.float32)
    patterns = patterns[torch.isfinite(patterns)][:256]
    round_in = torch.cat([normal, patterns])
    round_bf16 = round_in.to(torch.bfloat16)

    tensors = {  # data order
        "f32": ("F32", f32),
        "bf16_special": ("BF16", bf16),
        "f16_special": ("F16", f16),
        "i64": ("I64", i64),
        "round_in": ("F32", round_in),
        "round_bf16": ("BF16", round_bf16),
    }
    offsets, data, pos = {}, b"", 0
    for name, (dtype, t) in tensors.items():
        b = raw(t)
        offsets[name] = (dtype, list(t.shape), [pos, pos + len(b)])
        data += b
        pos += len(b)
    header = {}
    for name in reversed(list(tensors)):  # JSON order differs from offset order
        dtype, shape, off = offsets[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": off}
    header["__metadata__"] = {"format": "pt", "source": "safetensors_golden.py"}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
    print(OUT, 8 + len(h) + len(data), "bytes;", round_in.numel(), "rounding cases")


if __name__ == "__main__":
    main()
