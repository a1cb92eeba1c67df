"""Mid-run checkpoints: the flags every training stage renders, and which checkpoints a re-run resumes from."""

from pathlib import Path

import pytest

from repro.launch.checkpoints import KEY_FILE, latest_tag, prepare_resume
from repro.runs import plan_run
from repro.spec import CheckpointSpec, Resources
from repro.stages import Stage
from repro.stages.openrlhf import checkpoint_flags


def test_checkpoint_flags_hand_case(tmp_path):
    assert checkpoint_flags(CheckpointSpec(), tmp_path, "sft") == {}
    assert checkpoint_flags(CheckpointSpec(every_steps=5, keep=3), tmp_path, "sft") == {
        "ckpt.save_steps": 5, "ckpt.path": str(tmp_path / "ckpt"), "ckpt.max_num": 3, "ckpt.load_enable": True}
    only_policy = CheckpointSpec(every_steps=5, stages=["policy"])
    assert checkpoint_flags(only_policy, tmp_path, "sft") == {} and checkpoint_flags(only_policy, tmp_path, "policy")


@pytest.mark.parametrize("method, trained", [("dvpo", {"sft", "gvm", "policy"}), ("ppo", {"sft", "rm", "policy"}),
                                             ("dpo", {"sft", "dpo"})])
def test_every_training_stage_saves_and_resumes_into_its_own_folder(results_root, method, trained):
    plan = plan_run(method, "imdb/smoke", overrides=("checkpoint.every_steps=3",), results_root=results_root)
    for stage in plan.stages:
        argv = stage.argv
        if stage.name in trained:
            assert argv[argv.index("--ckpt.save_steps") + 1] == "3" and "--ckpt.load_enable" in argv, stage.name
            assert argv[argv.index("--ckpt.path") + 1] == str(Path(stage.workdir) / "ckpt")
            assert argv[argv.index("--ckpt.max_num") + 1] == "2"
        else:
            assert "--ckpt.save_steps" not in argv, stage.name
    only = plan_run(method, "imdb/smoke", overrides=("checkpoint.every_steps=3", "checkpoint.stages=[policy]"),
                    results_root=results_root)
    assert {s.name for s in only.stages if "--ckpt.load_enable" in s.argv} == trained & {"policy"}
    plain = plan_run(method, "imdb/smoke", results_root=results_root)
    assert all("--ckpt.load_enable" not in s.argv for s in plain.stages)  # off: stages render as before
    assert plain.layout.run_id != plan.layout.run_id and "checkpoint" not in plain.spec.model_dump()


def stage_with_ckpt(workdir: Path) -> Stage:
    return Stage(name="t", argv=["x", "--ckpt.path", str(workdir / "ckpt"), "--ckpt.load_enable"],
                 resources=Resources(), workdir=str(workdir))


def test_a_rerun_resumes_only_from_its_own_checkpoints(tmp_path):
    stage = stage_with_ckpt(tmp_path)
    assert prepare_resume(stage, "k1", fresh=False) is None  # nothing saved yet
    ckpt = tmp_path / "ckpt"
    (ckpt / "global_step2").mkdir()
    (ckpt / "latest").write_text("global_step2")
    assert prepare_resume(stage, "k1", fresh=False) == "global_step2"  # same stage: resume
    assert prepare_resume(stage, "k1", fresh=True) is None and not (ckpt / "global_step2").exists()  # --force
    (ckpt / "_actor").mkdir()
    (ckpt / "_actor" / "latest").write_text("global_step1")  # Ray PPO's layout
    assert latest_tag(ckpt) == "global_step1"
    assert prepare_resume(stage, "k2", fresh=False) is None  # changed inputs: never load another stage's state
    assert (ckpt / KEY_FILE).read_text() == "k2" and not (ckpt / "_actor").exists()


def test_stages_without_resume_flags_are_left_alone(tmp_path):
    stage = Stage(name="t", argv=["x"], resources=Resources(), workdir=str(tmp_path))
    assert prepare_resume(stage, "k", fresh=True) is None and not (tmp_path / "ckpt").exists()
