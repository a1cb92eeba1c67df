from repro.bench import BenchRow, render_markdown, steady_mean
from repro.store import RunRecord, StageMetrics, StageRecord, now


def row(method: str, walls: dict[str, float], reward: float) -> BenchRow:
    stages = [StageRecord(name=n, workdir="/x", status="completed",
                          metrics=StageMetrics(device="cpu", wall_s=w, peak_rss_mib=100 * w, peak_pss_mib=50 * w)) for n, w in walls.items()]
    rec = RunRecord(run_id=method, method=method, recipe="r", setting="s", seed=0, created_at=now(),
                    updated_at=now(), spec={}, stages=stages,
                    metrics={"gold/reward_mean": reward, "gold/win_rate_vs_sft": 0.5})
    return BenchRow(method, "cpu", sum(walls.values()), rec)


def test_markdown_table_hand_case():
    text = render_markdown([row("sft", {"world": 1.0, "sft": 2.0}, 0.5),
                            row("dpo", {"world": 1.0, "sft": 2.0, "dpo": 3.0}, 0.75)], "repro bench")
    lines = text.splitlines()
    assert lines[0] == "Measured on CPU with: `repro bench`"
    assert lines[2] == "| method | total s | world s | sft s | dpo s | peak RSS MiB | peak PSS MiB | gold reward | win vs SFT |"
    assert lines[4] == "| sft | 3.0 | 1.0 | 2.0 | - | 200 | 100 | 0.500 | 0.500 |"
    assert lines[5] == "| dpo | 6.0 | 1.0 | 2.0 | 3.0 | 300 | 150 | 0.750 | 0.500 |"


def rl_row(method: str, pss: float, steps: list[float]) -> BenchRow:
    r = row(method, {"world": 1.0, "policy": 10.0}, 0.5)
    policy = r.record.stages[1]
    policy.metrics.peak_pss_mib, policy.metrics.peak_rss_mib = pss, 2 * pss
    policy.train = {"train/timing/step_total": {"values": steps}}
    return r


def test_train_stage_ratios_to_ppo_hand_case():
    # s/iteration leaves out the first (warm-up) iteration: dvpo (2+1)/2 = 1.5, ppo (4+2)/2 = 3.
    text = render_markdown([rl_row("dvpo", 600.0, [9.0, 2.0, 1.0]), rl_row("ppo", 1000.0, [9.0, 4.0, 2.0])],
                           "repro bench")
    lines = text.splitlines()
    start = lines.index("| method | train stage | peak PSS MiB | peak RSS MiB | s/iteration (after the 1st) | stage s "
                        "| PSS / ppo | RSS / ppo | s/iteration / ppo |")
    assert lines[start + 2] == "| dvpo | policy | 600 | 1200 | 1.50 | 10.0 | 0.60 | 0.60 | 0.50 |"
    assert lines[start + 3] == "| ppo | policy | 1000 | 2000 | 3.00 | 10.0 | 1.00 | 1.00 | 1.00 |"


def test_steady_mean_drops_the_first_iteration_only_when_there_are_more():
    assert steady_mean([10.0, 2.0, 4.0]) == 3.0
    assert steady_mean([5.0]) == 5.0
    assert steady_mean([]) is None
