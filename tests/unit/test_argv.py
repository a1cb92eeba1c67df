"""Golden tests of the rendered pipelines: argv and env of every stage."""

import re
from pathlib import Path

import pytest

from dvpo.gvm.config import GVMConfig
from repro.runs import plan_run, render_dry_run
from repro.spec import Resources
from repro.stages.openrlhf import launch_prefix, render_flags
from tests.conftest import check_golden, normalise


def test_render_flags_hand_case():
    flags = {"a.b": 1, "c": True, "d": False, "e": None, "f": [1, 2], "g": ""}
    assert render_flags(flags) == ["--a.b", "1", "--c", "--f", "1", "2", "--g", ""]


def test_gpu_launch_uses_deepspeed_without_cpu_layer():
    argv = launch_prefix("openrlhf.cli.train_sft", Resources(device="gpu", gpus_per_node=8))
    assert argv == ["deepspeed", "--num_gpus", "8", "--module", "openrlhf.cli.train_sft"]
    assert "repro.cpu.run" in launch_prefix("m", Resources())


@pytest.mark.parametrize("method", ["sft", "dpo", "rm", "ppo", "grpo", "reinforce_pp", "rloo", "remax", "dvpo"])
def test_dry_run_golden(method, results_root):
    plan = plan_run(method, "imdb/smoke", results_root=results_root)
    check_golden(f"dry_run_{method}_smoke.txt", normalise(render_dry_run(plan), results_root))


def test_shared_stages_are_identical_across_methods(results_root):
    sft = {s.name: s for s in plan_run("sft", "imdb/smoke", results_root=results_root).stages}
    dpo = {s.name: s for s in plan_run("dpo", "imdb/smoke", results_root=results_root).stages}
    for name in ("world", "sft"):
        assert sft[name] == dpo[name]
    assert sft["eval-gold"].argv[-1] != dpo["eval-gold"].argv[-1]  # each run evaluates into its own folder


def test_run_id_is_deterministic_and_seed_dependent(results_root):
    a = plan_run("dpo", "imdb/smoke", results_root=results_root).layout.run_id
    b = plan_run("dpo", "imdb/smoke", results_root=results_root).layout.run_id
    c = plan_run("dpo", "imdb/smoke", seed=1, results_root=results_root).layout.run_id
    assert a == b and a != c and c.startswith("imdb-smoke-dpo-s1-")


def test_rl_methods_share_rollout_and_actor_settings(results_root):
    """PPO, GRPO and DVPO differ only in estimator, critic/value model and reward source."""
    def flags(method):
        argv = {s.name: s for s in plan_run(method, "imdb/smoke", results_root=results_root).stages}["policy"].argv
        out, key = {}, None
        for a in argv[argv.index("openrlhf.cli.train_ppo_ray") + 1:]:
            if a.startswith("--"):
                key = a
                out[key] = []
            else:
                out[key].append(a)
        return out

    ppo, dvpo, grpo = flags("ppo"), flags("dvpo"), flags("grpo")
    shared = ["--actor.model_name_or_path", "--actor.adam.lr", "--train.batch_size", "--rollout.max_new_tokens",
              "--algo.kl.init_coef", "--ds.zero_stage", "--data.prompt_dataset", "--actor.eps_clip"]
    for flag in shared:
        assert ppo[flag] == dvpo[flag] == grpo[flag], flag
    assert "--reward.model_name_or_path" not in dvpo and dvpo["--reward.remote_url"][0].endswith("zero_reward.py")
    assert re.search(r"/shared/gvm-[0-9a-f]{12}/model$", dvpo["--critic.model_name_or_path"][0])
    assert ppo["--critic.model_name_or_path"] == ppo["--actor.model_name_or_path"]
    assert "--critic.model_name_or_path" not in grpo and grpo["--algo.advantage.estimator"] == ["group_norm"]
    # Same samples per step: GRPO draws 4 per prompt from a quarter of the prompts.
    assert int(grpo["--rollout.batch_size"][0]) * 4 == int(ppo["--rollout.batch_size"][0])


