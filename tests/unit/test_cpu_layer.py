"""Fast checks of the CPU layer (repro.cpu): shims against hand-computed cases, no training."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from repro.cpu import OPENRLHF_VERSION, OpenRLHFVersionError, check_openrlhf_version  # noqa: E402
from repro.cpu import run as cpu_run  # noqa: E402
from repro.cpu.flash_attn_shim import index_first_axis, pad_input, unpad_input  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]

# batch of 2, seqlen 4; row 0 has 3 real tokens, row 1 has 2 (right padding).
MASK = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
SEQS = torch.tensor([[11, 12, 13, 0], [21, 22, 0, 0]])


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_unpad_input_hand_computed():
    hidden = SEQS.unsqueeze(-1).float()  # (2, 4, 1)
    unpadded, indices, cu_seqlens, max_seqlen, used = unpad_input(hidden, MASK)
    assert unpadded.squeeze(-1).tolist() == [11, 12, 13, 21, 22]
    assert indices.tolist() == [0, 1, 2, 4, 5]
    assert cu_seqlens.tolist() == [0, 3, 5]
    assert cu_seqlens.dtype == torch.int32
    assert max_seqlen == 3
    assert used.tolist() == [3, 2]


def test_unpad_pad_round_trip():
    hidden = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
    unpadded, indices, *_ = unpad_input(hidden, MASK)
    assert unpadded.shape == (5, 3)
    restored = pad_input(unpadded, indices, batch=2, seqlen=4)
    expected = hidden * MASK.unsqueeze(-1)  # padded positions come back as zeros
    assert torch.equal(restored, expected)


def test_pad_input_keeps_gradient():
    values = torch.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    out = pad_input(values, torch.tensor([0, 1, 4]), batch=2, seqlen=3)
    assert out.squeeze(-1).tolist() == [[1.0, 2.0, 0.0], [0.0, 3.0, 0.0]]
    out.sum().backward()
    assert values.grad.tolist() == [[1.0], [1.0], [1.0]]


def test_index_first_axis():
    table = torch.tensor([[0, 0], [10, 11], [20, 21], [30, 31]])
    assert index_first_axis(table, torch.tensor([3, 1])).tolist() == [[30, 31], [10, 11]]


@pytest.fixture(scope="module")
def openrlhf_probe() -> dict[str, str]:
    """One subprocess (importing openrlhf costs ~7 s): install the shim, import openrlhf.models,
    print one `KEY value` line per check."""
    result = run_python(
        """
        import importlib.util
        from repro.cpu import flash_attn_shim
        flash_attn_shim.install()
        import torch
        import openrlhf.models
        from transformers.utils import is_flash_attn_2_available
        from openrlhf.models.ring_attn_utils import unpad_and_slice_tensor, gather_and_pad_tensor
        from openrlhf.models.utils import log_probs_from_logits  # its flash_attn.ops import must fail

        print("FA2", is_flash_attn_2_available(), importlib.util.find_spec("flash_attn"))
        print("LOGPROBS", [round(v, 4) for v in log_probs_from_logits(torch.zeros(1, 2, 4), torch.tensor([[0, 3]]))[0].tolist()])
        seqs = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
        mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
        s, pos, rolled, pad_len, idx = unpad_and_slice_tensor(seqs, mask, None)
        print("UNPAD", s.tolist(), pos.tolist(), rolled.tolist(), pad_len)
        print("REPAD", gather_and_pad_tensor(s, None, 0, idx, 2, 4).tolist())
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split(" ", 1) for line in result.stdout.splitlines() if " " in line]
    return {key: value for key, value in lines}


def test_openrlhf_models_imports_but_flash_attn_stays_unavailable(openrlhf_probe):
    assert openrlhf_probe["FA2"] == "False None"
    assert openrlhf_probe["LOGPROBS"] == "[-1.3863, -1.3863]"  # log(1/4): the pure-torch fallback ran


def test_openrlhf_ring_attn_unpad_matches_docstring(openrlhf_probe):
    """OpenRLHF's own example in unpad_and_slice_tensor / gather_and_pad_tensor, through the shim."""
    assert openrlhf_probe["UNPAD"] == "[[1, 2, 3, 4, 5]] [[0, 1, 2, 0, 1]] [[2, 3, 0, 5, 0]] 0"
    assert openrlhf_probe["REPAD"] == "[[1, 2, 3, 0], [4, 5, 0, 0]]"


