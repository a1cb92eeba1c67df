"""Per-role attribution of a stage's processes (repro/metrics/roles.py) and the sampler's per-role totals."""

import subprocess
import sys
import time

import pytest

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


def test_cpu_between_two_instants_comes_from_the_snapshots_taken_at_or_before_them():
    totals = RoleTotals(snapshot_every_s=1.0)
    totals.reading([(1, "driver", 100, 5.0), (2, "actor", 100, 20.0)], at=100.0)  # start-up: 25 CPU-s
    totals.reading([(1, "driver", 100, 5.5), (2, "actor", 100, 21.0)], at=100.5)  # < 1 s later: no snapshot
    totals.reading([(1, "driver", 100, 6.0), (2, "actor", 100, 24.0)], at=101.0)
    totals.reading([(1, "driver", 100, 7.0), (2, "actor", 100, 30.0), (3, "rollout", 10, 2.0)], at=103.0)
    assert [t for t, _ in totals.snapshots] == [100.0, 101.0, 103.0]
    # window 100.9 -> 103.5 reads the snapshots of 100.0 and 103.0; a role born inside it counts from zero
    assert totals.cpu_s_between(100.9, 103.5) == {"driver": 2.0, "actor": 10.0, "rollout": 2.0}
    assert totals.cpu_s_between(101.0, 103.0) == {"driver": 1.0, "actor": 6.0, "rollout": 2.0}
    assert totals.cpu_s_between(99.0, 103.0) == {}  # the window began before the sampler's first snapshot


def test_the_steady_window_runs_from_the_first_logged_steps_end_to_the_last():
    from repro.metrics.sampler import steady_window

    assert steady_window({3: 130.0, 1: 110.0, 2: 118.0}) == (110.0, 130.0, 2)
    assert steady_window({1: 110.0}) is None and steady_window({}) is None


def test_an_exiting_process_keeps_its_role_when_its_command_line_is_gone():
    # Ray killing an actor (e.g. its OOM monitor): the zombie reads with an empty command line, role `other`.
    totals = RoleTotals()
    totals.reading([(1, "driver", 100, 1.0), (2, "actor", 300, 50.0)])
    totals.reading([(1, "driver", 100, 2.0), (2, "other", 0, 60.0), (3, "other", 5, 1.0)])
    assert totals.cpu_s() == {"driver": 2.0, "actor": 60.0, "other": 1.0}
    assert role_of([], False) == "other"


def test_pss_walks_are_spaced_to_their_cost_and_cheap_readings_fill_the_gaps():
    from repro.metrics.sampler import next_pss_reading

    # a 0.2 s PSS walk at a 5% duty: the next one 4 s later; a 1 ms one: at the next 0.2 s tick
    assert next_pss_reading(100.0, 0.2, 0.2, 0.05) == pytest.approx(104.0)
    assert next_pss_reading(100.0, 0.001, 0.2, 0.05) == pytest.approx(100.2)
    totals = RoleTotals()
    totals.reading([(1, "driver", 100, 1.0), (2, "actor", 300, 2.0)])
    totals.reading([(1, "driver", None, 3.0), (2, "actor", None, 5.0), (3, "other", None, 1.0)])  # cheap reading
    assert dict(totals.peak_pss) == {"driver": 100, "actor": 300}
    assert totals.cpu_s() == {"driver": 3.0, "actor": 5.0, "other": 1.0}


def test_a_sampler_on_a_budget_reads_pss_once_and_rss_throughout():
    child = subprocess.Popen([sys.executable, "-c", TITLED.format(mb=200, s=1.5, work="time.sleep(0.05)")])
    with ResourceSampler(child.pid, "cpu", interval_s=0.1, pss_duty=1e-9) as sampler:
        child.wait()
    m = sampler.metrics()
    assert m.pss_samples == 1 and m.samples > 5  # the first reading only: the budget allows no other PSS walk
    assert m.peak_rss_mib > 200 and m.peak_pss_mib > 0 and m.sampler_cpu_s is not None
    assert "driver" in m.roles and m.roles["driver"].cpu_s > 0


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
