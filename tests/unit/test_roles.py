"""Per-role attribution of a stage's processes (repro/metrics/roles.py) and the sampler's per-role totals."""

import subprocess
import sys
import time

from repro.metrics.roles import RoleTotals, role_of
from repro.metrics.sampler import ResourceSampler


def test_role_of_ray_titles_daemons_and_the_rest():
    assert role_of(["python", "-m", "repro.cpu.run"], is_root=True) == "driver"
    assert role_of(["ray::PolicyModelActor.fit"], False) == "actor"
    assert role_of(["ray::ReferenceModelActor"], False) == "reference"
    assert role_of(["ray::CriticModelActor.append"], False) == "critic"
    assert role_of(["ray::FrozenValueActor.forward"], False) == "gvm"
    assert role_of(["ray::FrozenPairActor.execute_batch"], False) == "reference_gvm"
    assert role_of(["ray::RewardModelActor"], False) == "reward_model"
    assert role_of(["ray::RolloutRayActor.generate_responses"], False) == "rollout"
    assert role_of(["ray::PPOTrainer.fit"], False) == "trainer"
    assert role_of(["ray::IDLE"], False) == "ray"
    assert role_of(["/x/ray/core/src/ray/raylet/raylet", "--node_ip_address=127.0.0.1"], False) == "ray"
    assert role_of(["/x/ray/core/src/ray/gcs/gcs_server", "--gcs_server_port=6379"], False) == "ray"
    assert role_of(["python", "-m", "ray.dashboard.agent"], False) == "ray"
    assert role_of(["c++", "-O3", "cpu_adam.cpp"], False) == "other"


def test_role_totals_keep_peaks_of_sums_and_last_cpu_per_process():
    totals = RoleTotals()
    totals.reading([(1, "driver", 100, 1.0), (2, "ray", 50, 0.5), (3, "ray", 70, 0.2)])
    totals.reading([(1, "driver", 80, 2.0), (2, "actor", 300, 4.0)])  # pid 2 became the actor
    assert dict(totals.peak_pss) == {"driver": 100, "ray": 120, "actor": 300}
    assert totals.cpu_s() == {"driver": 2.0, "actor": 4.0, "ray": 0.2}


TITLED = "import sys, time; x = bytearray({mb} << 20); t = time.time()\nwhile time.time() - t < {s}: {work}"
# A fixed amount of CPU work (~1 CPU-second), then a pause so the sampler reads the final total: the actor's
# CPU-seconds do not depend on how busy the machine's other cores are.
BUSY = "import time; x = bytearray(120 << 20); s = 0\nfor i in range(20_000_000): s += i\ntime.sleep(0.5)"


def test_the_sampler_attributes_a_real_process_tree_by_title():
    """A parent (the driver) with two children titled as Ray titles its actors: a busy 'actor' holding 120 MiB and
    an idle 'rollout' holding 10 MiB. The sampler credits memory and CPU to each by title."""
    script = (f"import subprocess, sys\n"
              f"busy = ['bash', '-c', 'exec -a ray::PolicyModelActor.fit {sys.executable} -c \"$0\"', "
              f"{BUSY!r}]\n"
              f"idle = ['bash', '-c', 'exec -a ray::RolloutRayActor {sys.executable} -c \"$0\"', "
              f"{TITLED.format(mb=10, s=1.5, work='time.sleep(0.05)')!r}]\n"
              "procs = [subprocess.Popen(busy), subprocess.Popen(idle)]\n"
              "[p.wait() for p in procs]\n")
    parent = subprocess.Popen([sys.executable, "-c", script])
    with ResourceSampler(parent.pid, "cpu", interval_s=0.1) as sampler:
        parent.wait()
        time.sleep(0.05)
    roles = sampler.metrics().roles
    assert {"driver", "actor", "rollout"} <= roles.keys()
    assert roles["actor"].peak_pss_mib > 100 and 5 < roles["rollout"].peak_pss_mib < 60
    assert roles["actor"].cpu_s > 0.6 and roles["rollout"].cpu_s < 0.5
    assert sampler.metrics().cpu_s >= roles["actor"].cpu_s
