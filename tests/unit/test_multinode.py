"""Multi-node pieces as pure functions: each node's rendezvous environment, the CPU layer's choice of
rendezvous file and gloo interface, the address a node reaches the first one from, and the logical GPUs a
CPU Ray stage asks every node for. The real 2-node runs are in tests/slurm/test_two_nodes.py."""

from pathlib import Path

import pytest

from repro.cpu import local_rendezvous
from repro.launch.stage_job import distributed_env
from repro.launch.stage_runner import stage_key
from repro.netaddr import interface_towards, source_address
from repro.stages import Stage


def test_gpu_nodes_get_torchrun_rendezvous_only(monkeypatch):
    monkeypatch.delenv("MASTER_PORT", raising=False)
    env = distributed_env(["gpu7", "gpu8"], 1, "1234_0", "gpu", Path("/shared/job/store-0"))
    assert env == {"MASTER_ADDR": "gpu7", "MASTER_PORT": str(29500 + 1234), "NNODES": "2", "NODE_RANK": "1"}


def test_cpu_nodes_are_one_rank_each_and_meet_in_the_shared_folder(monkeypatch):
    monkeypatch.setenv("MASTER_PORT", "40000")
    env = distributed_env(["node1", "node2", "node3"], 2, "77", "cpu", Path("/shared/job/store-1"))
    assert env == {"MASTER_ADDR": "node1", "MASTER_PORT": "40000", "NNODES": "3", "NODE_RANK": "2",
                   "RANK": "2", "WORLD_SIZE": "3", "LOCAL_RANK": "0", "LOCAL_SIZE": "1",
                   "REPRO_STORE_DIR": "/shared/job/store-1"}


def test_every_node_and_a_requeued_attempt_on_other_nodes_see_the_same_stage():
    base = dict(name="dpo", argv=["python", "-m", "x"], resources={"nodes": 2}, workdir="/w")
    first = Stage(**base, env={"A": "1", "MASTER_ADDR": "node1", "REPRO_STORE_DIR": "/j/store-0"})
    again = Stage(**base, env={"A": "1", "MASTER_ADDR": "node5", "REPRO_STORE_DIR": "/j/store-1"})
    changed = Stage(**base, env={"A": "2", "MASTER_ADDR": "node1", "REPRO_STORE_DIR": "/j/store-0"})
    second_node = Stage(**base, env={"A": "1", "MASTER_ADDR": "node1", "REPRO_STORE_DIR": "/j/store-0",
                                     "NODE_RANK": "1", "RANK": "1"})
    assert stage_key(first) == stage_key(again) == stage_key(second_node) != stage_key(changed)


def test_rendezvous_file_per_group(tmp_path, monkeypatch):
    monkeypatch.setenv(local_rendezvous.STORE_DIR_ENV, str(tmp_path))
    env = {"MASTER_ADDR": "node1", "MASTER_PORT": "29501"}
    # One process: a private file; several: the one file every member names alike; explicit choices stay.
    assert local_rendezvous.init_method_for(1, None, None, env).startswith(f"file://{tmp_path}/pg-")
    assert local_rendezvous.init_method_for(2, "env://", None, env) == f"file://{tmp_path}/group-node1-29501"
    assert local_rendezvous.init_method_for(2, None, None, {}) is None
    assert local_rendezvous.init_method_for(2, "tcp://h:1", None, env) == "tcp://h:1"
    assert local_rendezvous.init_method_for(2, None, object(), env) is None


def test_a_store_folder_set_by_the_job_is_never_removed(tmp_path, monkeypatch):
    shared = tmp_path / "store-0"
    monkeypatch.setenv(local_rendezvous.STORE_DIR_ENV, str(shared))
    assert local_rendezvous.open_store_dir() == shared and shared.is_dir()
    local_rendezvous.close_store_dir()
    assert shared.is_dir()
    monkeypatch.delenv(local_rendezvous.STORE_DIR_ENV)
    private = local_rendezvous.open_store_dir()
    local_rendezvous.close_store_dir()
    assert not private.exists()


def test_loopback_routes_stay_on_lo():
    assert source_address("127.0.0.1") == "127.0.0.1" == source_address("localhost")
    assert interface_towards("localhost") == "lo"
    assert local_rendezvous.gloo_interface(1, {"MASTER_ADDR": "192.0.2.1"}) == "lo"
    assert local_rendezvous.gloo_interface(2, {"MASTER_ADDR": "127.0.0.1"}) == "lo"


@pytest.mark.parametrize("method,groups", [("dvpo", 3), ("ppo", 5), ("grpo", 4)])  # DVPO: GVM beside the reference
def test_cpu_ray_stage_asks_every_node_for_one_logical_gpu_per_model_group(method, groups, tmp_path):
    from repro.runs import plan_run

    plan = plan_run(method, "imdb/smoke", overrides=("resources.nodes=2", "rl.rollout_micro_batch_size=16"),
                    results_root=tmp_path)
    policy = next(s for s in plan.stages if s.name == "policy")
    assert policy.ray_cluster and policy.ray_gpus_per_node == groups
    assert f"--ray {groups}" in policy.command_line()
    flags = policy.argv
    assert flags[flags.index("--actor.num_nodes") + 1] == "2"
    assert flags[flags.index("--vllm.num_engines") + 1] == "2"


def test_too_few_rollout_batches_for_the_actors_is_refused_before_anything_runs(tmp_path):
    from repro.errors import RecipeError
    from repro.runs import plan_run

    # smoke: 32 samples in micro-batches of 32 = one batch, but two nodes run two actor processes.
    with pytest.raises(RecipeError, match=r"rl.rollout_micro_batch_size to at most 16"):
        plan_run("dvpo", "imdb/smoke", overrides=("resources.nodes=2",), results_root=tmp_path)
    plan_run("dvpo", "imdb/smoke", overrides=("resources.nodes=2", "rl.rollout_micro_batch_size=16"),
             results_root=tmp_path)
