"""What makes a Ray PPO stage repeat: the seed reaches the driver and every worker, and rollouts are taken in
dispatch order whatever order they finish in (hand cases; the real reruns are in tests/integration)."""

import os

import pytest

from repro.launch import openrlhf_entry
from repro.launch.ordered_rollouts import InOrderRay


class FakeRay:
    """ray.wait over refs that are ready when named in `done`; records what was asked."""

    def __init__(self, done):
        self.done, self.asked = set(done), []
        self.get = lambda ref: f"value of {ref}"

    def wait(self, refs, num_returns=1, timeout=None):
        self.asked.append(list(refs))
        ready = [r for r in refs if r in self.done][:num_returns]
        return ready, [r for r in refs if r not in ready]


def test_in_order_wait_returns_the_first_pending_ref_only_when_it_is_ready():
    fake = FakeRay(done={"b", "c"})
    ray = InOrderRay(fake)
    # "b" and "c" finished first, but "a" was sent first: nothing is taken until "a" is ready.
    assert ray.wait(["a", "b", "c"], num_returns=1, timeout=10.0) == ([], ["a", "b", "c"])
    assert fake.asked == [["a"]]
    fake.done.add("a")
    assert ray.wait(["a", "b", "c"]) == (["a"], ["b", "c"])
    assert ray.wait(["b", "c"]) == (["b"], ["c"]) and ray.wait([]) == ([], [])
    assert ray.get("x") == "value of x"  # everything else is the real module's


def test_seed_comes_from_the_cli_and_reaches_workers(monkeypatch):
    monkeypatch.delenv(openrlhf_entry.SEED_ENV, raising=False)
    assert openrlhf_entry.seed_driver(["--actor.x", "1"]) is None and openrlhf_entry.SEED_ENV not in os.environ
    assert openrlhf_entry.seed_driver(["--train.seed", "42", "--train.batch_size", "8"]) == 42
    assert os.environ[openrlhf_entry.SEED_ENV] == "42"
    torch = pytest.importorskip("torch")
    first = torch.rand(3)
    openrlhf_entry.seed_worker()
    assert torch.equal(torch.rand(3), first)  # a worker starts where the driver started
