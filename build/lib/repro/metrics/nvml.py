"""A thin NVML reader (nvidia-ml-py). Absent driver or library -> None, never an error."""

from __future__ import annotations

import warnings


class Nvml:
    def __init__(self, pynvml):
        self._nv = pynvml
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

    @classmethod
    def open(cls) -> "Nvml | None":
        try:
            with warnings.catch_warnings():  # the `pynvml` shim OpenRLHF pulls in warns on import
                warnings.simplefilter("ignore", FutureWarning)
                import pynvml
            pynvml.nvmlInit()
            return cls(pynvml)
        except Exception:  # no library, no driver, no device: a CPU machine
            return None

    def device_names(self) -> list[str]:
        names = []
        for h in self._handles:
            n = self._nv.nvmlDeviceGetName(h)
            names.append(n.decode() if isinstance(n, bytes) else n)
        return names

    def used_mib(self) -> dict[str, float]:
        return {str(i): self._nv.nvmlDeviceGetMemoryInfo(h).used / 2**20 for i, h in enumerate(self._handles)}

    def process_mib(self, pids: set[int]) -> float:
        """GPU memory held by the given processes, summed over devices."""
        return sum(self.process_mib_by_pid(pids).values())

    def process_mib_by_pid(self, pids: set[int]) -> dict[int, float]:
        """GPU memory each of the given processes holds, summed over devices."""
        out: dict[int, float] = {}
        for h in self._handles:
            try:
                procs = self._nv.nvmlDeviceGetComputeRunningProcesses(h)
            except Exception:
                continue
            for p in procs:
                if p.pid in pids:
                    out[p.pid] = out.get(p.pid, 0.0) + (p.usedGpuMemory or 0) / 2**20
        return out
