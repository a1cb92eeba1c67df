"""AlpacaEval's pairwise win rate of a policy against the SFT reference, judged offline by the gold reward.

The stock AlpacaEval judges are API models; here alpaca-eval's own evaluate() code path (pairing,
random output order, parsing, win-rate metric) runs with a local judge that prefers whichever
output the world's gold reward scores higher. The judge's name is part of every metric key, so a
different judge is a different metric. Win rates are on alpaca-eval's 0-100 scale.
Run as a stage: python -m repro.evals.alpaca_eval_run --world DIR --policy DIR --reference DIR ...
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from repro.evals import parse_paired_args
from repro.store import atomic_write_json, read_jsonl
from repro.worlds import WorldFiles

JUDGE = "gold_judge"
RM_JUDGE = "rm_judge"
# Markers that IMDB text never contains, so the judge can split the rendered prompt back up.
PROMPT_TEMPLATE = ("Which output continues the review more positively? Answer Output (a) or Output (b).\n"
                   "<|instruction|>{instruction}<|output_a|>{output_1}<|output_b|>{output_2}<|end|>")
_PROMPT_RE = re.compile(r"<\|instruction\|>(.*)<\|output_a\|>(.*)<\|output_b\|>(.*)<\|end\|>", re.DOTALL)
KEPT_METRICS = ("win_rate", "standard_error", "discrete_win_rate", "n_total")


def split_judge_prompt(prompt: str) -> tuple[str, str, str]:
    """(instruction, output_1, output_2) from a prompt alpaca-eval rendered with PROMPT_TEMPLATE."""
    m = _PROMPT_RE.search(prompt)
    if m is None:
        raise ValueError(f"not a {JUDGE} prompt: {prompt[:200]!r}")
    return m.group(1), m.group(2), m.group(3)


def verdict(score_1: float, score_2: float) -> str:
    return "Output (a)" if score_1 > score_2 else "Output (b)" if score_2 > score_1 else "Tie"


def score_judge(scorer: Callable[[list[str]], Sequence[float]]) -> Callable[..., dict]:
    """An alpaca-eval fn_completions that answers each pairwise prompt by comparing scorer(prompt + output)."""

    def completions(prompts: Sequence[str], **_decoding_kwargs) -> dict[str, list]:
        parts = [split_judge_prompt(p) for p in prompts]
        s1 = scorer([i + o1 for i, o1, _ in parts])
        s2 = scorer([i + o2 for i, _, o2 in parts])
        answers = [verdict(float(a), float(b)) for a, b in zip(s1, s2, strict=True)]
        return {"completions": answers, "price_per_example": [0.0] * len(answers),
                "time_per_example": [0.0] * len(answers)}

    return completions


def write_judge_config(folder: Path, name: str = JUDGE) -> Path:
    """An annotators config folder <folder>/<name>/ (configs.yaml + prompt); fn_completions is passed in Python."""
    cfg_dir = folder / name
    cfg_dir.mkdir(parents=True, exist_ok=True)
    (cfg_dir / "prompt.txt").write_text(PROMPT_TEMPLATE)
    config = {name: {
        "prompt_template": str((cfg_dir / "prompt.txt").resolve()),
        "completions_kwargs": {"model_name": name},
        "completion_parser_kwargs": {"outputs_to_match": {
            1: r"^Output \(a\)", 2: r"^Output \(b\)", 1.5: r"^Tie"}},
        "batch_size": 1,
    }}
    (cfg_dir / "configs.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return cfg_dir / "configs.yaml"


def alpaca_eval_policy_row(instructions: Sequence[str], outputs: Sequence[str], reference_outputs: Sequence[str],
                           out: Path, seed: int, **judge_kwargs):
    """alpaca_eval.evaluate of the i-th output against the i-th reference, every AlpacaEval evaluator's one call.

    AlpacaEval pairs outputs by instruction, so instructions must be unique (one sample per prompt). Nothing is
    cached or read from a precomputed leaderboard; annotations and leaderboard.csv are kept under `out`.
    judge_kwargs name the judge (annotators_config, fn_completions, fn_metric...). Returns the policy's
    leaderboard row and the annotations."""
    from alpaca_eval import evaluate

    def rows(texts: Sequence[str], generator: str) -> list[dict]:
        return [{"instruction": i, "output": o, "generator": generator}
                for i, o in zip(instructions, texts, strict=True)]

    leaderboard, annotations = evaluate(
        model_outputs=rows(outputs, "policy"), reference_outputs=rows(reference_outputs, "reference"),
        name="policy", output_path=str(out), precomputed_leaderboard=None, is_cache_leaderboard=False,
        caching_path=None, sort_by="win_rate", is_return_instead_of_print=True, seed=seed, **judge_kwargs,
    )
    return leaderboard.loc["policy"], annotations


def judged_win_rate(instructions: Sequence[str], outputs: Sequence[str], reference_outputs: Sequence[str],
                    scorer: Callable[[list[str]], Sequence[float]], out: Path, judge: str = JUDGE,
                    seed: int = 0) -> dict[str, float]:
    """AlpacaEval's win rate of outputs over reference_outputs with the local judge `scorer` prefers.

    Returns '<judge>/<metric>' -> value."""
    row, _ = alpaca_eval_policy_row(instructions, outputs, reference_outputs, out, seed,
                                    annotators_config=str(write_judge_config(out, judge)),
                                    fn_completions=score_judge(scorer), fn_metric="get_winrate")
    return {f"{judge}/{k}": float(row[k]) for k in KEPT_METRICS if k in row}


def reward_model_scorer(path: Path) -> Callable[[list[str]], Sequence[float]]:
    """Texts -> last-token scores of an OpenRLHF reward model (the RM-judged evaluator's judge)."""
    from repro.evals.pair_accuracy import last_token_scores, load_scalar_model

    model, tokenizer = load_scalar_model(str(path), "reward")
    return lambda texts: last_token_scores(model, tokenizer, texts, "reward").tolist()


def world_prompts(world: WorldFiles, n: int) -> list[str]:
    """AlpacaEval is one output per instruction: the first n unique held-out prompts."""
    return list(dict.fromkeys(r["prompt"] for r in read_jsonl(world.prompts_test)))[:n]


def sample_outputs(model_dir: Path, prompts: list[str], gen, seed: int, chat_template: bool = False) -> list:
    """One sample per prompt. Every AlpacaEval judge samples the policy with seed+11 and the SFT reference with
    seed+12 (apart from the gold stage's streams), so on one world they all judge the very same outputs."""
    from repro.generation import load_policy, sample

    model, tok = load_policy(model_dir)
    return sample(model, tok, prompts, 1, gen, seed, chat_template=chat_template)


POLICY_STREAM, REFERENCE_STREAM = 11, 12


def main() -> None:
    args, spec, gen = parse_paired_args(__doc__)

    from repro.worlds.imdb.gold import GoldReward

    world = WorldFiles(args.world)
    prompts = world_prompts(world, spec.n_prompts)
    gold = GoldReward.load(world.gold)
    pol = sample_outputs(args.policy, prompts, gen, args.seed + POLICY_STREAM)
    ref = sample_outputs(args.reference, prompts, gen, args.seed + REFERENCE_STREAM)
    assert [s.prompt for s in pol] == [s.prompt for s in ref]

    args.out.mkdir(parents=True, exist_ok=True)
    scorer, judge = (gold.score, JUDGE) if args.judge_model is None else (reward_model_scorer(args.judge_model), RM_JUDGE)
    scores = judged_win_rate([s.prompt for s in pol], [s.response for s in pol], [s.response for s in ref],
                             scorer, args.out / "alpaca_eval", judge=judge, seed=args.seed)
    metrics = {f"alpaca_eval/{k}": v for k, v in scores.items()}
    tokens = sum(len(s.response_ids) for s in pol + ref)
    atomic_write_json(args.out / "report.json", {"metrics": metrics, "tokens": tokens})
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
