"""Table building and rendering on fixed records: golden Markdown/LaTeX, guards, gaps, ratios."""

import pytest

from repro.errors import ReproError
from repro.store import StageRecord
from repro.tables.build import (Cell, build_all, efficiency_tables, hardware_of, learned_signals_table,
                                paper_tables, scores_table)
from repro.tables.render import to_csv, to_latex, to_markdown
from repro.tables.schema import load_table_defs
from repro.tables.synthetic import synthetic_record
from tests.conftest import check_golden

DEFS = load_table_defs()


def fixed_records():
    m = lambda r, w, k: {"gold/reward_mean": r, "gold/win_rate_vs_sft": w, "gold/kl_to_sft": k}  # noqa: E731
    return [
        synthetic_record("sft", 0, m(0.50, 0.50, 0.0), train_wall_s=100, steps=50, peak_mib=800),
        synthetic_record("sft", 1, m(0.52, 0.48, 0.0), train_wall_s=110, steps=50, peak_mib=820),
        synthetic_record("dpo", 0, m(0.60, 0.65, 12.0), train_wall_s=60, steps=20, peak_mib=1200),
        synthetic_record("dpo", 1, m(0.64, 0.69, 14.0), train_wall_s=62, steps=20, peak_mib=1220),
        synthetic_record("dpo", 2, {}, status="failed"),
        synthetic_record("ppo", 0, m(0.61, 0.66, 8.0), train_wall_s=120, steps=20, peak_mib=2000),
    ]


def test_scores_golden_markdown_and_latex():
    table = scores_table("imdb", fixed_records(), DEFS)
    check_golden("table_scores_imdb.md", to_markdown(table))
    check_golden("table_scores_imdb.tex", to_latex(table))


def test_scores_mean_std_best_and_gap():
    table = scores_table("imdb", fixed_records(), DEFS)
    rows = {lead[0]: (lead, cells) for lead, cells in table.rows}
    lead, cells = rows["dpo"]
    assert lead[1] == "2"  # the failed seed is not counted
    assert cells[0].mean == pytest.approx(0.62) and cells[0].std == pytest.approx(0.0282843, rel=1e-4)
    assert cells[0].best and not rows["ppo"][1][0].best  # 0.62 beats 0.61
    assert rows["sft"][1][2].best  # lowest KL is best
    assert "dpo seed 2: failed (dpo failed)" in table.footnotes


def test_learned_signals_table_holds_the_variants_with_a_judge_and_never_pools_them():
    """PPO's reward model and DVPO's GVM (two variants) by held-out pair accuracy; DPO has neither and gets no
    row; a method without the column's model gets a gap; a PPO variant with the same judge shares its row."""
    def rec(method, seed, metrics, variant=None):
        r = synthetic_record(method, seed, metrics)
        if variant:  # what grouping reads: the resolved spec
            key, value = next(iter(variant.items()))
            spec = {"rl": {"kl_coef": value}} if key == "rl.kl_coef" else {"methods": {"dvpo": {"gvm": {"context_trajectories": value}}}}
            r.spec, r.variant, r.run_id = {**r.spec, **spec}, variant, f"{r.run_id}-{value}"
        return r
    k2 = {"methods.dvpo.gvm.context_trajectories": 2}
    records = [rec("ppo", 0, {"rm/pair_accuracy": 0.70}), rec("ppo", 1, {"rm/pair_accuracy": 0.80}),
               rec("ppo", 0, {"rm/pair_accuracy": 0.70}, {"rl.kl_coef": 0.2}),
               rec("ppo", 1, {"rm/pair_accuracy": 0.80}, {"rl.kl_coef": 0.2}),
               rec("dvpo", 0, {"gvm/pair_accuracy": 0.81, "gvm/explained_variance": 0.08}),
               rec("dvpo", 1, {"gvm/pair_accuracy": 0.79, "gvm/explained_variance": 0.10}),
               rec("dvpo", 0, {"gvm/pair_accuracy": 0.66, "gvm/context_trajectories_mean": 1.9}, k2),
               rec("dpo", 0, {"gold/reward_mean": 0.6})]
    table = learned_signals_table("imdb", records, DEFS.learned_signals)
    rows = {lead[0]: (lead[1], cells) for lead, cells in table.rows}
    assert list(rows) == ["ppo (+1 variant)", "dvpo", "dvpo gvm.context_trajectories=2"]
    assert "ppo (+1 variant): one judge for ppo | ppo rl.kl_coef=0.2" in table.footnotes
    n, (rm, gvm, ev, loss, ctx) = rows["ppo (+1 variant)"]
    assert n == "2" and rm.mean == pytest.approx(0.75) and rm.std == pytest.approx(0.0707107, rel=1e-4)
    assert gvm.mean is None and gvm.text() == "—"
    _, (_, gvm, ev, _, ctx) = rows["dvpo"]
    assert gvm.mean == pytest.approx(0.80) and gvm.best and ev.mean == pytest.approx(0.09) and ctx.mean is None
    _, (_, gvm, _, _, ctx) = rows["dvpo gvm.context_trajectories=2"]
    assert gvm.mean == pytest.approx(0.66) and gvm.n == 1 and not gvm.best and ctx.mean == pytest.approx(1.9)
    assert table.key == "learned-signals-imdb"
    assert learned_signals_table("imdb", fixed_records(), DEFS.learned_signals) is None  # no judge: no table
    assert "learned-signals-imdb" in {t.key for t in build_all(records, DEFS)}


