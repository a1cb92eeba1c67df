"""The frozen global value model as a Ray actor that takes the critic's place in OpenRLHF's PPO.

It loads the pretrained GVM as OpenRLHF's "critic" model type behind an eval-only DeepSpeed
engine (like the reference model: no optimizer, no gradients), answers `forward` exactly as the
critic does, and turns `append`/`fit`/checkpointing into no-ops. At start and at the end it
writes a digest of its parameters to $REPRO_GVM_DIGEST, so a run can prove the GVM never moved.
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
from dvpo.hook_env import DIGEST_ENV, VALUE_WHITENING_ENV


def parameter_digest(module: torch.nn.Module) -> str:
    """sha256 over every parameter's name, dtype and bytes (bit-exact)."""
    h = hashlib.sha256()
    for name, param in sorted(module.named_parameters()):
        h.update(name.encode())
        h.update(str(param.dtype).encode())
        h.update(param.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def official_chunk_rows() -> int | None:
    """Rows per whitening chunk when the recipe asks for the official value whitening, else None."""
    setting = os.environ.get(VALUE_WHITENING_ENV, "")
    return int(setting.split(":")[1]) if setting.startswith("official_chunk:") else None


@ray.remote(num_gpus=1)
class FrozenValueActor(BaseModelActor):
    def init_model_from_pretrained(self, strategy, pretrain, max_steps=None):
        self._setup_distributed(strategy)
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
        self._write_digest("start")

    def _write_digest(self, when: str) -> None:
        target = os.environ.get(DIGEST_ENV)
        if not target or not self.strategy.is_rank_0():
            return
        path = Path(target)
        record = json.loads(path.read_text()) if path.exists() else {}
        record[when] = parameter_digest(self.model)
        record["value_whitening"] = os.environ.get(VALUE_WHITENING_ENV) or "batch"
        path.write_text(json.dumps(record, indent=2))

    def forward(self, sequences, action_mask=None, attention_mask=None, packed_seq_lens=None):
        device = torch.cuda.current_device()
        chunk = official_chunk_rows()
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
                full = head(outputs["last_hidden_state"]).squeeze(-1)[:, :-1].float()
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
