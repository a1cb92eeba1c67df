"""Ray's worker_process_setup_hook for CPU stages: every worker gets the driver's shims.

Runs once in each Ray worker process before any task or actor, so OpenRLHF's actors import with
the flash-attn, CUDA and vLLM stand-ins in place, and torch uses the stage's thread count.
Extra hooks named in REPRO_HOOKS ("module:function,...") run after, e.g. DVPO's.
"""

from __future__ import annotations

import importlib
import os


def run_extra_hooks() -> None:
    for spec in filter(None, os.environ.get("REPRO_HOOKS", "").split(",")):
        module, _, func = spec.partition(":")
        getattr(importlib.import_module(module), func)()


def setup() -> None:
    from repro.cpu.cuda_redirect import patch_replay_buffer
    from repro.cpu.run import install_shims, set_threads

    set_threads()
    install_shims()
    patch_replay_buffer()
    run_extra_hooks()
