"""Reward-KL frontier and matched-KL interpolation (repro/tables/frontier.py) on hand-made points."""

import pytest

from repro.tables.frontier import at_budget, matched, pareto_frontier


def test_pareto_frontier_keeps_the_upper_left_hull_by_kl():
    points = [(0.0, 0.5), (4.0, 0.7), (2.0, 0.6), (3.0, 0.55), (6.0, 0.65), (8.0, 0.8), (8.0, 0.75)]
    assert pareto_frontier(points) == [(0.0, 0.5), (2.0, 0.6), (4.0, 0.7), (8.0, 0.8)]


def test_interpolation_is_linear_between_frontier_points():
    frontier = [(0.0, 0.5), (2.0, 0.6), (4.0, 0.7), (8.0, 0.8)]
    assert at_budget(frontier, 0.0) == 0.5
    assert at_budget(frontier, 1.0) == pytest.approx(0.55)
    assert at_budget(frontier, 6.0) == pytest.approx(0.75)
    assert at_budget(frontier, 8.0) == pytest.approx(0.8)
    assert at_budget(frontier, 9.0) is None  # beyond the largest KL: a gap


def test_a_method_that_never_reaches_a_budget_leaves_a_gap():
    # DPO-like: large KL; PPO-like: never past KL 3
    assert matched([(10.0, 0.9), (20.0, 0.95)], (0.0, 0.5), [2.0, 5.0, 25.0]) == [
        pytest.approx(0.58), pytest.approx(0.7), None]
    assert matched([(1.0, 0.6), (3.0, 0.65)], (0.0, 0.5), [2.0, 5.0]) == [pytest.approx(0.625), None]


def test_points_past_the_frontier_extend_it_flat_to_their_kl():
    # the KL-6 point gained nothing over KL 2's: up to KL 6 the best reachable is still 0.6
    assert matched([(2.0, 0.6), (6.0, 0.55)], (0.0, 0.5), [4.0, 6.0, 7.0]) == [0.6, 0.6, None]
    # a method worse than SFT everywhere: SFT's value up to the KL it reached
    assert matched([(5.0, 0.4)], (0.0, 0.5), [1.0, 5.0]) == [0.5, 0.5]


def test_matched_kl_table_from_records_hand_case():
    from repro.tables.build import frontier_tables
    from repro.tables.schema import load_table_defs
    from repro.tables.synthetic import synthetic_record

    def run(method, seed, knob, kl, reward):
        rec = synthetic_record(method, seed, {"gold/kl_to_sft": kl, "gold/reward_mean": reward,
                                              "gold/win_rate_vs_sft": 0.5 + reward - 0.5,
                                              "gold/sft_reward_mean": 0.5})
        rec.spec = {**rec.spec, "knob": knob}
        return rec

    records = [run("dpo", s, b, kl, r + 0.02 * s) for s in (0, 1)
               for b, kl, r in ((0.5, 4.0, 0.6), (0.1, 12.0, 0.7), (0.05, 30.0, 0.75))]
    records += [run("ppo", s, c, kl, r) for s in (0, 1) for c, kl, r in ((0.1, 2.0, 0.6), (0.02, 6.0, 0.7))]
    fdef = load_table_defs().frontiers["imdb"]  # budgets 2, 5, 10, 20
    reward, _ = frontier_tables("imdb", records, fdef)
    rows = {lead[0]: (lead, cells) for lead, cells in reward.rows}
    lead, dpo = rows["dpo"]
    assert lead == ["dpo", "3", "2"]
    # seed 0: frontier (0,.5) (4,.6) (12,.7) (30,.75) -> KL 2: .55, 5: .6125, 10: .675, 20: .7222
    # seed 1: (0,.5) (4,.62) (12,.72) (30,.77)        -> KL 2: .56, 5: .6325, 10: .695, 20: .7422
    assert [c.mean for c in dpo] == pytest.approx([0.555, 0.6225, 0.685, 0.732222], rel=1e-5)
    _, ppo = rows["ppo"]
    assert [c.mean for c in ppo[:2]] == pytest.approx([0.6, 0.675]) and ppo[2].mean is None and ppo[3].mean is None
    assert ppo[0].best and not dpo[0].best


def test_frontier_plot_draws_from_records(tmp_path):
    from repro.tables.plots import frontier_plot
    from repro.tables.schema import load_table_defs
    from repro.tables.synthetic import synthetic_record

    fdef = load_table_defs().frontiers["imdb"]
    records = [synthetic_record(m, s, {"gold/kl_to_sft": kl + s, "gold/reward_mean": r, "gold/sft_reward_mean": 0.5,
                                       "gold/win_rate_vs_sft": r}) for m, kl, r in (("dpo", 5.0, 0.7), ("ppo", 2.0, 0.6))
               for s in (0, 1)]
    path = frontier_plot(records, fdef, fdef.metrics[0], "t", tmp_path / "f.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert frontier_plot(records[:0], fdef, fdef.metrics[0], "t", tmp_path / "g.png") is None
