"""Weight sync between OpenRLHF's actor and the HF rollout engines over a gloo group, on the loopback.

vLLM's StatelessProcessGroup and PyNcclCommunicator are what OpenRLHF calls to broadcast weights; these
stand-ins do the same over gloo. Their own module so that the vllm stand-in (which exposes them) and the
HF engine (which uses them) both import it instead of each other.
"""

from __future__ import annotations

from datetime import timedelta


class StatelessProcessGroup:
    """vllm.distributed.utils.StatelessProcessGroup: a group outside torch's default one (gloo here).

    OpenRLHF's actor rank 0 and every rollout engine meet here to broadcast weights.
    """

    def __init__(self, group, rank: int, world_size: int, store) -> None:
        self.group, self.rank, self.world_size, self.store = group, rank, world_size, store

    @classmethod
    def create(cls, host: str, port: int, rank: int, world_size: int, store_timeout: int = 300):
        # A FileStore in the stage's private folder, keyed by the port OpenRLHF picked, instead of a TCPStore
        # on every interface: the actor and the engines of a CPU stage share one machine and one folder.
        import torch.distributed as dist

        from repro.cpu.local_rendezvous import store_file

        store = dist.FileStore(store_file(f"weight-sync-{port}"), world_size)
        store.set_timeout(timedelta(seconds=store_timeout))
        group = dist.ProcessGroupGloo(dist.PrefixStore("repro-weight-sync", store), rank, world_size)
        return cls(group, rank, world_size, store)


class PyNcclCommunicator:
    """vllm...pynccl.PyNcclCommunicator over the gloo group: broadcast is all OpenRLHF calls."""

    def __init__(self, group: StatelessProcessGroup, device=None) -> None:
        self.group = group

    def broadcast(self, tensor, src: int, stream=None) -> None:
        # gloo cannot broadcast bf16 on every build; ship float32 and cast back in place. Through host memory:
        # on a GPU the actor's parameters are CUDA tensors, which a gloo group does not take on every build.
        buf = tensor.detach().float().cpu().contiguous()
        self.group.group.broadcast(buf, src).wait()
        if self.group.rank != src:
            tensor.copy_(buf)
