"""ResourceSampler: polls a process tree for RSS and GPU memory while a stage runs.

Every stage of every method is wrapped by this same class, so memory and time are
measured one way. RSS is summed over the whole tree (Ray and DeepSpeed spawn workers); PSS,
GPU memory and CPU-seconds are also kept per role (repro/metrics/roles.py).

PSS is costly: the kernel walks every page of a process to compute it (0.22 s for an 11 GiB process, taking
the process's mmap lock), so reading it every 0.2 s would keep a core of a 2-core machine busy measuring. RSS
and CPU times (cheap) are read at every tick; PSS only as often as `pss_duty` (the fraction of one core the
PSS walk may use) allows, and the sampler's own CPU-seconds are recorded.
"""

from __future__ import annotations

import threading
import time

import psutil

from repro.metrics.nvml import Nvml
from repro.metrics.roles import ROLES, RoleTotals, role_of
from repro.store import RoleUsage, StageMetrics


def tree_reading(pid: int, pss: bool = True) -> tuple[int, int | None, list[tuple[int, str, int | None, float]]]:
    """(RSS, PSS, per process (pid, role, PSS, CPU-seconds)) over a process tree. RSS double-counts pages that
    forked workers share (OpenRLHF's datasets.map forks 8); PSS splits them fairly. pss=False: RSS and CPU only
    (cheap), PSS None."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0, []
    rss, total_pss, rows = 0, 0 if pss else None, []
    for p in procs:
        try:
            info, cpu = (p.memory_full_info() if pss else p.memory_info()), p.cpu_times()
            mine = getattr(info, "pss", info.rss) if pss else None
            rss += info.rss
            if pss:
                total_pss += mine
            rows.append((p.pid, role_of(p.cmdline(), p.pid == pid), mine, cpu.user + cpu.system))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return rss, total_pss, rows


def next_pss_reading(now: float, took_s: float, interval_s: float, duty: float) -> float:
    """When the next PSS reading may start: one that took `took_s` is followed by at least took_s / duty of
    cheap readings, so the PSS walk uses at most `duty` of one core (and never runs more often than the tick)."""
    return now + max(interval_s, took_s / duty)


class ResourceSampler:
    def __init__(self, pid: int, device: str, interval_s: float = 0.2, pss_duty: float = 0.05):
        self.pid, self.device, self.interval_s, self.pss_duty = pid, device, interval_s, pss_duty
        self._next_pss = 0.0
        self.pss_samples = 0
        self.own_cpu_s = 0.0
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_gpu: dict[str, float] = {}
        self.peak_gpu_proc: float | None = None
        self.samples = 0
        self.roles = RoleTotals()
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
            self.own_cpu_s = time.thread_time()  # this thread's CPU-seconds: what measuring cost
            if self._stop.wait(self.interval_s):
                return

    def sample(self) -> None:
        start = time.perf_counter()
        with_pss = start >= self._next_pss
        rss, pss, rows = tree_reading(self.pid, pss=with_pss)
        if with_pss:
            self._next_pss = next_pss_reading(start, time.perf_counter() - start, self.interval_s, self.pss_duty)
            self.peak_pss = max(self.peak_pss, pss)
            self.pss_samples += 1
        self.peak_rss = max(self.peak_rss, rss)
        by_pid = None
        if self._nvml:
            for dev, used in self._nvml.used_mib().items():
                self.peak_gpu[dev] = max(self.peak_gpu.get(dev, 0.0), used)
            by_pid = self._nvml.process_mib_by_pid({r[0] for r in rows})
            self.peak_gpu_proc = max(self.peak_gpu_proc or 0.0, sum(by_pid.values()))
        self.roles.reading(rows, by_pid, at=time.time())
        self.samples += 1

    def metrics(self, tokens: float | None = None, steady: tuple[float, float, int] | None = None) -> StageMetrics:
        """steady: (end of the first logged step, end of the last, steps between), from the stage's tensorboard
        (steady_window); each role's CPU-seconds over that window are its steady-state work."""
        steady_cpu = self.roles.cpu_s_between(steady[0], steady[1]) if steady else {}
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
            pss_samples=self.pss_samples,
            sampler_cpu_s=round(self.own_cpu_s, 2),
            cpu_s=round(sum(cpu.values()), 2) if (cpu := self.roles.cpu_s()) else None,
            roles={role: RoleUsage(peak_pss_mib=round(self.roles.peak_pss[role] / 2**20, 1),
                                   peak_gpu_mib=round(self.roles.peak_gpu_mib[role], 1) if self._nvml else None,
                                   cpu_s=round(cpu.get(role, 0.0), 2),
                                   cpu_s_steady=round(steady_cpu[role], 2) if role in steady_cpu else None)
                   for role in ROLES if role in self.roles.peak_pss or role in (cpu or {})},
            steady_steps=steady[2] if steady_cpu else None,
        )


def steady_window(step_ends: dict[int, float]) -> tuple[float, float, int] | None:
    """(end of the first logged step, end of the last, steps between) from each step's end time; None with fewer
    than two steps. Like s/step, it leaves the first (warm-up) step out, and start-up and model loading with it."""
    if len(step_ends) < 2:
        return None
    steps = sorted(step_ends)
    return step_ends[steps[0]], step_ends[steps[-1]], len(steps) - 1
