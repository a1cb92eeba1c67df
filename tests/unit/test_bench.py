import pytest

from repro.bench import logged_step_gaps, render_markdown
from repro.store import RunRecord, StageMetrics, StageRecord, now
from repro.tables.bench import BenchRow, train_stage_table
from repro.tables.build import steady_mean
from repro.tables.render import to_markdown
from tests.conftest import needs


def row(method: str, walls: dict[str, float], reward: float, train_stage: str = "") -> BenchRow:
    stages = [StageRecord(name=n, workdir="/x", status="completed",
                          metrics=StageMetrics(device="cpu", wall_s=w, peak_rss_mib=100 * w, peak_pss_mib=50 * w)) for n, w in walls.items()]
    rec = RunRecord(run_id=method, method=method, recipe="r", setting="s", seed=0, created_at=now(),
                    updated_at=now(), spec={}, stages=stages, train_stage=train_stage,
                    env={"cpu": "Test CPU", "cpu_count": 2, "cpu_flags": ["avx2"]},
                    metrics={"gold/reward_mean": reward, "gold/win_rate_vs_sft": 0.5})
    return BenchRow(method, "cpu", sum(walls.values()), rec)


def test_markdown_table_hand_case():
    text = render_markdown([row("sft", {"world": 1.0, "sft": 2.0}, 0.5),
                            row("dpo", {"world": 1.0, "sft": 2.0, "dpo": 3.0}, 0.75)], "repro bench")
    lines = text.splitlines()
    assert lines[0] == "### Every stage from scratch (CPU)"
    assert lines[2] == "| method | total s | world s | sft s | dpo s | peak RSS MiB | peak PSS MiB | gold reward | win vs SFT |"
    assert lines[4] == "| sft | 3.0 | 1.0 | 2.0 | — | 200 | 100 | 0.500 | 0.500 |"
    assert lines[5] == "| dpo | 6.0 | 1.0 | 2.0 | 3.0 | 300 | 150 | 0.750 | 0.500 |"
    assert "- measured on CPU: Test CPU (2 cores, avx2) with: `repro bench`" in lines


def test_a_bench_kept_across_machine_kinds_names_each_rows_machine():
    # --keep lets a bench outlive a session; a row kept from another machine must not pass for a like-for-like one.
    dpo = row("dpo", {"world": 1.0, "dpo": 3.0}, 0.75)
    for s in dpo.record.stages:
        s.machine = {"cpu": "Other CPU", "cpu_count": 2, "cpu_flags": ["avx2", "avx512_bf16"]}
    lines = render_markdown([row("sft", {"world": 1.0, "sft": 2.0}, 0.5), dpo], "repro bench").splitlines()
    assert ("- measured on several machine kinds, so ratios across them are not like for like: "
            "sft: CPU: Test CPU (2 cores, avx2) | dpo: CPU: Other CPU (2 cores, avx512_bf16) with: `repro bench`") in lines


def render_table3(rows: list[BenchRow]) -> str:
    return to_markdown(train_stage_table(rows))


def rl_row(method: str, pss: float, steps: list[float], lengths: list[float] = (16.0,)) -> BenchRow:
    r = row(method, {"world": 1.0, "policy": 10.0}, 0.5, train_stage="policy")
    policy = r.record.stages[1]
    policy.metrics.peak_pss_mib, policy.metrics.peak_rss_mib = pss, 2 * pss
    policy.train = {"train/timing/step_total": {"values": steps},
                    "train/rollout/response_length_mean": {"values": list(lengths)}}
    return r


def table3_lines(rows: list[BenchRow]) -> list[str]:
    lines = render_table3(rows).splitlines()
    return lines[2:3] + lines[4:4 + len(rows)]


def test_table3_ratios_to_ppo_hand_case():
    # s/step leaves out the first (warm-up) iteration: dvpo (2+1)/2 = 1.5, ppo (4+2)/2 = 3.
    text = render_markdown([rl_row("dvpo", 600.0, [9.0, 2.0, 1.0]), rl_row("ppo", 1000.0, [9.0, 4.0, 2.0])],
                           "repro bench")
    assert "### Training stage alone, the paper's Table 3 layout (CPU)" in text.splitlines()
    assert table3_lines([rl_row("dvpo", 600.0, [9.0, 2.0, 1.0]), rl_row("ppo", 1000.0, [9.0, 4.0, 2.0])]) == [
        "| method | train stage | peak PSS MiB | s/step | peak PSS / ppo | s/step / ppo | stage s | response tokens |",
        "| dvpo | policy | 600 | 1.50 | 0.60 | 0.50 | 10.0 | 16 |",
        "| ppo | policy | 1000 | 3.00 | 1.00 | 1.00 | 10.0 | 16 |",
    ]


