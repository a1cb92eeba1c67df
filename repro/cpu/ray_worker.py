"""Ray's worker_process_setup_hook for CPU stages: every worker gets the driver's shims.

Runs once in each Ray worker process before any task or actor, so OpenRLHF's actors import with
the flash-attn, CUDA and vLLM stand-ins in place, torch uses the stage's thread count, the global
RNGs start from the run's seed ($REPRO_SEED), and rollouts reach the trainer in dispatch order
(repro/launch/ordered_rollouts.py).
Method hooks named in REPRO_HOOKS (e.g. DVPO's) run after, as in the driver.
"""

from __future__ import annotations


def setup() -> None:
    from repro.cpu.cuda_redirect import patch_replay_buffer
    from repro.cpu.run import install_shims, set_threads
    from repro.launch import ordered_rollouts
    from repro.launch.openrlhf_entry import run_hooks, seed_worker

    seed_worker()
    set_threads()
    install_shims()
    patch_replay_buffer()
    ordered_rollouts.install()  # after the shims: the samples generator imports vllm
    run_hooks()
