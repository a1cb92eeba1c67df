"""GVM pretraining: a token-level value model fit to returns on the reward model's preference data.

`python -m dvpo.gvm.train --gvm.config JSON --gvm.test_pairs F --gvm.report F <openrlhf.cli.train_rm flags>` (through repro.cpu.run on
CPU, `deepspeed --module` on GPU). The reward model's own CLI flags and defaults configure the
model, DeepSpeed strategy and optimizer (captured from train_rm's parser, see
dvpo/openrlhf_hooks.py), so the GVM trains exactly as the reward model or critic would.

The model is OpenRLHF's "critic" type (a causal LM with a per-token scalar head, zero-initialised
here). Every (prompt, chosen, rejected) pair gives two samples whose sentence return is +1/-1
(`preference`, the official code) or the reward model's score (`reward_model`); per-token targets
are TD(lambda) returns bootstrapped from the current values (`td_lambda`, the official default)
or Monte-Carlo returns-to-go (`monte_carlo`); the loss is 0.5 * masked MSE. At the end it reports
value accuracy on held-out pairs (V(chosen) > V(rejected) at the last token), explained
variance and the held-out loss before and after training, into report.json, and saves the model like OpenRLHF saves a critic.
With --data.apply_chat_template the pairs are formatted with the tokenizer's chat template (repro/chat.py),
as OpenRLHF's datasets format the prompts the policy is trained on.
With `context_trajectories: k` every sample reads k SFT trajectories of other prompts first (dvpo/context.py);
both answers of a pair get the same context, and values are still trained and read on the answer only.
"""

from __future__ import annotations

import argparse
import math
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from dvpo.advantage import (explained_variance, last_index, masked_mean, monte_carlo_targets, td_lambda_targets,
                            value_loss)
from dvpo.context import conditioned, draw_context, pack_context
from dvpo.gvm.config import GVMConfig
from repro.chat import chat_prompt, chat_response
from repro.store import read_jsonl


def gvm_parser() -> argparse.ArgumentParser:
    """The GVM's own flags: its config (the recipe's methods.dvpo.gvm, as JSON) and the stage's files."""
    ap = argparse.ArgumentParser(prog="dvpo.gvm.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gvm.config", dest="config", type=GVMConfig.model_validate_json, default=GVMConfig(),
                    help="GVMConfig as JSON (dvpo/gvm/config.py); default: every field's default")
    ap.add_argument("--gvm.reward_model", dest="reward_model", default=None,
                    help="reward model folder, for returns: reward_model")
    ap.add_argument("--gvm.test_pairs", dest="test_pairs", required=True, help="held-out pairs (jsonl)")
    ap.add_argument("--gvm.report", dest="report", required=True, help="report.json to write")
    return ap


@dataclass
class Sample:
    ids: list[int]
    prompt_len: int
    ret: float


def texts(tokenizer, prompt: str, response: str, chat_template: bool) -> tuple[str, str]:
    if chat_template:  # the GVM must value the very text PPO rolls out: the templated prompt and its answer
        return chat_prompt(tokenizer, prompt), chat_response(tokenizer, prompt, response)
    return prompt, response


def encode(tokenizer, prompt: str, response: str, ret: float, max_len: int, chat_template: bool = False,
           context: list[int] = ()) -> Sample:
    prompt, response = texts(tokenizer, prompt, response, chat_template)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(prompt + response, add_special_tokens=False)["input_ids"][:max_len]
    prompt_len = min(len(prompt_ids), len(ids) - 1)
    ids, scored_from = conditioned(context, ids[:prompt_len], ids[prompt_len:])
    return Sample(ids, scored_from, ret)