def test_efficiency_ratios_to_ppo_hand_case():
    (table,) = efficiency_tables(fixed_records(), DEFS)
    rows = {lead[0]: cells for lead, cells in table.rows}
    # dpo: time/step = mean(60/20, 62/20) = 3.05; ppo 120/20 = 6.0 -> 0.508; memory (1200+1220)/2 / 2000 = 0.605
    assert rows["dpo"][1].mean == pytest.approx(3.05)
    assert rows["dpo"][-2].mean == pytest.approx(0.605) and rows["dpo"][-1].mean == pytest.approx(3.05 / 6.0)
    assert rows["ppo"][-1].mean == pytest.approx(1.0)
    assert table.title.endswith("(CPU)") and any("CPU numbers" in n for n in table.footnotes)


def test_cpu_and_gpu_runs_get_separate_efficiency_tables():
    recs = fixed_records() + [synthetic_record("dvpo", 0, {}, device="gpu", peak_mib=40000)]
    titles = [t.title for t in efficiency_tables(recs, DEFS)]
    assert titles == ["Efficiency — imdb (CPU)", "Efficiency — imdb (GPU)"]


def test_mismatched_fingerprints_are_refused_unless_allowed():
    recs = fixed_records() + [synthetic_record("dvpo", 0, {"gold/reward_mean": 0.7},
                                               fingerprints={"base_model": "x" * 16, "data": "d" * 16})]
    with pytest.raises(ReproError, match="different base models or data.*--allow-mixed-fingerprints"):
        build_all(recs, DEFS)
    assert build_all(recs, DEFS, allow_mixed=True)


def test_paper_table_shows_paper_numbers_and_deltas():
    gpu_ppo = synthetic_record("ppo", 0, {}, setting="llama3.2-3b-base-ultrafeedback", device="gpu",
                               train_wall_s=2300, steps=100, peak_mib=40 * 1024)
    table3 = {t.key: t for t in paper_tables([gpu_ppo], DEFS)}["paper-table3"]
    rows = {lead[0]: cells for lead, cells in table3.rows}
    paper, ours, delta = rows["PPO-3B"][0:3]
    assert paper.mean == 41.43 and ours.mean == pytest.approx(40.0) and delta.mean == pytest.approx(-1.43)
    assert rows["DVPO-8B"][1].mean is None and rows["DVPO-8B"][0].mean == 60.49
    assert table3.footnotes[0].startswith("1 of 4 rows reproduced")


def test_paper_rows_take_the_recipe_as_shipped_one_record_per_seed_and_never_pool_two_setups():
    def gpu_dvpo(seed, peak_gib, recipe="paper-base/3b", variant=None, lora=False):
        r = synthetic_record("dvpo", seed, {}, setting="llama3.2-3b-base-ultrafeedback", device="gpu",
                             peak_mib=peak_gib * 1024)
        r.recipe, r.variant = recipe, variant or {}
        r.spec = {**r.spec, **({"rl": {"lora": {"rank": 16}}} if lora else {})}
        return r

    def dvpo_3b(records):
        table3 = {t.key: t for t in paper_tables(records, DEFS)}["paper-table3"]
        return {lead[0]: cells for lead, cells in table3.rows}["DVPO-3B"][1], table3.footnotes

    rerun = gpu_dvpo(0, 30)
    rerun.updated_at = "2026-03-01T00:00:00+00:00"  # seed 0 again, later: it replaces the first
    ours, _ = dvpo_3b([gpu_dvpo(0, 20), rerun, gpu_dvpo(1, 40), gpu_dvpo(2, 90, variant={"rl.kl_coef": 0.5})])
    assert ours.n == 2 and ours.mean == pytest.approx(35.0)  # seeds 0 (the rerun) and 1; the ablation left out
    ours, notes = dvpo_3b([gpu_dvpo(0, 20), gpu_dvpo(0, 10, recipe="paper-base/3b-lora", lora=True)])
    assert ours.mean is None
    assert any("DVPO-3B: runs of 2 setups (paper-base/3b, paper-base/3b-lora) are not pooled" in n for n in notes)


