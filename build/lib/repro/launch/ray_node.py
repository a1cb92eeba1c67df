"""`ray start` that keeps an explicitly given loopback address: `python -m repro.launch.ray_node start ...`.

Ray's CLI and `ray.init` replace 127.0.0.1 (in --node-ip-address and in the cluster's address) with the
machine's routable address so that other hosts can reach the node, and its servers then listen on every
interface, with no authentication. On a real cluster the first node's address is never a loopback one and
nothing changes; on slurm/local's 2-node mode, where every node is 127.0.0.1, this keeps the whole cluster
(GCS, raylets, agents, workers, drivers) on the loopback. It replaces one function of Ray's private API:
tests/integration/test_ray_bootstrap_cluster.py checks the listeners, so a Ray upgrade that moves it fails there.
"""

from __future__ import annotations

import sys


def keep_explicit_loopback() -> None:
    """Take a loopback address given to Ray at its word (call before `ray start` or `ray.init` parse it)."""
    from ray._private import services

    services.resolve_ip_for_localhost = lambda host: host


def main() -> None:
    keep_explicit_loopback()
    from ray.scripts.scripts import main as ray_main

    sys.exit(ray_main())


if __name__ == "__main__":
    main()
