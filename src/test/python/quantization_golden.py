"""Golden values for org.orpo4j.quantization: bitsandbytes' own 4-bit blockwise quantization on the CPU.

For every case tensor (odd sizes, zero blocks, outliers, values on the code book's midpoints) and every setting
(nf4 / fp4, with and without nested "double" quantization of the absmax values), blockwise.safetensors holds what
bitsandbytes.functional.quantize_4bit returns (blocksize 64) and what dequantize_4bit gives back:

  <case>                          the input, F32
  <case>.<type>[.nested].packed   the packed codes, U8 [(n+1)//2, 1] (two per byte, the first in the high nibble)
  <case>.<type>.absmax            the absmax per block, F32 [blocks]
  <case>.<type>.nested.absmax     the absmax quantized to 8 bits, U8 [blocks]
  <case>.<type>.nested.nested_absmax, .offset
                                  state2's absmax F32 [ceil(blocks / 256)] and the subtracted mean, F32 [1]
  <case>.<type>[.nested].dequantized
                                  dequantize_4bit's result, F32 [shape]
  dynamic_map                     create_dynamic_map(), the 8-bit code of the nested absmax, F32 [256]
  blockwise8.input, .packed, .absmax
                                  quantize_blockwise with that map, blocksize 256 (the nested step alone, on 40 000
                                  values: where the C++ lookup table's index rounds, and random ones)

dequantize_4bit on this CPU (AVX-512) goes through bitsandbytes' C++ kernel, which indexes the absmax per row and
is wrong when a row is not a whole number of blocks but a multiple of 16 values (the row48 case: [16, 48]);
its default (torch) backend and its CUDA kernel index the blocks of the flat tensor, as quantize_4bit does. The
golden stores the default backend's result; the script checks that the CPU kernel agrees wherever it is not hit by
that defect and says where it is.

Run from the repository root with the reference venv (src/test/python/regenerate_goldens.sh runs every script):
    python src/test/python/quantization_golden.py
Output: src/test/resources/golden/quantization/blockwise.safetensors, committed; Java tests never run Python.
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_common as hf  # noqa: E402

import bitsandbytes.functional as F  # noqa: E402
from bitsandbytes.backends.default.ops import _dequantize_4bit_compute  # noqa: E402
from bitsandbytes.backends.utils import _get_4bit_code  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

OUT = Path("src/test/resources/golden/quantization")
BLOCKSIZE = 64


def cases(g):
    """The input tensors, float32, by name."""
    out = {}
    out["odd"] = torch.randn(3, 37, generator=g)  # 111 values: one full block, a remainder of 47, an odd count
    zeros = torch.randn(2, 100, generator=g)
    zeros[0, :64] = 0  # a whole zero block
    zeros[1, 92:] = 0  # a zero remainder block (200 = 3 * 64 + 8)
    zeros[0, 70:80] = 0
    out["zeros"] = zeros
    outliers = torch.randn(7, 96, generator=g) * 0.02
    outliers[0, 5] = 1e4
    outliers[3, 40] = -3e3
    outliers[5, 10] = 1e-30
    outliers[6, :] = 1e-41  # subnormal block
    out["outliers"] = outliers
    out["row48"] = torch.randn(16, 48, generator=g) * torch.linspace(0.1, 3, 16)[:, None]
    out["large"] = torch.randn(64, 320, generator=g) * torch.rand(64, 1, generator=g)  # 320 blocks: nested rem
    out["midpoints"] = midpoint_block()
    return out


def midpoint_block():
    """Blocks whose absmax is 1, filled with the code books' midpoints and their float neighbours: the ties."""
    values = []
    for quant_type in ("nf4", "fp4"):
        code = torch.sort(_get_4bit_code(quant_type, torch.device("cpu"))).values
        mids = (code[:-1] + code[1:]) / 2
        for m in mids:
            values += [float(m), float(torch.nextafter(m, torch.tensor(2.0))),
                       float(torch.nextafter(m, torch.tensor(-2.0)))]
    values += [1.0, -1.0, 0.0, -0.0]
    while len(values) % BLOCKSIZE:
        values.append(1.0)
    return torch.tensor(values, dtype=torch.float32).reshape(-1, BLOCKSIZE)


def dequantize_reference(packed, state):
    """dequantize_4bit as bitsandbytes' default backend computes it (flat blocks)."""
    absmax = state.absmax
    if state.nested:
        absmax = F.dequantize_blockwise(state.absmax, state.state2) + state.offset
    code = _get_4bit_code(state.quant_type, packed.device)
    return _dequantize_4bit_compute(packed.reshape(-1), absmax, code, state.blocksize, state.shape, torch.float32)


def blockwise8_inputs(g):
    """Blocks of 256 led by 1.0 (so x / absmax is x itself) holding the values where the C++ lookup-table index
    (x + 1) * 0.5 * 65535 + 0.5 crosses an integer and their float neighbours, then random blocks and a zero one."""
    k = torch.arange(1, 65536, 9, dtype=torch.float64)
    edges = ((2 * k - 1) / 65535 - 1).float()
    up = torch.nextafter(edges, torch.tensor(2.0))
    down = torch.nextafter(edges, torch.tensor(-2.0))
    near = torch.stack([edges, up, down], dim=1).reshape(-1)
    rows = near[: near.numel() // 255 * 255].reshape(-1, 255)
    led = torch.cat([torch.ones(rows.shape[0], 1), rows], dim=1).reshape(-1)
    rest = 40000 - led.numel() - 256
    return torch.cat([led, torch.randn(rest, generator=g), torch.zeros(256)])

def main():
    hf.deterministic()
    g = torch.Generator().manual_seed(28)
    tensors = {"dynamic_map": F.create_dynamic_map()}
    for name, x in cases(g).items():
        tensors[name] = x
        for quant_type in ("nf4", "fp4"):
            for nested in (False, True):
                key = f"{name}.{quant_type}" + (".nested" if nested else "")
                packed, state = F.quantize_4bit(x, blocksize=BLOCKSIZE, quant_type=quant_type,
                                                compress_statistics=nested)
                tensors[key + ".packed"] = packed
                tensors[key + ".absmax"] = state.absmax
                if nested:
                    assert torch.equal(state.state2.code, tensors["dynamic_map"])
                    assert state.state2.blocksize == 256
                    tensors[key + ".nested_absmax"] = state.state2.absmax
                    tensors[key + ".offset"] = state.offset.reshape(1)
                reference = dequantize_reference(packed, state)
                kernel = F.dequantize_4bit(packed, state)
                tensors[key + ".dequantized"] = reference
                if not torch.equal(kernel, reference):
                    last = x.shape[-1]
                    assert last % BLOCKSIZE and last % 16 == 0, f"{key}: the CPU kernel differs unexpectedly"
                    print(f"{key}: bitsandbytes' AVX-512 dequantize_4bit differs (rows of {last} values, blocks "
                          f"of {BLOCKSIZE}): max |diff| {(kernel - reference).abs().max().item():.3g}")
    x8 = blockwise8_inputs(g)
    q8, s8 = F.quantize_blockwise(x8, code=tensors["dynamic_map"], blocksize=256)
    tensors["blockwise8.input"] = x8
    tensors["blockwise8.packed"] = q8
    tensors["blockwise8.absmax"] = s8.absmax
    OUT.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT / "blockwise.safetensors"),
              metadata={"format": "pt"})  # one key: safetensors writes a map's keys in no fixed order
    print(f"blockwise.safetensors: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
