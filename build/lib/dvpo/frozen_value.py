"""The frozen global value model as a Ray actor that takes the critic's place in OpenRLHF's PPO.

It loads the pretrained GVM as OpenRLHF's "critic" model type behind an eval-only DeepSpeed
engine (like the reference model: no optimizer, no gradients), answers `forward` exactly as the
critic does, and turns `append`/`fit`/checkpointing into no-ops. At start and at the end it
writes a digest of its parameters to $REPRO_GVM_DIGEST, so a run can prove the GVM never moved.
With trajectory conditioning ($REPRO_DVPO_GVM_CONTEXT) each rollout is valued after k other rollouts of its
micro-batch as context (dvpo/context.py); the digest file then also says how contexts were drawn and what
they held, with one decoded example.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import ray
import torch
from openrlhf.models import get_llm_for_sequence_regression
from openrlhf.trainer.ray.launcher import BaseModelActor

from dvpo.advantage import chunk_whitened_values
from dvpo.context import batch_contexts
from dvpo.hook_env import DIGEST_ENV, GVM_CONTEXT_ENV, VALUE_WHITENING_ENV


def parameter_digest(module: torch.nn.Module) -> str:
    """sha256 over every parameter's name, dtype and bytes (bit-exact)."""
    h = hashlib.sha256()
    for name, param in sorted(module.named_parameters()):
        h.update(name.encode())
        h.update(str(param.dtype).encode())
        h.update(param.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def context_setting() -> tuple[int, int] | None:
    """(k, token budget) when the recipe conditions the GVM on trajectories, else None."""
    setting = os.environ.get(GVM_CONTEXT_ENV, "")
    return tuple(int(v) for v in setting.split(":")) if setting else None


def official_chunk_rows() -> int | None:
    """Rows per whitening chunk when the recipe asks for the official value whitening, else None."""
    setting = os.environ.get(VALUE_WHITENING_ENV, "")
    return int(setting.split(":")[1]) if setting.startswith("official_chunk:") else None


@ray.remote(num_gpus=1)
class FrozenValueActor(BaseModelActor):
    def init_model_from_pretrained(self, strategy, pretrain, max_steps=None):
        self._setup_distributed(strategy)
        self.load(strategy, pretrain)

    def load(self, strategy, pretrain) -> None:
        """The GVM behind an eval-only engine, in a process whose distributed setup is done (its own, or the
        reference model's when both frozen models share one process: dvpo/frozen_pair.py)."""
        self.strategy = strategy
        args = strategy.args
        model = get_llm_for_sequence_regression(
            pretrain, "critic",
            normalize_reward=False,
            attn_implementation=args.ds.attn_implementation,
            param_dtype=args.ds.param_dtype,
            ds_config=strategy.get_ds_eval_config(offload=False),
            value_head_prefix=args.ds.value_head_prefix,
            init_value_head=False,  # the pretrained head is the point
            packing_samples=args.ds.packing_samples,
        )
        model.requires_grad_(False)
        self.model = strategy.prepare(model)  # a bare model -> eval-only engine, no optimizer
        self.model.eval()
        self.context = context_setting()
        if self.context and args.ds.packing_samples:
            raise ValueError("trajectory conditioning needs padded rollouts; turn packing_samples off")
        # Seeded once: forward calls come in the same order on every run, so contexts repeat.
        self.context_generator = torch.Generator().manual_seed(strategy.seed)
        self.context_stats = {"rows": 0, "trajectories": 0, "tokens": 0}
        self._write_digest("start")

    def _write_digest(self, when: str) -> None:
        target = os.environ.get(DIGEST_ENV)
        if not target or not self.strategy.is_rank_0():
            return
        path = Path(target)
        record = json.loads(path.read_text()) if path.exists() else {}
        record[when] = parameter_digest(self.model)
        record["value_whitening"] = os.environ.get(VALUE_WHITENING_ENV) or "batch"
        if self.context:
            rows = max(self.context_stats["rows"], 1)
            record["context"] = {
                "trajectories": self.context[0], "max_tokens": self.context[1],
                "source": "rollout_batch: other rollouts of the same micro-batch, not sharing the row's prompt",
                "rows_valued": self.context_stats["rows"],
                "trajectories_mean": self.context_stats["trajectories"] / rows,
                "tokens_mean": self.context_stats["tokens"] / rows,
                **({"example": self.context_example} if hasattr(self, "context_example") else {}),
            }
        path.write_text(json.dumps(record, indent=2))

    def _with_context(self, sequences, action_mask, attention_mask):
        """Each row's context from the other rows, put before the row (its own columns keep their places)."""
        k, budget = self.context
        block, mask, used = batch_contexts(sequences, attention_mask, sequences.size(1) - action_mask.size(1), k,
                                           budget, self.context_generator, pad_id=0)
        self.context_stats["rows"] += sequences.size(0)
        self.context_stats["trajectories"] += sum(used)
        self.context_stats["tokens"] += int(mask.sum())
        if not hasattr(self, "context_example"):
            self.context_example = {"context_ids": block[0][mask[0].bool()].tolist(),
                                    "row_ids": sequences[0][attention_mask[0].bool()].tolist()}
        return torch.cat([block, sequences], 1), torch.cat([mask, attention_mask], 1), block.size(1)

    def forward(self, sequences, action_mask=None, attention_mask=None, packed_seq_lens=None):
        device = torch.cuda.current_device()
        chunk = official_chunk_rows()
        context_width = 0
        if self.context:
            sequences, attention_mask, context_width = self._with_context(sequences, action_mask, attention_mask)
        with torch.no_grad():
            if chunk is None:
                values = self.model(sequences.to(device), action_mask.to(device), attention_mask.to(device),
                                    ring_attn_group=self.strategy.ring_attn_group)
            else:
                # The official code: V at every position (pads and prompt too, the last one dropped), whitened
                # per chunk of rows with TRL's unmasked whiten, then the response positions.
                _, outputs = self.model(sequences.to(device), action_mask.to(device), attention_mask.to(device),
                                        return_output=True, ring_attn_group=self.strategy.ring_attn_group)
                critic = getattr(self.model, "module", self.model)
                head = getattr(critic, self.strategy.args.ds.value_head_prefix)
                # the context's columns are left out: whitening sees the positions it sees without context
                full = head(outputs["last_hidden_state"]).squeeze(-1)[:, context_width:-1].float()
                values = chunk_whitened_values(full, chunk, action_mask.size(1)) * action_mask.to(device).float()
        return values.to("cpu")

    # The critic's training interface, as no-ops: the GVM is frozen.
    def append(self, experience) -> None:
        return None

    def fit(self) -> dict:
        return {}

    def save_model(self) -> None:
        self._write_digest("end")

    def save_checkpoint(self, tag, metric_value=None, metric_key=None) -> None:
        return None

    def reload_states(self) -> None:
        return None

    def offload_states(self) -> None:
        return None
