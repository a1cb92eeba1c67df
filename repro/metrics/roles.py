"""Which role each process of a stage plays, from its command line, and the per-role totals the sampler keeps.

Ray titles an actor's worker process `ray::<ActorClass>` (`ray::<ActorClass>.<method>` while it runs one), so
OpenRLHF's model groups are told apart by class: the policy (PolicyModelActor), the reference, the critic, the
reward model, DVPO's frozen GVM (FrozenValueActor, in the critic's place), the rollout engine and the PPO
trainer loop (PPOTrainer: experience making, advantages). The stage's own process is the driver; Ray's own
daemons and idle workers are `ray`; anything else (DeepSpeed's compiler, a tokenizer pool) is `other`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

ACTOR_ROLES = {
    "PolicyModelActor": "actor",
    "ReferenceModelActor": "reference",
    "CriticModelActor": "critic",
    "FrozenValueActor": "gvm",
    "FrozenPairActor": "reference_gvm",  # DVPO's reference and GVM in one process (dvpo/frozen_pair.py)
    "RewardModelActor": "reward_model",
    "RolloutRayActor": "rollout",
    "LLMRayActor": "rollout",
    "PPOTrainer": "trainer",
    "PPOTrainerAsync": "trainer",
}
RAY_DAEMONS = ("raylet", "gcs_server", "dashboard", "log_monitor", "monitor.py", "runtime_env", "ray_client_server")
ROLES = ("driver", *dict.fromkeys(ACTOR_ROLES.values()), "ray", "other")


def role_of(cmdline: list[str], is_root: bool) -> str:
    """A process's role from its command line (Ray rewrites a worker's to its title)."""
    if is_root:
        return "driver"
    text = " ".join(cmdline)
    if text.startswith("ray::"):
        actor = text[len("ray::"):].split()[0].split(".")[0]
        return ACTOR_ROLES.get(actor, "ray")
    if any(daemon in text for daemon in RAY_DAEMONS) or "default_worker.py" in text:
        return "ray"
    return "other"


@dataclass
class RoleTotals:
    """Per role: the peak of its processes' summed memory over the readings, and the CPU-seconds they used.

    A worker's title changes once it becomes an actor (`ray::IDLE` -> `ray::PolicyModelActor`), so each reading
    takes the role afresh; CPU-seconds are each process's cumulative user+system time at its last reading,
    credited to its last role. Readings given a time also keep the per-role CPU-seconds at that time (at most
    one per `snapshot_every_s`), so the CPU a window of the stage used (e.g. its steady training steps) is known."""

    peak_pss: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    peak_gpu_mib: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu_by_pid: dict[int, tuple[str, float]] = field(default_factory=dict)
    snapshots: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    snapshot_every_s: float = 1.0

    def reading(self, procs: list[tuple[int, str, int, float]], gpu_mib_by_pid: dict[int, float] | None = None,
                at: float | None = None) -> None:
        """procs: (pid, role, pss bytes or None, cpu seconds so far) for every process of the tree at one instant;
        at: that instant (seconds since the epoch), to keep a CPU snapshot."""
        pss, gpu = defaultdict(int), defaultdict(float)
        for pid, role, mem, cpu in procs:
            if role == "other" and pid in self.cpu_by_pid:
                # An exiting process (a killed actor, a zombie) loses its command line and would read as
                # `other`: it keeps the role it had, and its CPU-seconds stay with that role.
                role = self.cpu_by_pid[pid][0]
            if mem is not None:  # None: a cheap reading without PSS (repro/metrics/sampler.py)
                pss[role] += mem
            if gpu_mib_by_pid:
                gpu[role] += gpu_mib_by_pid.get(pid, 0.0)
            self.cpu_by_pid[pid] = (role, cpu)
        for role, mem in pss.items():
            self.peak_pss[role] = max(self.peak_pss[role], mem)
        for role, mib in gpu.items():
            self.peak_gpu_mib[role] = max(self.peak_gpu_mib[role], mib)
        if at is not None and (not self.snapshots or at - self.snapshots[-1][0] >= self.snapshot_every_s):
            self.snapshots.append((at, self.cpu_s()))

    def cpu_s(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for role, cpu in self.cpu_by_pid.values():
            out[role] += cpu
        return dict(out)

    def cpu_s_between(self, start: float, end: float) -> dict[str, float]:
        """Per role, the CPU-seconds used from `start` to `end` (seconds since the epoch), read from the last
        snapshots taken at or before each; {} when no snapshot precedes `start`."""
        def at(t: float) -> dict[str, float] | None:
            return next((cpu for when, cpu in reversed(self.snapshots) if when <= t), None)

        before, after = at(start), at(end)
        if before is None or after is None:
            return {}
        return {role: after[role] - before.get(role, 0.0) for role in after}
