"""Learning curves (eval.every_steps) and steps to converge: hand-computed cases for the pure pieces, the stages
and flags a curve adds, and the one definition of convergence the tables use."""

import pytest

from repro.errors import RecipeError
from repro.evals.curve import OUT, POLICY, fill, snapshot_steps, template
from repro.runs import plan_run
from repro.spec import CheckpointSpec, EvalSpec
from repro.stages.openrlhf import snapshot_flags
from repro.store import CurvePoint, merge_curves
from repro.tables.convergence import converged, converged_index, smooth


def test_smooth_is_a_centred_mean_shrinking_at_the_ends():
    assert smooth([0.0, 3.0, 6.0, 3.0], 3) == [1.5, 3.0, 4.0, 4.5]
    assert smooth([1.0, 2.0], 1) == [1.0, 2.0]


@pytest.mark.parametrize("values, expected", [
    ([0.0, 0.5, 0.9, 1.0, 1.0, 1.0], 3),  # smoothed [.25 .47 .8 .97 1 1], band 0.1: from index 3
    ([0.0, 1.0, 1.0, 1.0, 1.0], 2),       # smoothed [.5 .67 1 1 1]: the jump at index 1 is smoothed into index 2
    ([0.0, 0.0, 0.0, 0.0, 1.0], 4),       # only the last point gained: converged at the end
    ([0.5, 0.4, 0.45, 0.5], None),        # no gain over the start: never converged
    ([0.5], None),
])
def test_converged_index_hand_cases(values, expected):
    assert converged_index(values, tolerance=0.1, window=3) == expected


def test_an_overshoot_that_falls_back_converges_late():
    # smoothed [1, 1.33, 2.33, 2.33, 1.67, 1.5] (gain 1.5, band 0.15): index 4 is 0.17 away, index 5 is the end
    assert converged_index([0.0, 2.0, 2.0, 3.0, 0.0, 3.0], 0.1, 3) == 5


def point(step, value, wall=None):
    return CurvePoint(step=step, samples=step * 64, wall_s=wall, metrics={"gold/reward_mean": value})


def test_converged_reads_step_samples_and_wall_clock_off_the_curve():
    curve = [point(0, 0.0, 0.0), point(4, 0.5, 40.0), point(8, 0.9, 80.0), point(12, 1.0, 120.0),
             point(16, 1.0, 160.0), point(20, 1.0, 200.0)]
    done = converged(curve, "gold/reward_mean", 0.1, 3)
    assert (done.step, done.samples, done.wall_s) == (12, 768, 120.0)
    assert converged(curve[1:], "gold/reward_mean", 0.1, 3) is None  # without step 0 there is no gain
    assert converged(curve, "rm/score", 0.1, 3) is None


def test_curves_of_two_evaluators_merge_by_step():
    a = [CurvePoint(step=0, samples=0, wall_s=0.0, metrics={"gold/x": 1.0}),
         CurvePoint(step=2, samples=64, wall_s=9.0, metrics={"gold/x": 2.0})]
    b = [CurvePoint(step=2, samples=64, wall_s=9.0, metrics={"rm/y": 5.0})]
    merged = merge_curves(a, b)
    assert [p.step for p in merged] == [0, 2] and merged[1].metrics == {"gold/x": 2.0, "rm/y": 5.0}


def test_eval_template_swaps_policy_and_output_folders_only():
    argv = ["python", "-m", "ev", "--policy", "/r/policy/model", "--reference", "/r/sft/model", "--out", "/r/eval",
            "--report", "/r/eval/report.json", "--x", "/r/evaluation"]
    t = template(argv, "/r/policy/model", "/r/eval")
    assert t == ["python", "-m", "ev", "--policy", POLICY, "--reference", "/r/sft/model", "--out", OUT,
                 "--report", OUT + "/report.json", "--x", "/r/evaluation"]
    filled = fill(t, "/c/step4", "/c/curve/step-4")
    assert filled[4] == "/c/step4" and filled[8] == "/c/curve/step-4" and filled[10] == "/c/curve/step-4/report.json"


def test_snapshot_steps_keep_complete_saves_at_multiples(tmp_path):
    for step in (2, 3, 4, 6, 8):
        (tmp_path / f"global_step{step}_hf").mkdir()
        if step != 8:  # a save still being written has no config.json yet
            (tmp_path / f"global_step{step}_hf" / "config.json").write_text("{}")
    (tmp_path / "_actor").mkdir()
    assert list(snapshot_steps(tmp_path, 2)) == [2, 4, 6]
    assert snapshot_steps(tmp_path / "absent", 2) == {}


def test_snapshot_flags_add_hf_saves_and_keep_resume_checkpoints(tmp_path):
    from repro.recipes import load_recipe

    plain = load_recipe("imdb/smoke")
    assert snapshot_flags(plain, tmp_path, "policy") == {}
    curve = load_recipe("imdb/smoke", ("eval.every_steps=4",))
    assert snapshot_flags(curve, tmp_path, "policy") == {
        "ckpt.save_steps": 4, "ckpt.path": str(tmp_path / "ckpt"), "ckpt.save_hf": True, "ckpt.disable_ds": True}
    both = curve.model_copy(update={"checkpoint": CheckpointSpec(every_steps=6)})
    flags = snapshot_flags(both, tmp_path, "policy")
    assert flags["ckpt.save_steps"] == 2 and flags["ckpt.disable_ds"] is False and flags["ckpt.load_enable"] is True


def test_curve_evaluators_default_to_the_cheap_ones_and_must_be_evaluated():
    spec = EvalSpec(evaluators=["gold", "lm_eval"], every_steps=2)
    assert spec.curve() == ["gold"]
    assert "every_steps" not in EvalSpec().model_dump()  # off: run ids stay as they were
    with pytest.raises(RecipeError, match="Did you mean 'gold'"):
        EvalSpec(evaluators=["gold"], curve_evaluators=["gol"])


@pytest.mark.parametrize("method, train", [("dpo", "dpo"), ("remax", "policy"), ("dvpo", "policy")])
def test_a_curve_adds_hf_saves_and_one_stage_after_the_final_eval(method, train, results_root):
    stages = {s.name: s for s in plan_run(method, "imdb/smoke", overrides=("eval.every_steps=2",),
                                          results_root=results_root).stages}
    assert "--ckpt.save_hf" in stages[train].argv
    curve = stages["curve-gold"]
    assert curve.needs == ["eval-gold"] and curve.report.endswith("curve-gold/report.json")
    command = curve.argv[curve.argv.index("--") + 1:]
    assert command[:3] == stages["eval-gold"].argv[:3] and POLICY in command
    assert "curve-gold" not in {s.name for s in plan_run(method, "imdb/smoke", results_root=results_root).stages}
