"""Slurm job scripts rendered without a cluster: golden files, profiles, resource mapping."""

import importlib.metadata

import pytest

from repro.errors import RecipeError, ReproError, UnknownNameError
from repro.launch.profiles import ClusterProfile, executor_parameters, load_profile, profile_names
from repro.launch.slurm_script import SUBMITIT_VERSION, render_job_scripts
from repro.runs import plan_run
from repro.spec import Resources
from tests.conftest import check_golden, normalise

GPU_2_NODES = ("resources.device=gpu", "resources.gpus_per_node=8", "resources.nodes=2", "resources.cpus=32",
               "resources.mem_gb=480", "resources.time_min=720")


def test_submitit_version_is_the_one_the_renderer_was_written_for():
    assert importlib.metadata.version("submitit") == SUBMITIT_VERSION


def test_every_shipped_profile_validates():
    assert {"local", "example-a100"} <= set(profile_names())
    for name in profile_names():
        load_profile(name)


def test_profile_errors_name_key_and_options(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean 'local'"):
        load_profile("locl")
    bad = tmp_path / "bad.yaml"
    bad.write_text("partition: x\npartitoin: y\n")
    with pytest.raises(RecipeError, match="unknown recipe key 'partitoin'.*Did you mean 'partition'"):
        load_profile(str(bad))


def test_resources_map_to_slurm_options():
    profile = ClusterProfile(partition="gpu", account="acc", gres="gpu:a100:{gpus}", exclusive=True,
                             setup=["module load cuda"], env={"A": "1", "B": "x; rm -rf /"}, max_time_min=100)
    params = executor_parameters(Resources(device="gpu", gpus_per_node=4, nodes=2, cpus=16, mem_gb=64, time_min=90),
                                 profile, "sft")
    assert params["gres"] == "gpu:a100:4" and params["nodes"] == 2 and params["cpus_per_task"] == 16
    assert params["mem"] == "64GB" and params["time"] == 90 and params["account"] == "acc" and params["exclusive"]
    # A multi-node job's tasks all end when one fails (no node waits for a rendezvous that never comes).
    assert params["setup"] == ["module load cuda", "export A=1", "export B='x; rm -rf /'", "export SLURM_KILL_BAD_EXIT=1"]
    one_node = executor_parameters(Resources(device="gpu", gpus_per_node=4), profile, "sft")
    assert "export SLURM_KILL_BAD_EXIT=1" not in one_node["setup"]
    with pytest.raises(ReproError, match="allows 100"):
        executor_parameters(Resources(time_min=200), profile, "sft")


def test_single_node_job_scripts_golden(results_root):
    plan = plan_run("dpo", "imdb/smoke", results_root=results_root)
    text = render_job_scripts(plan, load_profile("local"))
    assert text.count("#SBATCH --partition=debug") == 5 and "--dependency='afterok:<sft>'" in text
    check_golden("slurm_dpo_smoke_local.sh", normalise(text, results_root))


def test_two_node_gpu_job_scripts_golden(results_root):
    plan = plan_run("dpo", "imdb/smoke", overrides=GPU_2_NODES, results_root=results_root)
    text = render_job_scripts(plan, load_profile("example-a100"))
    assert "#SBATCH --nodes=2" in text and "#SBATCH --gres=gpu:8" in text and "torchrun --nnodes 2" in text
    assert "--master_addr '${MASTER_ADDR}'" in text and "module load cuda/12.4" in text
    check_golden("slurm_dpo_2node_a100.sh", normalise(text, results_root))


def test_two_node_gpu_ppo_job_scripts_golden(results_root):
    # 16 actor processes need 16 rollout micro-batches (OpenRLHF asserts it; the planner refuses fewer)
    plan = plan_run("ppo", "imdb/smoke", overrides=(*GPU_2_NODES, "rl.rollout_micro_batch_size=2"),
                    results_root=results_root)
    text = render_job_scripts(plan, load_profile("example-a100"))
    policy = text[text.index("# ===== job policy ====="):text.index("# ===== job eval-gold")]
    assert "#SBATCH --nodes=2" in policy and "--dependency='afterok:<rm>'" in policy
    assert "ray start --head" in policy and "ray start --address '${HEAD_IP}:${RAY_PORT}'" in policy
    assert "once 2 nodes and 16 GPUs have joined" in policy
    assert "--actor.num_nodes 2" in policy and "--vllm.num_engines 16" in policy
    assert "ray start" not in text[:text.index("# ===== job policy =====")]  # only the Ray stage bootstraps
    check_golden("slurm_ppo_2node_a100.sh", normalise(text, results_root))