def test_table3_on_gpu_reports_the_busiest_gpu_in_gib_and_the_model_size():
    rows = [rl_row("dvpo", 600.0, [9.0, 2.0]), rl_row("ppo", 1000.0, [9.0, 4.0])]
    for r, gpus in zip(rows, ({"0": 20 * 1024.0, "1": 27.5 * 1024}, {"0": 41.25 * 1024, "1": 30 * 1024.0})):
        r.device, r.params = "gpu", 3_212_749_824
        r.record.stages[1].metrics.peak_gpu_mem_mib = gpus
    text = render_table3(rows)
    assert text.splitlines()[0] == "### Training stage alone, the paper's Table 3 layout (GPU, 3.21B-parameter policy)"
    assert table3_lines(rows) == [
        "| method | train stage | memory/GPU GiB | s/step | memory/GPU / ppo | s/step / ppo | stage s "
        "| response tokens |",
        "| dvpo | policy | 27.50 | 2.00 | 0.67 | 0.50 | 10.0 | 16 |",
        "| ppo | policy | 41.25 | 4.00 | 1.00 | 1.00 | 10.0 | 16 |",
    ]
    assert "- memory/GPU: peak NVML memory used on the stage's busiest GPU" in text


def test_dpo_row_takes_its_step_time_from_logged_step_gaps_else_a_dash():
    dpo = row("dpo", {"world": 1.0, "dpo": 8.0}, 0.5, train_stage="dpo")
    dpo.record.stages[1].train = {"train/loss_mean": {"values": [0.7, 0.6, 0.5]}}  # no timing series
    ppo = rl_row("ppo", 1000.0, [9.0, 4.0])
    assert table3_lines([dpo, ppo])[1] == "| dpo | dpo | 400 | — | 0.40 | — | 8.0 | — |"
    dpo.step_gaps_s = [1.0, 2.0]
    assert table3_lines([dpo, ppo])[1] == "| dpo | dpo | 400 | 1.50 | 0.40 | 0.38 | 8.0 | — |"


def test_a_method_without_its_training_stage_renders_dashes():
    broken = row("grpo", {"world": 1.0}, 0.5, train_stage="policy")  # its policy stage never ran
    assert table3_lines([rl_row("ppo", 1000.0, [9.0, 4.0]), broken])[2] == "| grpo | — | — | — | — | — | — | — |"


@needs("torch", "tensorboard")
def test_logged_step_gaps_from_tensorboard_event_times(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "tb"))
    for step, wall in ((2, 103.0), (1, 100.0), (3, 107.5)):  # out of order: gaps follow the step
        writer.add_scalar("train/loss_mean", 0.5, step, walltime=wall)
        writer.add_scalar("train/acc", 0.5, step, walltime=wall + 50)
    writer.close()
    assert logged_step_gaps(tmp_path / "tb") == [3.0, 4.5]
    assert logged_step_gaps(tmp_path / "missing") == []


def test_steady_mean_drops_the_first_iteration_only_when_there_are_more():
    assert steady_mean([10.0, 2.0, 4.0]) == 3.0
    assert steady_mean([5.0]) == 5.0
    assert steady_mean([]) is None


def role_row(method, roles, params=1_000_000, steps=4):
    from repro.store import RoleUsage, RunRecord, StageMetrics, StageRecord

    usage = {role: RoleUsage(peak_pss_mib=mib, cpu_s=cpu) for role, (mib, cpu) in roles.items()}
    stage = StageRecord(name="policy", workdir="/p", status="completed",
                        metrics=StageMetrics(device="cpu", wall_s=60.0, peak_rss_mib=1.0, roles=usage),
                        train={"train/timing/step_total": {"n": steps, "values": [10.0] * steps}})
    rec = RunRecord(run_id=method, method=method, recipe="r", setting="s", seed=0, created_at="t", updated_at="t",
                    spec={"rl": {"zero_stage": 2, "epochs": 1}}, train_stage="policy", stages=[stage])
    return BenchRow(method, "cpu", 60.0, rec, params=params)


def test_role_and_prediction_tables_hand_case():
    from repro.tables.bench import prediction_table, roles_table

    ppo = role_row("ppo", {"driver": (300, 4.0), "actor": (400, 8.0), "critic": (400, 8.0), "reference": (200, 2.0),
                           "reward_model": (200, 2.0), "rollout": (250, 6.0), "trainer": (100, 4.0)})
    dvpo = role_row("dvpo", {"driver": (300, 4.0), "actor": (400, 8.0), "gvm": (200, 2.0), "reference": (200, 2.0),
                             "rollout": (250, 6.0), "trainer": (100, 4.0)})
    roles = {tuple(lead): cells for lead, cells in roles_table([ppo, dvpo]).rows}
    actor = roles[("ppo", "actor")]
    assert [actor[0].mean, actor[1].mean, actor[2].mean] == [400, 2.0, 16]
    assert actor[3].mean == pytest.approx(16 * 1e6 / 2**20)
    assert roles[("dvpo", "gvm")][2].mean == 2 and roles[("ppo", "driver")][2].mean is None
    rows = {lead[0]: cells for lead, cells in prediction_table([ppo, dvpo]).rows}
    # memory: predicted 20/36; measured (400+200+200)/(400+400+200+200); work: predicted 6/10, measured
    # (8+2+2+4)/(8+8+2+2+4) CPU-s per step
    assert [c.mean for c in rows["dvpo"]] == pytest.approx([20 / 36, 800 / 1200, 0.6, 16 / 24])
    assert [c.mean for c in rows["ppo"]] == pytest.approx([1.0] * 4)