def test_cpu_ray_stage_gets_one_logical_gpu_per_model_group(results_root):
    groups = {}
    for method in ("ppo", "dvpo", "grpo"):
        argv = {s.name: s for s in plan_run(method, "imdb/smoke", results_root=results_root).stages}["policy"].argv
        groups[method] = int(argv[argv.index("--ray") + 1])
    # actor + rollout + ref (+ critic) (+ reward model); DVPO's frozen GVM shares the reference's actor
    assert groups == {"ppo": 5, "dvpo": 3, "grpo": 4}


def test_dvpo_gvm_on_reward_model_returns_adds_the_shared_rm_but_not_to_the_policy(results_root):
    plain = {s.name: s for s in plan_run("dvpo", "imdb/smoke", results_root=results_root).stages}
    stages = {s.name: s for s in plan_run("dvpo", "imdb/smoke", overrides=("methods.dvpo.gvm.returns=reward_model",),
                                          results_root=results_root).stages}
    ppo = {s.name: s for s in plan_run("ppo", "imdb/smoke", results_root=results_root).stages}
    assert "rm" not in plain and stages["rm"].workdir == ppo["rm"].workdir  # the PPO baseline's own RM
    gvm = stages["gvm"].argv
    assert stages["gvm"].needs == ["pairs", "rm"]
    assert GVMConfig.model_validate_json(gvm[gvm.index("--gvm.config") + 1]).returns == "reward_model"
    assert gvm[gvm.index("--gvm.reward_model") + 1] == str(Path(ppo["rm"].workdir) / "model")
    assert "--reward.model_name_or_path" not in stages["policy"].argv


def test_gvm_is_shared_across_dvpo_variants_and_keyed_by_its_own_config(results_root):
    def gvm_dir(*overrides):
        return {s.name: s for s in plan_run("dvpo", "imdb/smoke", overrides=overrides,
                                            results_root=results_root).stages}["gvm"].workdir

    base = gvm_dir()
    assert gvm_dir("rl.lr=3e-4", "methods.dvpo.advantage=q_as_advantage") == base
    assert gvm_dir("methods.dvpo.gvm.lr=3e-4") != base


def test_rm_judged_evaluator_shares_the_methods_reward_model(results_root):
    ppo = plan_run("ppo", "imdb/evals", results_root=results_root).stages
    assert [s.name for s in ppo].count("rm") == 1  # PPO's RM and the judge's RM are one stage
    judge = {s.name: s for s in ppo}["eval-alpaca_eval_rm"]
    rm_model = str(Path({s.name: s for s in ppo}["rm"].workdir) / "model")
    assert judge.argv[judge.argv.index("--judge-model") + 1] == rm_model and "rm" in judge.needs
    assert judge.argv[2] == "repro.cpu.run"  # loads OpenRLHF's reward model through the CPU layer
    sft = {s.name: s for s in plan_run("sft", "imdb/evals", results_root=results_root).stages}
    assert {"pairs", "rm", "rm-accuracy"} <= set(sft)  # even a method without pairs gets the judge's RM


def test_the_gvm_trainer_reads_back_exactly_the_recipe_section_the_method_rendered(results_root):
    """One pydantic model on both sides: the trainer's --gvm.config is methods.dvpo.gvm as validated."""
    pytest.importorskip("torch")
    from dvpo.gvm.train import gvm_parser
    from dvpo.method import DVPO

    plan = plan_run("dvpo", "imdb/smoke", overrides=("methods.dvpo.gvm.lambd=0.5", "methods.dvpo.gvm.targets=monte_carlo"),
                    results_root=results_root)
    argv = next(s for s in plan.stages if s.name == "gvm").argv
    files, rest = gvm_parser().parse_known_args(argv[argv.index("dvpo.gvm.train") + 1:])
    assert files.config == DVPO.config_from(plan.spec).gvm
    assert (files.config.lambd, files.config.targets) == (0.5, "monte_carlo")
    assert files.test_pairs.endswith("pairs_test.jsonl") and not any(a.startswith("--gvm.") for a in rest)
