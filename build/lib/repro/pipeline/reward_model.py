"""The shared reward model through openrlhf.cli.train_rm on the world's preference pairs, and its accuracy.

Shared by PPO, the critic-free methods and RM-judged evaluators at a given seed (keyed by content, like
SFT), and followed by a preference-accuracy stage on held-out pairs (repro/evals/pair_accuracy.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.layout import Layout
from repro.spec import RunSpec, section_digest
from repro.stages import Stage, TokenCount
from repro.stages.env import stage_env
from repro.stages.openrlhf import REQUIRES, prompt_flags, single_process_prefix, train_flags, trainer_stage
from repro.worlds import PairFiles


@dataclass
class RewardModel:
    stages: list[Stage]
    model: Path


def pair_accuracy_stage(spec: RunSpec, name: str, model: Path, kind: str, pairs: PairFiles, workdir: Path,
                        needs: list[str], shared: bool = False) -> Stage:
    """Held-out preference accuracy of a reward model ('reward') or value model ('critic');
    metrics land in the record as '<needs[0]>/pair_accuracy' etc."""
    resources = spec.resources.single_node()
    args = ["--model", str(model), "--kind", kind, "--pairs", str(pairs.test), "--prefix", needs[0],
            "--out", str(workdir / "report.json"), *(["--chat-template"] if spec.uses_chat_template else [])]
    return Stage(
        name=name, argv=single_process_prefix("repro.evals.pair_accuracy", resources) + args,
        env=stage_env(resources), resources=resources, workdir=str(workdir), needs=needs,
        inputs=[str(model), str(pairs.test)], requires=REQUIRES, shared=shared, report=str(workdir / "report.json"),
    )


def reward_model_stages(spec: RunSpec, layout: Layout, sft_model: Path, pairs: PairFiles) -> RewardModel:
    key = section_digest(Path(pairs.root).name, spec.reward_model, spec.seed, spec.resources.device)
    workdir = layout.shared_dir("rm", key)
    train, test = (pairs.reward_dataset(split, spec.uses_chat_template) for split in ("train", "test"))
    flags = {
        "model.model_name_or_path": sft_model,
        "data.dataset": train,
        # train_rm otherwise carves an eval split of 1% of the rows, empty on small data.
        "eval.dataset": test,
        "data.prompt_key": "prompt",
        "data.chosen_key": "chosen",
        "data.rejected_key": "rejected",
        **prompt_flags(spec),
        "ds.value_head_prefix": "score",
        **train_flags(spec.reward_model, spec, workdir, "rm"),
    }
    trained = trainer_stage(
        spec, "rm", "openrlhf.cli.train_rm", flags, workdir, needs=["pairs"],
        inputs=[str(sft_model), str(train), str(test)], shared=True,
        tokens=TokenCount(stats_file=str(pairs.stats), key="pairs_train", multiplier=spec.reward_model.epochs),
    )
    accuracy = pair_accuracy_stage(spec, "rm-accuracy", workdir / "model", "reward", pairs,
                                   layout.shared_dir("rm-accuracy", key), needs=["rm"], shared=True)
    return RewardModel([trained, accuracy], workdir / "model")
