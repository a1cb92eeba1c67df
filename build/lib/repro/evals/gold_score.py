"""Score a policy against the SFT reference under the gold reward, on held-out prompts.

Metrics: gold reward mean and standard error; Monte-Carlo KL(policy || reference) from
log-ratios of the policy's own samples; win rate against the reference's sample for the
same prompt (ties count half).
Run as a stage: python -m repro.evals.gold_score --world DIR --policy DIR --reference DIR ...
"""

from __future__ import annotations

import json
import math

from repro.evals import parse_paired_args
from repro.store import atomic_write_json, read_jsonl
from repro.worlds import WorldFiles


def mean_and_stderr(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var / n)


def win_rate(policy: list[float], reference: list[float]) -> float:
    """Fraction of paired comparisons the policy wins; ties count half."""
    wins = sum(1.0 if p > r else 0.5 if p == r else 0.0 for p, r in zip(policy, reference, strict=True))
    return wins / len(policy)


def main() -> None:
    args, spec, gen = parse_paired_args(__doc__)

    from repro.generation import load_policy, response_logprob, sample
    from repro.worlds.imdb.gold import GoldReward

    world = WorldFiles(args.world)
    prompts = [r["prompt"] for r in read_jsonl(world.prompts_test)][: spec.n_prompts]
    gold = GoldReward.load(world.gold)
    policy, tok = load_policy(args.policy)
    reference, _ = load_policy(args.reference)
    # Different streams for the two policies, the same for every method at a given seed.
    pol = sample(policy, tok, prompts, spec.samples_per_prompt, gen, args.seed + 1)
    ref = sample(reference, tok, prompts, spec.samples_per_prompt, gen, args.seed + 2)
    g_pol = gold.score([s.prompt + s.response for s in pol]).tolist()
    g_ref = gold.score([s.prompt + s.response for s in ref]).tolist()
    log_ratio = (response_logprob(policy, pol) - response_logprob(reference, pol)).tolist()

    reward, reward_se = mean_and_stderr(g_pol)
    sft_reward, sft_se = mean_and_stderr(g_ref)
    kl, kl_se = mean_and_stderr(log_ratio)
    metrics = {
        "gold/reward_mean": reward, "gold/reward_stderr": reward_se,
        "gold/sft_reward_mean": sft_reward, "gold/sft_reward_stderr": sft_se,
        "gold/kl_to_sft": kl, "gold/kl_to_sft_stderr": kl_se,
        "gold/win_rate_vs_sft": win_rate(g_pol, g_ref),
        "gold/response_tokens_mean": sum(len(s.response_ids) for s in pol) / len(pol),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "samples.jsonl", "w") as f:
        for s, g, lr in zip(pol, g_pol, log_ratio):
            f.write(json.dumps({"prompt": s.prompt, "response": s.response, "gold": g, "log_ratio": lr}) + "\n")
    tokens = sum(len(s.response_ids) for s in pol + ref)
    atomic_write_json(args.out / "report.json", {"metrics": metrics, "tokens": tokens})
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