def test_one_process_frozen_pair_is_predicted_as_two_frozen_models():
    from repro.tables.bench import prediction_table, roles_table

    ppo = role_row("ppo", {"actor": (400, 8.0), "critic": (400, 8.0), "reference": (200, 2.0),
                           "reward_model": (200, 2.0), "trainer": (100, 4.0)})
    lean = role_row("dvpo", {"actor": (400, 8.0), "reference_gvm": (300, 4.0), "trainer": (100, 4.0)})
    roles = {tuple(lead): cells for lead, cells in roles_table([ppo, lean]).rows}
    assert roles[("dvpo", "reference_gvm")][3].mean == pytest.approx(2 * 2 * 1e6 / 2**20)  # 2 models x 2 B/param
    rows = {lead[0]: cells for lead, cells in prediction_table([ppo, lean]).rows}
    assert [c.mean for c in rows["dvpo"]] == pytest.approx([20 / 36, 700 / 1200, 0.6, 16 / 24])


def test_work_per_step_is_the_steady_steps_cpu_when_the_record_has_it():
    """GRPO runs 4x the steps of PPO on the same prompts (groups of 4): over the whole stage its start-up is spread
    over 16 steps, PPO's over 4, and per-step work compares start-ups. The steady window leaves start-up out."""
    from repro.tables.bench import prediction_table, roles_table

    ppo = role_row("ppo", {"actor": (400, 48.0), "critic": (400, 48.0), "trainer": (100, 8.0)}, steps=4)
    grpo = role_row("grpo", {"actor": (400, 72.0), "trainer": (100, 12.0)}, steps=16)
    whole = {lead[0]: cells for lead, cells in prediction_table([ppo, grpo]).rows}
    assert whole["grpo"][3].mean == pytest.approx((72 / 16 + 12 / 16) / (48 / 4 + 48 / 4 + 8 / 4))
    for row_, steady in ((ppo, {"actor": 24.0, "critic": 24.0, "trainer": 3.0}),
                         (grpo, {"actor": 60.0, "trainer": 7.5})):
        stage = row_.record.stages[0]
        stage.metrics.steady_steps = row_.record.stages[0].train["train/timing/step_total"]["n"] - 1
        for role, cpu in steady.items():
            stage.metrics.roles[role].cpu_s_steady = cpu
    roles = {tuple(lead): cells for lead, cells in roles_table([ppo, grpo]).rows}
    assert roles[("ppo", "actor")][1].mean == 8.0 and roles[("grpo", "actor")][1].mean == 4.0  # 24/3, 60/15
    steady = {lead[0]: cells for lead, cells in prediction_table([ppo, grpo]).rows}
    assert steady["grpo"][3].mean == pytest.approx((4.0 + 0.5) / (8.0 + 8.0 + 1.0))


def test_a_kept_bench_reuses_a_completed_method_and_nothing_else(tmp_path):
    import json

    from repro.bench import ROW_FILE, finished_row
    from repro.envinfo import machine_facts
    from repro.runs import plan_run
    from repro.store import atomic_write_json

    root = tmp_path / "dpo"
    plan = plan_run("dpo", "imdb/smoke", None, (), root)
    assert finished_row(root, plan) is None  # nothing measured yet
    rec = row("dpo", {"world": 1.0, "dpo": 3.0}, 0.6).record
    rec.run_id, rec.status = plan.layout.run_id, "completed"
    for stage in rec.stages:
        stage.machine = machine_facts()  # measured on this machine kind
    plan.layout.record_path.parent.mkdir(parents=True)
    plan.layout.record_path.write_text(rec.model_dump_json())
    assert finished_row(root, plan) is None  # completed, but the bench never wrote its row: not reused
    atomic_write_json(root / ROW_FILE, {"run_id": plan.layout.run_id, "total_wall_s": 4.5, "step_gaps_s": [0.5]})
    reused = finished_row(root, plan)
    assert (reused.method, reused.total_wall_s, reused.step_gaps_s) == ("dpo", 4.5, [0.5])
    assert reused.stage_wall() == {"world": 1.0, "dpo": 3.0}
    other = plan_run("dpo", "imdb/smoke", 7, (), root)  # another seed is another run: measured again
    assert finished_row(root, other) is None
    rec.stages[1].machine = {**machine_facts(), "cpu": "Another CPU"}  # kept from another machine kind
    plan.layout.record_path.write_text(rec.model_dump_json())
    assert finished_row(root, plan) is None
    rec.stages[1].machine = machine_facts()
    plan.layout.record_path.write_text(rec.model_dump_json())
    assert finished_row(root, plan) is not None
    rec.status = "interrupted"
    plan.layout.record_path.write_text(rec.model_dump_json())
    assert finished_row(root, plan) is None
    assert json.loads((root / ROW_FILE).read_text())["total_wall_s"] == 4.5