def test_cuda_redirect_makes_current_device_usable():
    result = run_python(
        """
        import torch
        from repro.cpu import cuda_redirect
        cuda_redirect.install()
        x = torch.ones(3).to(torch.cuda.current_device())
        y = torch.zeros(2, device=torch.cuda.current_device())
        torch.cuda.set_device(0); torch.cuda.synchronize(); torch.cuda.empty_cache()
        from torch.distributed.device_mesh import init_device_mesh
        import torch._dynamo  # trace rules map torch.cuda functions by identity: must still load
        print("RESULT", x.device, y.device, torch.cuda.is_available())
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "RESULT cpu cpu False"


def test_cuda_redirect_maps_device_mesh_to_cpu(monkeypatch):
    from repro.cpu import cuda_redirect

    seen = []
    wrapped = cuda_redirect._cpu_device_type(lambda device_type, *a, **k: seen.append((device_type, a, k)))
    wrapped("cuda", (1, 1, 1), mesh_dim_names=("dp", "sp", "tp"))
    wrapped("meta", (2,))
    assert seen == [("cpu", ((1, 1, 1),), {"mesh_dim_names": ("dp", "sp", "tp")}), ("meta", ((2,),), {})]


def test_single_process_env_defaults_do_not_override(monkeypatch):
    env = {"MASTER_PORT": "12345"}
    cpu_run.apply_env(env)
    assert env["MASTER_PORT"] == "12345"
    assert env["RANK"] == "0" and env["WORLD_SIZE"] == "1" and env["LOCAL_RANK"] == "0"
    assert env["MASTER_ADDR"] == "127.0.0.1" and env["DS_ACCELERATOR"] == "cpu"
    assert env["TORCH_EXTENSIONS_DIR"] == str(REPO_ROOT / ".cache" / "torch_extensions")
    assert 0 < cpu_run.free_port() < 65536


def test_version_check(monkeypatch):
    import repro.cpu as cpu

    monkeypatch.setattr(cpu, "installed_openrlhf_version", lambda: OPENRLHF_VERSION)
    check_openrlhf_version()
    monkeypatch.setattr(cpu, "installed_openrlhf_version", lambda: "0.12.0")
    with pytest.raises(OpenRLHFVersionError, match="0.12.0"):
        check_openrlhf_version()
    with pytest.warns(RuntimeWarning, match="pinned to openrlhf==0.11.2"):
        check_openrlhf_version(strict=False)


def test_run_module_entry_point(tmp_path):
    """`python -m repro.cpu.run <module> args` runs the module as __main__ with the shims and env."""
    pkg = tmp_path / "probe_mod.py"
    pkg.write_text(
        "import sys, os, torch\n"
        "from flash_attn.bert_padding import unpad_input\n"
        "print('RESULT', __name__, sys.argv[1:], os.environ['WORLD_SIZE'], torch.get_num_threads(),"
        " torch.cuda.current_device())\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": f"{REPO_ROOT}:{tmp_path}", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "repro.cpu.run", "probe_mod", "--a", "1"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "RESULT __main__ ['--a', '1'] 1 1 cpu"


def test_installed_openrlhf_is_the_pinned_version():
    from repro.cpu import installed_openrlhf_version

    assert installed_openrlhf_version() == OPENRLHF_VERSION


def test_all_gather_single_rank_gloo(tmp_path):
    import torch.distributed as dist

    from repro.cpu.flash_attn_shim import all_gather

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        out = all_gather(x, dist.group.WORLD)
        assert out.tolist() == [[1.0, 2.0], [3.0, 4.0]]
        (out * 2).sum().backward()
        assert x.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    finally:
        dist.destroy_process_group()


def test_orphaned_deepspeed_shm_buffers_are_removed_but_used_ones_kept(tmp_path):
    import mmap

    from repro.cpu.shm_cleanup import remove_orphaned_deepspeed_buffers

    names = [f"deepspeed_allreduce_buffer_0_127.0.0.1_{port}_0" for port in (1001, 1002, 1003)]
    for name in names:
        (tmp_path / name).write_bytes(b"x" * 4096)
    (tmp_path / "other_file").write_bytes(b"y")
    mapped = open(tmp_path / names[0], "r+b")
    mapping = mmap.mmap(mapped.fileno(), 4096)
    held = open(tmp_path / names[1], "rb")
    try:
        assert remove_orphaned_deepspeed_buffers(tmp_path) == 4096  # only the third: nobody uses it
    finally:
        mapping.close(), mapped.close(), held.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], names[1], "other_file"])
    assert remove_orphaned_deepspeed_buffers(tmp_path) == 2 * 4096


def test_ray_imported_before_the_loopback_pin_is_refused_not_exposed():
    """Method hooks import OpenRLHF (and so ray) early: the stage must fail loudly rather than start a Ray
    cluster that binds every interface (repro.cpu.run pins loopback before hooks, shims and the version check)."""
    code = ("import ray\nfrom repro.cpu import ray_local\n"
            "try:\n    ray_local.pin_loopback()\nexcept ray_local.RayImportedTooEarly as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "refused: ray was imported before" in out.stdout, out.stderr[-2000:]


def test_bf16_matmul_mode_follows_the_cpu_kernels_unless_set():
    from repro.cpu.bf16_matmul import mode_for

    assert mode_for(None, ["fma", "avx2"]) == "fp32"  # AVX2-only (e.g. AMD EPYC Zen 3): generic bf16 path, slow
    assert mode_for("auto", ["avx2", "avx512f", "avx512_bf16"]) == "native"
    assert mode_for("auto", ["avx2", "amx_tile", "amx_bf16"]) == "native"
    assert mode_for("native", ["avx2"]) == "native" and mode_for(" FP32 ", ["avx512_bf16"]) == "fp32"
    with pytest.raises(ValueError, match="REPRO_CPU_BF16_MATMUL='fast': expected one of auto, fp32, native"):
        mode_for("fast", [])


def test_a_stages_machine_facts_take_the_bf16_mode_from_the_stages_own_environment():
    from repro.envinfo import machine_facts

    facts = machine_facts({"REPRO_CPU_BF16_MATMUL": "native"})
    assert facts["cpu_bf16_matmul"] == "native"
    assert machine_facts({"REPRO_CPU_BF16_MATMUL": "fp32"})["cpu_bf16_matmul"] == "fp32"
    assert set(facts) == {"cpu", "cpu_flags", "cpu_bf16_matmul", "cpu_count", "gpus"} and facts["cpu_count"] >= 1


def test_upcast_linear_keeps_only_bf16_for_backward_and_gives_plain_autograds_gradients():
    """The linear Function saves the bf16 operands (plain autograd would save float32 copies of input and weight:
    4 B/param more per trained model) and recomputes the same float32 GEMMs backwards: identical outputs and
    gradients, for a batch of sequences, a single vector and a frozen weight."""
    from repro.cpu.bf16_matmul import upcast, upcast_linear

    lean, plain = upcast_linear(torch.nn.functional.linear), upcast(torch.nn.functional.linear)
    torch.manual_seed(0)
    for shape, frozen in (((4, 8, 16), False), ((16,), False), ((3, 16), True)):
        x0, w0, b0 = torch.randn(*shape).bfloat16(), torch.randn(32, 16).bfloat16(), torch.randn(32).bfloat16()
        results = []
        for fn in (lean, plain):
            x, w, b = x0.clone().requires_grad_(), w0.clone().requires_grad_(not frozen), b0.clone().requires_grad_()
            y = fn(x, w, bias=b)
            (y.float() ** 2).sum().backward()
            results.append([y, x.grad, w.grad, b.grad])
        for got, want in zip(*results):
            assert (got is None and want is None) or (got.dtype is torch.bfloat16 and torch.equal(got, want)), shape
    saved = []
    x, w = torch.randn(4, 16).bfloat16().requires_grad_(), torch.randn(32, 16).bfloat16().requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.dtype) or t, lambda t: t):
        lean(x, w)
    assert saved == [torch.bfloat16, torch.bfloat16]
    assert lean(x.float(), w.float()).dtype is torch.float32  # other dtypes: the plain path, untouched


def test_upcast_linear_sums_in_float32_and_keeps_bf16_outside():
    """1 + 2^-8 + 2^-8: summed in float32 it is 1 + 2^-7 (a bf16 value); rounded to bf16 after each addition it
    would stay 1 (1 + 2^-8 is a tie that rounds to even). Gradients come back in bf16: d(sum)/dw = x."""
    from repro.cpu.bf16_matmul import upcast

    linear = upcast(torch.nn.functional.linear)
    x = torch.ones(1, 3, dtype=torch.bfloat16, requires_grad=True)
    w = torch.tensor([[1.0, 2**-8, 2**-8]], dtype=torch.bfloat16, requires_grad=True)
    b = torch.tensor([0.5], dtype=torch.bfloat16, requires_grad=True)
    out = linear(x, w, b)
    assert out.dtype is torch.bfloat16 and out.item() == 1.5 + 2**-7
    out.sum().backward()
    assert w.grad.dtype is torch.bfloat16 and w.grad.tolist() == [[1.0, 1.0, 1.0]]
    assert x.grad.tolist() == [[1.0, 2**-8, 2**-8]] and b.grad.tolist() == [1.0]
    # Other dtypes pass through to the wrapped function untouched; torch.matmul (eager attention) alike.
    assert linear(x.float(), w.float()).dtype is torch.float32
    matmul = upcast(torch.matmul)
    assert matmul(x.detach(), w.detach().t()).item() == 1 + 2**-7 and matmul(x, w.t()).dtype is torch.bfloat16