class ContextPool:
    """Context trajectories for GVM training: the SFT policy's samples that the pairs stage drew (the chosen and
    the rejected answer of every training pair), each as prompt + answer + EOS, as a rollout ends. Draws are
    seeded and never share the scored prompt."""

    def __init__(self, tokenizer, pairs: list[dict], chat_template: bool, k: int, budget: int, seed: int):
        self.prompts = [pair["prompt"] for pair in pairs for _ in ("chosen", "rejected")]
        self.ids = [tokenizer("".join(texts(tokenizer, pair["prompt"], pair[key], chat_template)),
                              add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
                    for pair in pairs for key in ("chosen", "rejected")]
        self.k, self.budget, self.rng = k, budget, random.Random(seed)
        self.used: list[int] = []  # trajectories and tokens of each context drawn
        self.tokens: list[int] = []

    def context_for(self, prompt: str) -> list[int]:
        picks = draw_context(self.prompts, prompt, self.k, self.rng)
        ids, used = pack_context([self.ids[i] for i in picks], self.budget)
        self.used.append(used)
        self.tokens.append(len(ids))
        return ids


def pair_samples(tokenizer, pairs: list[dict], returns: list[tuple[float, float]], max_len: int,
                 chat_template: bool = False, contexts: ContextPool | None = None) -> list[Sample]:
    out = []
    for pair, (r_chosen, r_rejected) in zip(pairs, returns):
        context = contexts.context_for(pair["prompt"]) if contexts else []  # one context for both answers
        out.append(encode(tokenizer, pair["prompt"], pair["chosen"], r_chosen, max_len, chat_template, context))
        out.append(encode(tokenizer, pair["prompt"], pair["rejected"], r_rejected, max_len, chat_template, context))
    return out


def collate(samples: list[Sample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ids, attention mask, the response's action mask (critic layout: one shorter)
    and the sentence returns."""
    width = max(len(s.ids) for s in samples)
    ids = torch.full((len(samples), width), pad_id, dtype=torch.long)
    attention = torch.zeros_like(ids)
    for row, s in enumerate(samples):
        ids[row, :len(s.ids)] = torch.tensor(s.ids)
        attention[row, :len(s.ids)] = 1
    positions = torch.arange(1, width).unsqueeze(0)
    starts = torch.tensor([s.prompt_len for s in samples]).unsqueeze(1)
    action = ((positions >= starts) & attention[:, 1:].bool()).long()
    return {"ids": ids, "attention": attention, "action": action,
            "returns": torch.tensor([s.ret for s in samples], dtype=torch.float32)}


def preference_returns(pairs: list[dict]) -> list[tuple[float, float]]:
    return [(1.0, -1.0)] * len(pairs)


def reward_model_returns(path: str, pairs: list[dict], chat_template: bool = False) -> list[tuple[float, float]]:
    from repro.evals.pair_accuracy import load_scalar_model, score_pairs

    model, tokenizer = load_scalar_model(path, "reward")
    chosen, rejected = score_pairs(model, tokenizer, pairs, "reward", chat_template)
    return list(zip(chosen.tolist(), rejected.tolist()))


def targets_for(values, batch, cfg) -> torch.Tensor:
    if cfg.targets == "td_lambda":
        return td_lambda_targets(values.detach().float(), batch["returns"], batch["action"], cfg.gamma, cfg.lambd)
    return monte_carlo_targets(batch["returns"], batch["action"], cfg.gamma)


def last_values(values: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    return values.gather(1, last_index(action).unsqueeze(1)).squeeze(1)


@torch.no_grad()
def evaluate(model, samples: list[Sample], pad_id: int, batch_size: int, gamma: float) -> dict:
    """Chosen/rejected samples alternate: value accuracy at the last token, explained variance
    of the values against the Monte-Carlo returns, and the mean value loss against them."""
    model.eval()
    lasts, losses = [], []
    all_values, all_targets, all_masks = [], [], []
    for start in range(0, len(samples), batch_size):
        batch = collate(samples[start:start + batch_size], pad_id)
        device = torch.cuda.current_device()
        values = model(batch["ids"].to(device), action_mask=batch["action"].to(device),
                       attention_mask=batch["attention"].to(device)).float().cpu()
        targets = monte_carlo_targets(batch["returns"], batch["action"], gamma)
        lasts.append(last_values(values, batch["action"]))
        losses.append(float(value_loss(values, targets, batch["action"])))
        all_values += list(values * batch["action"])
        all_targets += list(targets)
        all_masks += list(batch["action"])
    model.train()
    last = torch.cat(lasts)
    chosen, rejected = last[0::2], last[1::2]
    pad = torch.nn.utils.rnn.pad_sequence
    values, targets, masks = (pad(x, batch_first=True) for x in (all_values, all_targets, all_masks))
    return {
        "pair_accuracy": float((chosen > rejected).float().mean()),
        "pair_margin_mean": float((chosen - rejected).mean()),
        "explained_variance": explained_variance(values, targets, masks.float()),
        "mc_value_loss": sum(losses) / len(losses),
        "n_pairs": len(chosen),
    }


def load_checkpoint(strategy, model, ckpt) -> dict:
    """The GVM's own resume, with OpenRLHF's --ckpt.* flags as every trainer has them: model, optimiser and
    scheduler from the latest DeepSpeed checkpoint under ckpt.path, and where the loop stood."""
    if not (ckpt.load_enable and (Path(ckpt.path) / "latest").is_file()):
        return {}
    _, states = strategy.load_ckpt(model, ckpt.path)
    strategy.print(f"resumed from {ckpt.path}: optimiser step {states['step']}, {states['batches']} batches done")
    return states


def maybe_save_checkpoint(strategy, model, ckpt, step: int, accumulation: int, saved: int, states: dict) -> int:
    """Save once every ckpt.save_steps optimiser steps, at the first point where a batch and a gradient-
    accumulation window both end (nothing half-accumulated is lost), keeping the newest ckpt.max_num.
    `saved` is the optimiser step of the last save; returns it, updated."""
    every = ckpt.save_steps
    optimizer_steps = step // accumulation
    if every is None or every <= 0 or step % accumulation or optimizer_steps // every <= saved // every:
        return saved
    strategy.save_ckpt(model, ckpt.path, f"global_step{optimizer_steps}", ckpt.max_num, ckpt.max_mem, states)
    return optimizer_steps


def save_gvm(strategy, model, tokenizer, args) -> None:
    """The GVM as one Hugging Face model: a LoRA backbone is merged first (OpenRLHF would save the adapter alone,
    without the value head), so the frozen GVM actor loads it like a fully trained one."""
    bare = strategy._unwrap_model(model)
    if args.ds.lora.rank > 0:
        if args.ds.zero_stage == 3:
            raise SystemExit("a LoRA GVM is merged before saving, which needs whole parameters: use zero_stage < 3")
        if strategy.is_rank_0():
            merged = bare.merge_and_unload()
            merged.config.value_head_prefix = args.ds.value_head_prefix
            merged.save_pretrained(args.ckpt.output_dir)
            tokenizer.save_pretrained(args.ckpt.output_dir)
        return
    bare.config.value_head_prefix = args.ds.value_head_prefix
    strategy.save_model(model, tokenizer, args.ckpt.output_dir)


def train(args, files: argparse.Namespace) -> dict:
    cfg: GVMConfig = files.config
    from openrlhf.models import get_llm_for_sequence_regression
    from openrlhf.utils import get_strategy, get_tokenizer

    strategy = get_strategy(args)
    strategy.setup_distributed()
    model = get_llm_for_sequence_regression(
        args.model.model_name_or_path, "critic",
        attn_implementation=args.ds.attn_implementation, param_dtype=args.ds.param_dtype,
        lora_rank=args.ds.lora.rank, lora_alpha=args.ds.lora.alpha, target_modules=args.ds.lora.target_modules,
        lora_dropout=args.ds.lora.dropout, ds_config=strategy.get_ds_train_config(),
        init_value_head=True, value_head_prefix=args.ds.value_head_prefix,
    )
    # The official GVM starts from a zero head: every value 0, so the first targets are pure returns.
    # A zero head also passes no gradient to the backbone, which a small backbone cannot afford
    # (its features barely separate chosen from rejected), hence the `normal` option.
    if cfg.head_init == "zero":
        getattr(model, args.ds.value_head_prefix).weight.data.zero_()
    if args.ds.lora.rank > 0:
        # PEFT freezes everything but the adapters; the official GVM trains its value head in full.
        getattr(model, args.ds.value_head_prefix).requires_grad_(True)
    tokenizer = get_tokenizer(args.model.model_name_or_path, model, "right", strategy)
    pad_id = tokenizer.pad_token_id

    train_pairs = read_jsonl(Path(args.data.dataset))[: args.data.max_samples]
    test_pairs = read_jsonl(Path(files.test_pairs))
    chat = args.data.apply_chat_template
    if cfg.returns == "reward_model":
        if not files.reward_model:
            raise SystemExit("returns: reward_model needs --gvm.reward_model PATH")
        train_returns, test_returns = (reward_model_returns(files.reward_model, p, chat) for p in (train_pairs, test_pairs))
    else:
        train_returns, test_returns = preference_returns(train_pairs), preference_returns(test_pairs)
    contexts = (ContextPool(tokenizer, train_pairs, chat, cfg.context_trajectories, cfg.context_max_tokens, args.train.seed)
                if cfg.context_trajectories else None)
    train_samples = pair_samples(tokenizer, train_pairs, train_returns, args.data.max_len, chat, contexts)
    test_samples = pair_samples(tokenizer, test_pairs, test_returns, args.data.max_len, chat, contexts)
    if contexts:
        first = train_samples[0]
        strategy.print(f"GVM input with context (k={cfg.context_trajectories}, budget {cfg.context_max_tokens}): "
                       f"context+prompt {tokenizer.decode(first.ids[:first.prompt_len])!r} | "
                       f"scored {tokenizer.decode(first.ids[first.prompt_len:])!r}")

    loader = strategy.setup_dataloader(train_samples, args.train.micro_batch_size, True, True,
                                       lambda batch: collate(batch, pad_id))
    steps_per_epoch = len(train_samples) // args.train.batch_size * cfg.inner_epochs
    max_steps = math.ceil(args.train.max_epochs * max(steps_per_epoch, 1))
    optim_cfg = dict(optim=args.optim, muon=vars(args.muon), adam=vars(args.adam), lr_scheduler=args.lr_scheduler,
                     lr_warmup_ratio=args.lr_warmup_ratio, min_lr_ratio=args.min_lr_ratio, max_norm=args.max_norm,
                     scheduler_steps=max_steps)
    model, optim, scheduler = strategy.prepare((model, optim_cfg))

    writer = None
    if args.logger.tensorboard_dir and strategy.is_rank_0():
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(args.logger.tensorboard_dir)
    device = torch.cuda.current_device()
    resume = load_checkpoint(strategy, model, args.ckpt)
    # Held-out loss before any update: the baseline "GVM loss falls" is measured against (a resumed run
    # keeps the one measured before its first update).
    initial_loss = resume.get("initial_loss")
    if initial_loss is None:
        initial_loss = evaluate(model, test_samples, pad_id, args.train.micro_batch_size, cfg.gamma)["mc_value_loss"]
    step, batches_done = resume.get("step", 0), resume.get("batches", 0)
    batches, saved = 0, step // strategy.accumulated_gradient
    for epoch in range(args.train.max_epochs):
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        for batch in loader:
            batches += 1
            if batches <= batches_done:  # trained before the checkpoint: same seeded order, skipped
                continue
            batch = {k: v.to(device) for k, v in batch.items()}
            targets = None
            for _ in range(cfg.inner_epochs):
                values = model(batch["ids"], action_mask=batch["action"], attention_mask=batch["attention"]).float()
                if targets is None:  # fixed for the inner epochs, from the values before the update
                    targets = targets_for(values, batch, cfg)
                loss = value_loss(values, targets, batch["action"].float())
                strategy.backward(loss, model, optim)
                strategy.optimizer_step(optim, model, scheduler)
                step += 1
                if writer:
                    writer.add_scalar("train/gvm_loss", float(loss), step)
                    writer.add_scalar("train/values_mean", float(masked_mean(values.detach(), batch["action"])), step)
            saved = maybe_save_checkpoint(strategy, model, args.ckpt, step, strategy.accumulated_gradient, saved,
                                          {"step": step, "batches": batches, "initial_loss": initial_loss})
        if batches > batches_done:
            strategy.print(f"epoch {epoch + 1}: loss {float(loss):.4f}")

    report = evaluate(model, test_samples, pad_id, args.train.micro_batch_size, cfg.gamma)
    report["mc_value_loss_initial"] = initial_loss
    if contexts:
        report["context_trajectories_mean"] = sum(contexts.used) / len(contexts.used)
        report["context_tokens_mean"] = sum(contexts.tokens) / len(contexts.tokens)
    strategy.print(f"held-out: {report}")
    if writer:
        for key, value in report.items():
            writer.add_scalar(f"eval/{key}", value, step)
        writer.close()
    save_gvm(strategy, model, tokenizer, args)
    return report


def main(argv: list[str] | None = None) -> None:
    from dvpo.openrlhf_hooks import train_rm_args
    from repro.store import atomic_write_json

    files, rest = gvm_parser().parse_known_args(argv)
    args = train_rm_args(rest)
    report = train(args, files)
    atomic_write_json(Path(files.report), {"metrics": {f"gvm/{k}": v for k, v in report.items()}})


if __name__ == "__main__":
    main()
