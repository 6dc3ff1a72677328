"""Golden scale sequences of PyTorch's own GradScaler for orpo4j's LossScalerTest.

A one-parameter model is trained with torch.amp.GradScaler on a scripted series of steps: on an "overflow" step
the loss is multiplied by inf, so the unscaled gradient is not finite and GradScaler skips the optimizer step and
backs off; on a "clean" step the gradient is finite. After every step the script records GradScaler's scale and
growth tracker and whether the parameter moved. Two scripts: a short one with growth_interval 3 (every rule,
including growth after skips), and the defaults (2^16, x2, x0.5, 2000) over 4,104 steps, recorded where the scale
changes. Needs torch >= 2.3 (GradScaler on CPU; CUDA is used when present). Writes JSON to the path given.
"""
import json
import sys

import torch


def run(script, device, **kwargs):
    p = torch.nn.Parameter(torch.ones(1, device=device))
    opt = torch.optim.SGD([p], lr=0.01)
    scaler = torch.amp.GradScaler(device, **kwargs)
    rows = []
    for k, step in enumerate(script):
        opt.zero_grad(set_to_none=True)
        factor = float("inf") if step == "overflow" else 1.0
        loss = (p * factor).sum() if step == "overflow" else (p * p).sum()
        before = p.detach().clone()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        rows.append({"step": k + 1, "event": step, "scale": scaler.get_scale(),
                     "growth_tracker": int(scaler._growth_tracker.item()),
                     "updated": bool((p.detach() != before).any().item())})
    return rows


def main():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    short = ["clean", "clean", "clean", "overflow", "clean", "clean", "overflow", "overflow", "clean", "clean",
             "clean", "clean", "clean", "clean", "clean", "overflow", "clean"]
    long_script = ["overflow"] * 3 + ["clean"] * 2000 + ["overflow"] + ["clean"] * 2100
    long_rows = run(long_script, device)
    changes = [r for i, r in enumerate(long_rows)
               if i == 0 or r["scale"] != long_rows[i - 1]["scale"] or i == len(long_rows) - 1]
    out = {"torch": torch.__version__, "device": device,
           "short": {"init_scale": 1024.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3,
                     "steps": run(short, device, init_scale=1024.0, growth_interval=3)},
           "defaults": {"events": long_script, "changes": changes,
                        "final": long_rows[-1]}}
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
    print(f"grad_scaler_golden: torch {torch.__version__} on {device}: final scale {long_rows[-1]['scale']}")


if __name__ == "__main__":
    main()
