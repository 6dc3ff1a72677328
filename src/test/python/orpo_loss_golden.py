"""Golden values for org.orpo4j.loss.OrpoLossGoldenTest.

The loss and metrics of TRL's ORPOTrainer (concatenated_forward, get_batch_logps(average_log_prob=True),
odds_ratio_loss, get_batch_loss_metrics) written out with plain torch ops and evaluated in FLOAT64 on float32
logits, plus the loss gradient w.r.t. the logits. Hand-written because TRL cannot give these values: its
odds_ratio_loss casts the log-probabilities to float32, and it has neither alpha nor disable_prompt_loss.
promptLoss=false follows the official ORPO repo's disable_prompt_loss (NLL over completion tokens only), and
alpha scales the odds-ratio term (alpha=1 is TRL). The TRL run (alpha 1, prompt loss) is checked against TRL's own
get_batch_logps and odds_ratio_loss (trl.experimental.orpo) before anything is written.

Run from the repository root with the reference venv: python src/test/python/orpo_loss_golden.py
(writes src/test/resources/golden/loss/orpo_loss_golden.json)
"""
import json
import os

import torch
import torch.nn.functional as F

B, T, V = 3, 7, 11
PAD = 0
IGNORE = -100
OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "golden", "loss", "orpo_loss_golden.json")
RUNS = [
    {"alpha": 1.0, "beta": 0.1, "prompt_loss": True},  # TRL's defaults
    {"alpha": 0.5, "beta": 0.25, "prompt_loss": False},  # official repo's disable_prompt_loss
]


def make_batch(gen):
    """Chosen rows then rejected rows, each prompt + completion + right padding (prompt lengths 1-3)."""
    lengths = [(2, 4), (1, 6), (3, 2), (2, 3), (1, 2), (3, 4)]  # (prompt, completion) per row
    ids = torch.full((2 * B, T), PAD, dtype=torch.long)
    mask = torch.zeros((2 * B, T), dtype=torch.long)
    labels = torch.full((2 * B, T), IGNORE, dtype=torch.long)
    for row, (p, c) in enumerate(lengths):
        tokens = torch.randint(1, V, (p + c,), generator=gen)
        if row >= B:  # a pair shares its prompt
            tokens[:p] = ids[row - B, :p]
        ids[row, : p + c] = tokens
        mask[row, : p + c] = 1
        labels[row, p : p + c] = tokens[p:]
    logits = (torch.randn((2 * B, T, V), generator=gen) * 2.0).float()
    assert all(lengths[r][0] == lengths[r + B][0] for r in range(B))
    # sharpen a few targets so that both branches of log1mexp (p > 1/2 and p < 1/2) are exercised
    for row in (0, 4):
        for t in range(T - 1):
            if labels[row, t + 1] != IGNORE:
                logits[row, t, labels[row, t + 1]] += 6.0
    return logits, ids, mask, labels


def average_logps(logits, labels):
    """TRL get_batch_logps(average_log_prob=True): shift, gather, mean over labels != -100."""
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != IGNORE
    labels[~loss_mask] = 0
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    return (per_token * loss_mask).sum(-1) / loss_mask.sum(-1)


def nll(logits, targets):
    """TRL cross_entropy_loss: shift by one, mean over targets != -100."""
    return F.cross_entropy(logits[:, :-1, :].reshape(-1, V), targets[:, 1:].reshape(-1), ignore_index=IGNORE)


def orpo(logits, ids, mask, labels, alpha, beta, prompt_loss):
    if prompt_loss:  # TRL: "orpo chosen nll loss is computed over the full prompt and response"
        targets = torch.where(mask == 1, ids, torch.full_like(ids, IGNORE))
    else:  # official ORPO repo, disable_prompt_loss: the prompt is masked out of the NLL
        targets = labels
    nll_loss = nll(logits[:B], targets[:B])
    logps = average_logps(logits, labels)
    chosen, rejected = logps[:B], logps[B:]
    log_odds = (chosen - rejected) - (torch.log1p(-torch.exp(chosen)) - torch.log1p(-torch.exp(rejected)))
    ratio = F.logsigmoid(log_odds)
    loss = nll_loss - alpha * beta * ratio.mean()
    rewards_chosen = beta * chosen.detach()
    rewards_rejected = beta * rejected.detach()
    metrics = {
        "loss": loss,
        "nll_loss": nll_loss,
        "log_odds_ratio": ratio.mean(),
        "log_odds_chosen": log_odds.mean(),
        "rewards/chosen": rewards_chosen.mean(),
        "rewards/rejected": rewards_rejected.mean(),
        "rewards/accuracies": (rewards_chosen > rewards_rejected).double().mean(),
        "rewards/margins": (rewards_chosen - rewards_rejected).mean(),
        "logps/chosen": chosen.mean(),
        "logps/rejected": rejected.mean(),
        "logits/chosen": logits[:B, :-1, :].mean(),
        "logits/rejected": logits[B:, :-1, :].mean(),
    }
    return loss, {k: float(v.detach()) for k, v in metrics.items()}


def check_against_trl(logits32, ids, mask, labels, run, metrics):
    """TRL's own functions on the same float32 logits agree with the float64 values to float32 precision."""
    import types
    from trl.experimental.orpo import ORPOTrainer
    logps = ORPOTrainer.get_batch_logps(logits32, labels, average_log_prob=True)
    stub = types.SimpleNamespace(beta=run["beta"], accelerator=types.SimpleNamespace(device=torch.device("cpu")))
    losses, chosen_rewards, rejected_rewards, ratio, log_odds = ORPOTrainer.odds_ratio_loss(stub, logps[:B], logps[B:])
    targets = torch.where(mask == 1, ids, torch.full_like(ids, IGNORE))
    nll_loss = nll(logits32[:B], targets[:B])
    trl = {"loss": nll_loss - losses.mean(), "nll_loss": nll_loss, "log_odds_ratio": ratio,
           "log_odds_chosen": log_odds, "rewards/chosen": chosen_rewards.mean(),
           "rewards/rejected": rejected_rewards.mean(), "logps/chosen": logps[:B].mean(),
           "logps/rejected": logps[B:].mean()}
    for name, value in trl.items():
        assert abs(float(value) - metrics[name]) <= 1e-5 * max(abs(metrics[name]), 1e-2), (name, float(value),
                                                                                             metrics[name])
    print("TRL's get_batch_logps and odds_ratio_loss agree with the float64 values")


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(2403_07691)
    logits32, ids, mask, labels = make_batch(gen)
    runs = []
    for run in RUNS:
        logits = logits32.double().requires_grad_(True)
        loss, metrics = orpo(logits, ids, mask, labels, run["alpha"], run["beta"], run["prompt_loss"])
        loss.backward()
        runs.append(dict(run, metrics=metrics, grad=[float(g) for g in logits.grad.flatten()]))
        if run["alpha"] == 1.0 and run["prompt_loss"]:
            check_against_trl(logits32, ids, mask, labels, run, metrics)
    golden = {
        "generator": "src/test/python/orpo_loss_golden.py (torch " + torch.__version__ + ", float64)",
        "pairs": B,
        "length": T,
        "vocab": V,
        "logits": [float(x) for x in logits32.flatten()],  # float32 values, exact in decimal
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "labels": labels.tolist(),
        "runs": runs,
    }
    with open(OUT, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print("per-row average logps", average_logps(logits32.double(), labels).tolist())
    for run in runs:
        print(run["alpha"], run["beta"], run["prompt_loss"], json.dumps(run["metrics"]))


if __name__ == "__main__":
    main()
