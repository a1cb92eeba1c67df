"""Ray's worker_process_setup_hook for CPU stages: every worker gets the driver's shims.

Runs once in each Ray worker process before any task or actor, so OpenRLHF's actors import with
the flash-attn, CUDA and vLLM stand-ins in place, torch uses the stage's thread count, the global
RNGs start from the run's seed ($REPRO_SEED), and rollouts reach the trainer in dispatch order
(repro/launch/ordered_rollouts.py).
Method hooks named in REPRO_HOOKS (e.g. DVPO's) run after, as in the driver; the seed, the rollout
order and the hooks are the GPU workers' own setup (repro.launch.openrlhf_entry.worker_setup).
"""

from __future__ import annotations


def setup() -> None:
    from repro.cpu.cuda_redirect import patch_replay_buffer
    from repro.cpu.run import install_shims, set_threads
    from repro.launch.openrlhf_entry import worker_setup

    set_threads()
    install_shims()
    patch_replay_buffer()
    worker_setup()  # after the shims (the samples generator it patches imports vllm): as on GPU from here
