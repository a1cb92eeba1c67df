"""Sweeps: grid keys reach the methods whose config they name; admission; the dry run lists every run."""

import pytest

from repro.errors import RecipeError
from repro.launch.pool import Job, admit
from repro.sweep import GridKey, SweepRun, applies, sweep_runs
from tests.conftest import check_golden, normalise

SECTIONS = {"sft": frozenset(), "dpo": frozenset(), "ppo": frozenset({"rl", "reward_model"}),
            "dvpo": frozenset({"rl"})}
OWNED = frozenset({"rl", "reward_model"})


def test_grid_key_parsing_and_errors():
    assert GridKey.parse("methods.dpo.beta=0.05, 0.1") == GridKey("methods.dpo.beta", ("0.05", "0.1"))
    for bad in ("methods.dpo.beta", "=1,2", "rl.kl_coef=0.1,,0.2"):
        with pytest.raises(RecipeError, match="KEY=V1,V2"):
            GridKey.parse(bad)


def test_a_key_applies_to_its_method_its_section_owners_or_everyone():
    assert applies("methods.dpo.beta", "dpo", SECTIONS["dpo"], OWNED)
    assert not applies("methods.dpo.beta", "ppo", SECTIONS["ppo"], OWNED)
    assert applies("rl.kl_coef", "dvpo", SECTIONS["dvpo"], OWNED) and not applies("rl.kl_coef", "dpo", frozenset(), OWNED)
    assert not applies("reward_model.lr", "dvpo", SECTIONS["dvpo"], OWNED)
    assert applies("sft.lr", "dpo", frozenset(), OWNED)


def test_sweep_runs_cross_each_methods_keys_and_run_the_rest_once_per_seed():
    grid = [GridKey("methods.dpo.beta", ("0.1", "0.5")), GridKey("rl.kl_coef", ("0.02", "0.1"))]
    runs = sweep_runs(["sft", "dpo", "ppo"], [0, 1], grid, SECTIONS)
    assert [r for r in runs if r.method == "sft"] == [SweepRun("sft", 0, ()), SweepRun("sft", 1, ())]
    assert [(r.seed, r.grid) for r in runs if r.method == "dpo"] == [
        (0, ("methods.dpo.beta=0.1",)), (1, ("methods.dpo.beta=0.1",)),
        (0, ("methods.dpo.beta=0.5",)), (1, ("methods.dpo.beta=0.5",))]
    assert len(runs) == 2 + 4 + 4
    two_keys = sweep_runs(["ppo"], [0], [GridKey("rl.kl_coef", ("0.02", "0.1")), GridKey("rl.lr", ("1", "2"))],
                          SECTIONS)
    assert [r.grid for r in two_keys] == [("rl.kl_coef=0.02", "rl.lr=1"), ("rl.kl_coef=0.02", "rl.lr=2"),
                                          ("rl.kl_coef=0.1", "rl.lr=1"), ("rl.kl_coef=0.1", "rl.lr=2")]
    with pytest.raises(RecipeError, match="applies to none of the methods sft, dpo"):
        sweep_runs(["sft", "dpo"], [0], [GridKey("rl.kl_coef", ("0.1",))], SECTIONS)


def job(cpus, mem=4):
    return Job("j", [], cpus, mem, None)


def test_admission_by_count_cores_and_memory():
    assert admit([], job(8, 64), jobs=1, cores=2, mem_gb=24)  # alone, even if bigger than the machine
    assert admit([job(1)], job(1), jobs=2, cores=2, mem_gb=24)
    assert not admit([job(1)], job(1), jobs=1, cores=2, mem_gb=24)  # --jobs
    assert not admit([job(2)], job(1), jobs=4, cores=2, mem_gb=24)  # cores
    assert not admit([job(1, 16)], job(1, 16), jobs=4, cores=8, mem_gb=24)  # memory


def test_sweep_dry_run_golden(results_root):
    from rich.console import Console

    from repro.launch.sweep import launch_sweep

    runs = sweep_runs(["dpo", "ppo", "dvpo"], [0, 1, 2], [GridKey("methods.dpo.beta", ("0.05", "0.1", "0.3")),
                                                          GridKey("rl.kl_coef", ("0.02", "0.05"))], SECTIONS)
    text = launch_sweep(runs, "imdb/smoke", ("eval.n_prompts=16",), None, "local", None, 2, True, Console(),
                        execute=None)
    check_golden("dry_run_sweep_smoke.txt", normalise(text, results_root))
    assert len(text.splitlines()) == 2 + 9 + 6 + 6
    assert not (results_root / "sweeps").exists()  # a dry run writes nothing
