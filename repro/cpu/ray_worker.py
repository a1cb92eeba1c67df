"""Ray's worker_process_setup_hook for CPU stages: every worker gets the driver's shims.

Runs once in each Ray worker process before any task or actor, so OpenRLHF's actors import with
the flash-attn, CUDA and vLLM stand-ins in place, and torch uses the stage's thread count.
Method hooks named in REPRO_HOOKS (e.g. DVPO's) run after, as in the driver.
"""

from __future__ import annotations


def setup() -> None:
    from repro.cpu.cuda_redirect import patch_replay_buffer
    from repro.cpu.run import install_shims, set_threads
    from repro.launch.openrlhf_entry import run_hooks

    set_threads()
    install_shims()
    patch_replay_buffer()
    run_hooks()
