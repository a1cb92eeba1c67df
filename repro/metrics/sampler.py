"""ResourceSampler: polls a process tree for RSS and GPU memory while a stage runs.

Every stage of every method is wrapped by this same class, so memory and time are
measured one way. RSS is summed over the whole tree (Ray and DeepSpeed spawn workers).
"""

from __future__ import annotations

import threading
import time

import psutil

from repro.metrics.nvml import Nvml
from repro.store import StageMetrics


def tree_memory(pid: int) -> tuple[int, int, set[int]]:
    """(RSS, PSS, pids) summed over a process tree. RSS double-counts pages that forked
    workers share (OpenRLHF's datasets.map forks 8); PSS splits them fairly."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0, set()
    rss, pss, pids = 0, 0, set()
    for p in procs:
        try:
            info = p.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
            pids.add(p.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return rss, pss, pids


class ResourceSampler:
    def __init__(self, pid: int, device: str, interval_s: float = 0.2):
        self.pid, self.device, self.interval_s = pid, device, interval_s
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_gpu: dict[str, float] = {}
        self.peak_gpu_proc: float | None = None
        self.samples = 0
        self._nvml = Nvml.open()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = 0.0
        self.wall_s = 0.0

    def __enter__(self) -> "ResourceSampler":
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.wall_s = time.perf_counter() - self._t0

    def wall_s_so_far(self) -> float:
        return time.perf_counter() - self._t0

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval_s):
                return

    def sample(self) -> None:
        rss, pss, pids = tree_memory(self.pid)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        if self._nvml:
            for dev, used in self._nvml.used_mib().items():
                self.peak_gpu[dev] = max(self.peak_gpu.get(dev, 0.0), used)
            self.peak_gpu_proc = max(self.peak_gpu_proc or 0.0, self._nvml.process_mib(pids))
        self.samples += 1

    def metrics(self, tokens: float | None = None) -> StageMetrics:
        return StageMetrics(
            device=self.device,
            wall_s=round(self.wall_s, 3),
            peak_rss_mib=round(self.peak_rss / 2**20, 1),
            peak_pss_mib=round(self.peak_pss / 2**20, 1),
            peak_gpu_mem_mib={k: round(v, 1) for k, v in self.peak_gpu.items()},
            peak_gpu_proc_mib=None if self.peak_gpu_proc is None else round(self.peak_gpu_proc, 1),
            tokens=tokens,
            tokens_per_s=round(tokens / self.wall_s, 1) if tokens and self.wall_s > 0 else None,
            samples=self.samples,
        )
