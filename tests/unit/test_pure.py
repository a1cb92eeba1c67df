"""Hand-computed cases for the small pure functions."""

import random

import pytest

from repro.errors import ReproError
from repro.evals.gold_score import mean_and_stderr, win_rate
from repro.spec import Resources
from repro.stages import Stage, topological_order
from repro.worlds.imdb.pairs import label_pairs, prefer_first, select_pair


def test_mean_and_stderr():
    mean, se = mean_and_stderr([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert se == pytest.approx((5 / 3 / 4) ** 0.5)  # sample var 5/3, n 4


def test_win_rate_counts_ties_half():
    assert win_rate([0.9, 0.5, 0.1], [0.1, 0.5, 0.9]) == pytest.approx(0.5)
    assert win_rate([1.0, 1.0], [0.0, 0.5]) == 1.0


def test_noiseless_labels_follow_gold():
    rng = random.Random(0)
    assert prefer_first(0.9, 0.1, 0.0, rng) and not prefer_first(0.1, 0.9, 0.0, rng)


def test_bradley_terry_label_rate_matches_sigmoid():
    rng = random.Random(0)
    # g_a - g_b = 0.1, T = 0.1 -> P(first) = sigmoid(1) = 0.731
    hits = sum(prefer_first(0.6, 0.5, 0.1, rng) for _ in range(20000))
    assert hits / 20000 == pytest.approx(0.7311, abs=0.01)


def test_label_pairs_orders_chosen_and_rejected():
    rows = label_pairs(["p"], [("good", "bad")], [(0.2, 0.8)], 0.0, seed=0)
    assert rows == [{"prompt": "p", "chosen": "bad", "rejected": "good", "gold_chosen": 0.8, "gold_rejected": 0.2}]


def test_select_pair_first_two_and_best_worst():
    golds = [0.4, 0.9, 0.1, 0.9]
    assert select_pair(golds, "first_two") == (0, 1)
    assert select_pair(golds, "best_worst") == (1, 2)  # tie at 0.9 keeps the earlier sample
    assert select_pair([0.5, 0.5, 0.5], "best_worst") == (0, 1)  # all equal: still two distinct samples


def _stage(name, needs=()):
    return Stage(name=name, argv=["true"], resources=Resources(), workdir=f"/tmp/{name}", needs=list(needs))


def test_topological_order_and_errors():
    order = topological_order([_stage("c", ["b"]), _stage("a"), _stage("b", ["a"])])
    assert [s.name for s in order] == ["a", "b", "c"]
    with pytest.raises(ReproError, match="cycle"):
        topological_order([_stage("a", ["b"]), _stage("b", ["a"])])
    with pytest.raises(ReproError, match="not in the pipeline"):
        topological_order([_stage("a", ["zzz"])])


def test_rollout_tokens_from_openrlhf_series():
    from repro.metrics.summary import rollout_tokens

    train = {"train/total_length": {"n": 3, "values": [60.0, 50.0, 40.0]},
             "train/rollout/num_samples": {"n": 3, "values": [64.0, 64.0, 64.0]}}
    assert rollout_tokens(train) == 50.0 * 64 * 3  # mean tokens per sample x samples per step x steps
    assert rollout_tokens({"train/loss_mean": {"n": 3, "values": [1.0]}}) is None


def test_identical_duplicate_stages_merge_and_different_ones_fail():
    a, b = _stage("a"), _stage("b", ["a"])
    assert [s.name for s in topological_order([a, b, _stage("a")])] == ["a", "b"]
    with pytest.raises(ReproError, match="two different 'a' stages"):
        topological_order([a, b, _stage("a", ["b"])])