def test_runs_of_several_machine_kinds_are_counted_in_the_footnote():
    recs = fixed_records()
    recs[0].env = {**recs[0].env, "cpu": "Other CPU"}
    (note,) = [n for n in scores_table("imdb", recs, DEFS).footnotes if n.startswith("hardware")]
    assert "several machine kinds" in note
    assert "CPU: Other CPU (2 cores): 1 runs | CPU: Test CPU (2 cores): 5 runs" in note


def test_cpu_flags_name_the_kernel_instruction_sets_and_tables_show_the_widest():
    from repro.envinfo import cpu_flags

    info = "processor : 0\nflags : fpu sse2 avx avx2 fma avx512f avx512bw amx_tile\nprocessor : 1\nflags : fpu\n"
    assert cpu_flags(info) == ["fma", "avx2", "avx512f", "avx512bw", "amx_tile"] and cpu_flags("") == []
    rec = fixed_records()[0]
    rec.env = {**rec.env, "cpu_flags": ["fma", "avx2"]}
    assert hardware_of(rec) == "CPU: Test CPU (2 cores, avx2)"
    rec.env = {**rec.env, "cpu_bf16_matmul": "fp32"}  # repro.cpu.bf16_matmul upcast: another draw, so labelled
    assert hardware_of(rec) == "CPU: Test CPU (2 cores, avx2, bf16 matmul in fp32)"


def test_csv_holds_raw_numbers():
    text = to_csv(scores_table("imdb", fixed_records(), DEFS))
    header, *rows = text.splitlines()
    assert header.startswith("method,n,gold reward mean,gold reward std,gold reward n")
    assert rows[0].startswith("sft,2,0.51")


def test_missing_value_renders_as_gap_not_zero():
    assert Cell().text() == "—" and Cell(0.0, None, 1, ".1f").text() == "0.0"


def test_time_per_step_is_the_rl_stages_own_timing_without_warm_up_else_wall_over_steps():
    from repro.tables.build import efficiency_metrics

    plain = synthetic_record("dpo", 0, {}, train_wall_s=60.0, steps=30)
    assert efficiency_metrics(plain)["time_per_step_s"] == 2.0
    rl = synthetic_record("dvpo", 0, {}, train_wall_s=60.0, steps=3)
    rl.stages[-1].train["train/timing/step_total"] = {"n": 3, "values": [30.0, 4.0, 6.0]}
    assert efficiency_metrics(rl)["time_per_step_s"] == 5.0  # as repro bench reports it, not 60 / 3


def test_html_table_escapes_and_marks_best():
    from repro.tables.build import Table
    from repro.tables.render import to_html

    table = Table("k", "A <b>title</b>", ["method", "x"], [(["dpo <beta>"], [Cell(0.5, 0.1, 2, ".2f", best=True)])],
                  ["note & more"])
    html = to_html(table)
    assert "<caption>A &lt;b&gt;title&lt;/b&gt;</caption>" in html and "<td>dpo &lt;beta&gt;</td>" in html
    assert "<td class=num><b>0.50 ± 0.10</b></td>" in html and "<li>note &amp; more</li>" in html


def test_report_page_holds_every_table_and_inlines_its_plots(tmp_path):
    from repro.store import save_record
    from repro.tables.report import write_reports

    for rec in fixed_records():
        save_record(rec, tmp_path / "runs" / rec.run_id / "record.json")
    (page,) = write_reports(tmp_path, None, tmp_path / "out")
    text = page.read_text()
    assert page.name == "imdb.html" and text.startswith("<!doctype html>")
    assert text.count("<table>") == len(build_all(fixed_records(), DEFS)) and "Paper Table 3" in text
    assert text.count('src="data:image/png;base64,') >= 2 and "<script" not in text


def test_hardware_comes_from_where_each_stage_ran_not_from_the_latest_launcher():
    # A run trained on one machine, then resumed elsewhere with every stage skipped, rewrites env.json:
    # the stages' own machine facts keep the label true.
    rec = fixed_records()[0]
    rec.env = {**rec.env, "cpu": "Launcher CPU", "cpu_bf16_matmul": "fp32"}
    trained = {"cpu": "Trainer CPU", "cpu_flags": ["avx2", "avx512_bf16"], "cpu_count": 2, "gpus": []}
    rec.stages = [StageRecord(name="sft", workdir="/w/sft", machine=trained),
                  StageRecord(name="dvpo", workdir="/w/dvpo", machine={**trained, "cpu_bf16_matmul": "native"})]
    assert hardware_of(rec) == "CPU: Trainer CPU (2 cores, avx512_bf16)"
    rec.stages.append(StageRecord(name="eval", workdir="/w/eval", machine={"gpus": ["NVIDIA H200"]}))
    assert hardware_of(rec) == "CPU: Trainer CPU (2 cores, avx512_bf16) + 1x NVIDIA H200"
    rec.stages = [StageRecord(name="sft", workdir="/w/sft")]  # records older than stages[].machine
    assert hardware_of(rec) == "CPU: Launcher CPU (2 cores, bf16 matmul in fp32)"
