"""GPUs without vLLM or flash-attn (the lent one-GPU machine's image): `resources.attention` and
`rl.rollout_engine: hf` render stages that install the stand-ins first (repro/stages/env.py: gpu_shims), keep the
default GPU stack's argv unchanged, and refuse what a CPU cannot run. Rendered and imported here; run on a GPU by
gpu/oneshot.sh."""

import subprocess
import sys

import pytest

from baselines.rl import placement_flags, rollout_engine_label
from repro.errors import RecipeError
from repro.recipes import REPO_ROOT, load_recipe
from repro.runs import plan_run, render_dry_run
from repro.spec import Resources
from repro.stages.env import SHIMS_ENV, gpu_shims, stage_env
from repro.stages.openrlhf import launch_prefix, single_process_prefix

ONE_GPU = "imdb/bench-llama32-1b-1gpu"


def test_attention_defaults_by_device_and_flash_attention_is_refused_on_cpu():
    assert Resources().attention_kernel == "eager"
    assert Resources(device="gpu", gpus_per_node=1).attention_kernel == "flash_attention_2"
    assert Resources(device="gpu", gpus_per_node=1, attention="sdpa").attention_kernel == "sdpa"
    with pytest.raises(RecipeError, match="resources.*flash_attention_2' needs a GPU"):
        load_recipe("imdb/smoke", ["resources.attention=flash_attention_2"])


def test_the_vllm_engine_is_refused_on_cpu_and_the_engine_defaults_by_device():
    with pytest.raises(RecipeError, match="rl.rollout_engine 'vllm' needs resources.device 'gpu'"):
        load_recipe("imdb/smoke", ["rl.rollout_engine=vllm"])
    assert load_recipe("imdb/smoke").rollout_engine == "hf"
    assert load_recipe("imdb/bench-llama32-3b").rollout_engine == "vllm"
    assert load_recipe(ONE_GPU).rollout_engine == "hf"


def test_both_fields_stay_out_of_the_dump_at_their_defaults():
    # Left out, every existing run id and shared-stage key is what it was before the fields.
    spec = load_recipe("imdb/bench-llama32-3b")
    assert "attention" not in spec.resources.model_dump() and "rollout_engine" not in spec.rl.model_dump()
    one = load_recipe(ONE_GPU)
    assert one.resources.model_dump()["attention"] == "sdpa" and one.rl.model_dump()["rollout_engine"] == "hf"


def test_shims_are_asked_only_where_the_gpu_stack_lacks_something():
    gpu = Resources(device="gpu", gpus_per_node=1)
    assert gpu_shims(gpu, "vllm") == [] and SHIMS_ENV not in stage_env(gpu, "vllm")
    sdpa = gpu.model_copy(update={"attention": "sdpa"})
    assert gpu_shims(sdpa) == ["flash_attn"] and gpu_shims(sdpa, "hf") == ["flash_attn", "vllm"]
    env = stage_env(sdpa, "hf")
    assert env[SHIMS_ENV] == "flash_attn,vllm" and env["GLOO_SOCKET_IFNAME"] == "lo"
    assert gpu_shims(Resources(), "hf") == []  # CPU stages get every stand-in from repro.cpu.run
    assert launch_prefix("openrlhf.cli.train_sft", gpu)[-2:] == ["--module", "openrlhf.cli.train_sft"]
    assert launch_prefix("openrlhf.cli.train_sft", sdpa)[-3:] == [
        "--module", "repro.launch.openrlhf_entry", "openrlhf.cli.train_sft"]
    assert single_process_prefix("repro.evals.pair_accuracy", sdpa)[-2:] == [
        "repro.launch.openrlhf_entry", "repro.evals.pair_accuracy"]


def test_the_hf_engine_on_a_gpu_syncs_over_gloo_never_sleeps_and_says_so():
    one = load_recipe(ONE_GPU, ["rl.rollout_sleep=true"])
    flags = placement_flags(one)
    assert flags["vllm.sync_backend"] == "gloo" and flags["vllm.enable_sleep"] is False
    assert flags["train.colocate_all"] is True and flags["actor.num_gpus_per_node"] == 1
    assert flags["ds.attn_implementation"] == "sdpa"
    assert rollout_engine_label(one).startswith("GPU, colocated True: 1 HF-generate engine(s) in place of vLLM")
    paper = load_recipe("imdb/bench-llama32-3b")
    assert placement_flags(paper)["vllm.sync_backend"] == "nccl" and rollout_engine_label(paper).startswith("vLLM")


@pytest.mark.parametrize("method", ["dvpo", "ppo"])
def test_the_one_gpu_bench_renders_every_openrlhf_stage_behind_the_entry(method, tmp_path):
    text = render_dry_run(plan_run(method, ONE_GPU, None, (), tmp_path))
    assert "deepspeed --num_gpus 1 --module repro.launch.openrlhf_entry openrlhf.cli.train_sft" in text
    assert "-m repro.launch.openrlhf_entry openrlhf.cli.train_ppo_ray" in text
    assert "export REPRO_SHIMS=flash_attn,vllm" in text and "--vllm.sync_backend gloo" in text
    assert "flash_attention_2" not in text and "--vllm.enable_sleep" not in text
    paper = render_dry_run(plan_run(method, "imdb/bench-llama32-3b", None, (), tmp_path))
    assert "REPRO_SHIMS" not in paper and "openrlhf_entry openrlhf.cli.train_sft" not in paper


def test_the_entry_makes_ray_ppo_importable_without_vllm_or_flash_attn():
    """What the GPU machine lacks is absent here too; with the stand-ins the entry installs, OpenRLHF's Ray PPO,
    its vLLM engine module and DVPO's hooks import (no CUDA redirect: that one is the CPU layer's alone)."""
    code = ("import importlib.util, os\n"
            "assert importlib.util.find_spec('vllm') is None and importlib.util.find_spec('flash_attn') is None\n"
            "os.environ['REPRO_SHIMS'] = 'flash_attn,vllm'\n"
            "from repro.launch.openrlhf_entry import install_shims\n"
            "install_shims()\n"
            "import openrlhf.cli.train_ppo_ray, openrlhf.trainer.ray.vllm_engine as engine, dvpo.openrlhf_hooks\n"
            "import vllm\n"
            "print('ENGINE', vllm.AsyncLLMEngine.__module__, vllm.__version__)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ENGINE repro.cpu.hf_engine 0.16.0+repro.cpu" in out.stdout
