"""Trajectories from TRL's own ORPOTrainer (trl.experimental.orpo) under the HF Trainer, for the golden scripts.

    log, trainer = run_orpo(model, tokenizer, rows, settings, peft_config=None, pretokenized=False)

`log` holds one line per optimizer step: TRL's and the Trainer's logged values (loss, grad_norm, learning_rate,
epoch, nll_loss, log_odds_ratio, log_odds_chosen, rewards/*, logps/*, logits/*), plus `real_logits/chosen` and
`real_logits/rejected`: the mean of the same logits over the real (non-pad) predicting positions only, what orpo4j's
shared-prompt layout reports as logits/* (it computes no padding); computed from TRL's logits of each micro-batch and
averaged per step exactly as TRL averages its metrics.

What is set so that a trajectory is reproducible and comparable:
- train_sampling_strategy "sequential": file order every epoch (orpo4j: shuffle = false);
- float32 on the CPU (bf16 off), no gradient checkpointing, dropout disabled (TRL's default), optim adamw_torch;
- logging every step, no saving, no reporting.
Pre-tokenized rows (the tiny-vocabulary goldens, whose ids no real tokenizer produces) replace only TRL's
tokenize_row by the same row layout built from the ids (BOS and EOS already in them); batching, loss, metrics and
optimisation are TRL's and the Trainer's.
"""
import os
import tempfile

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import datasets  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import PrinterCallback  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402
from trl.experimental.orpo import ORPOConfig, ORPOTrainer  # noqa: E402

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()
datasets.disable_progress_bars()

IGNORE = -100
LOGGED = ["loss", "grad_norm", "learning_rate", "epoch", "nll_loss", "log_odds_ratio", "log_odds_chosen",
          "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
          "logps/rejected", "logits/chosen", "logits/rejected", "real_logits/chosen", "real_logits/rejected"]


class _RealLogitsMixin:
    """Adds real_logits/* to TRL's metrics: the logits' mean over non-pad predicting positions of each half."""

    def concatenated_forward(self, model, batch):
        out = super().concatenated_forward(model, batch)
        chosen_logits, rejected_logits = out[2], out[3]
        b = chosen_logits.shape[0]
        mask = self.concatenated_inputs(batch, padding_value=self.padding_value,
                                        device=chosen_logits.device)["concatenated_attention_mask"]
        real = mask[:, 1:].to(chosen_logits.dtype).unsqueeze(-1)  # [2B, T-1, 1]
        vocab = chosen_logits.shape[-1]
        self._real_logits = {
            name: float((z.detach() * m).sum() / (m.sum() * vocab))
            for name, z, m in (("chosen", chosen_logits, real[:b]), ("rejected", rejected_logits, real[b:]))}
        return out

    def get_batch_loss_metrics(self, model, batch, train_eval="train"):
        loss, metrics = super().get_batch_loss_metrics(model, batch, train_eval)
        for name, value in self._real_logits.items():
            metrics[("eval_" if train_eval == "eval" else "") + "real_logits/" + name] = value
        return loss, metrics


class OrpoTrainer(_RealLogitsMixin, ORPOTrainer):
    """TRL's ORPOTrainer with the real_logits/* metrics."""


class PretokenizedOrpoTrainer(_RealLogitsMixin, ORPOTrainer):
    """Rows hold token ids (prompt_ids, chosen_ids, rejected_ids): TRL's row layout is built from them as is."""

    def tokenize_row(self, feature, model=None):
        p, c, r = list(feature["prompt_ids"]), list(feature["chosen_ids"]), list(feature["rejected_ids"])
        row = {"prompt_input_ids": p, "prompt_attention_mask": [1] * len(p)}
        for key, answer in (("chosen", c), ("rejected", r)):
            row[key + "_input_ids"] = p + answer
            row[key + "_attention_mask"] = [1] * (len(p) + len(answer))
            row[key + "_labels"] = [IGNORE] * len(p) + answer
        return row


def stand_in_tokenizer(vocab, pad=0, bos=1, eos=2):
    """A word-level tokenizer over ids 0..vocab-1 ("t0", "t1", ...): it supplies TRL the pad/BOS/EOS ids of
    pre-tokenized rows and is never asked to tokenize text."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast
    words = {f"t{i}": i for i in range(vocab)}
    tok = Tokenizer(WordLevel(words, unk_token=f"t{pad}"))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=f"t{pad}", bos_token=f"t{bos}",
                                   eos_token=f"t{eos}", unk_token=f"t{pad}")


def orpo_config(settings, output_dir):
    """ORPOConfig from a settings dict (the keys the goldens store next to their trajectories)."""
    return ORPOConfig(
        output_dir=output_dir,
        per_device_train_batch_size=settings["per_device_train_batch_size"],
        gradient_accumulation_steps=settings["gradient_accumulation_steps"],
        max_steps=settings["max_steps"],
        learning_rate=settings["learning_rate"],
        lr_scheduler_type=settings.get("lr_scheduler_type", "linear"),
        warmup_steps=settings.get("warmup_steps", 0),
        weight_decay=settings.get("weight_decay", 0.0),
        max_grad_norm=settings.get("max_grad_norm", 1.0),
        beta=settings["beta"],
        max_length=settings.get("max_length", 1024),
        seed=settings.get("seed", 42),
        train_sampling_strategy="sequential",
        optim="adamw_torch",
        bf16=False, fp16=False, use_cpu=True,
        activation_checkpointing=False,
        disable_dropout=True,
        logging_steps=1, save_strategy="no", report_to=[],
        dataloader_num_workers=0, disable_tqdm=True,
        remove_unused_columns=False,
    )


def run_orpo(model, tokenizer, rows, settings, peft_config=None, pretokenized=False, before_training=None):
    """Trains with TRL; returns (log lines, trainer). before_training(trainer) runs after the trainer (and its PEFT
    model) exist and before the first step, e.g. to save PEFT's initial adapter."""
    with tempfile.TemporaryDirectory() as out:
        args = orpo_config(settings, out)
        cls = PretokenizedOrpoTrainer if pretokenized else OrpoTrainer
        trainer = cls(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                      peft_config=peft_config)
        trainer.remove_callback(PrinterCallback)
        if before_training is not None:
            before_training(trainer)
        trainer.train()
    log = []
    for entry in trainer.state.log_history:
        if "loss" in entry and "train_runtime" not in entry:
            log.append(dict({"step": entry["step"]}, **{k: float(entry[k]) for k in LOGGED}))
    assert len(log) == settings["max_steps"], f"{len(log)} log lines for {settings['max_steps']} steps"
    return log, trainer


def tokenized_rows(trainer):
    """TRL's tokenized training rows (prompt, chosen and rejected ids, labels), in dataset order."""
    out = []
    for row in trainer.train_dataset:
        out.append({k: list(row[k]) for k in ("prompt_input_ids", "chosen_input_ids", "chosen_labels",
                                              "rejected_input_ids", "rejected_labels")})
    return out


def trained_state(model, names):
    """The named parameters of a (non-PEFT) model after training, float32, detached."""
    state = model.state_dict()
    return {n: state[n].detach().float().clone() for n in names}


def settings_record(settings):
    """What the golden stores next to a trajectory: every setting, then TRL's and torch's versions."""
    import transformers
    import trl
    return dict(settings, versions={"torch": torch.__version__, "transformers": transformers.__version__,
                                    "trl": trl.__version__})
