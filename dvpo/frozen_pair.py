"""DVPO's two frozen models in one process: the reference policy and the frozen GVM.

Both only answer forward passes over the same rollouts, so giving the GVM a Ray actor of its own (its own Python,
torch, DeepSpeed and Ray worker runtime) buys nothing but parallelism. `FrozenPairActor` is OpenRLHF's reference
actor with the GVM loaded beside it; `ValueGroupView` is what OpenRLHF's trainer and experience maker see as the
critic group: the same actors, each method called under its `value_` name. `install()` (dvpo.openrlhf_hooks, when
methods.dvpo.frozen_models is one_process) makes train_ppo_ray build them in place of the reference and critic
groups; without a reference model (kl_coef 0) the GVM keeps its own actor.
"""

from __future__ import annotations

import ray
from openrlhf.trainer.ray import launcher

from dvpo.frozen_value import FrozenValueActor

FrozenValue = FrozenValueActor.__ray_actor_class__  # the plain class behind the Ray actor
# The critic interface OpenRLHF calls (the GVM's no-ops included), served under value_<name>.
VALUE_METHODS = ("forward", "append", "fit", "save_model", "save_checkpoint", "reload_states", "offload_states",
                 "empty_cache")


class FrozenPairActor(launcher.ReferenceModelActor.__ray_actor_class__):
    """OpenRLHF's reference model actor, also holding the frozen GVM (self.gvm)."""

    def value_init_model_from_pretrained(self, strategy, pretrain, max_steps=None) -> None:
        self.gvm = FrozenValue.__new__(FrozenValue)  # no second distributed setup: this process has one
        self.gvm.load(strategy, pretrain)


def _delegate(name: str):
    def method(self, *args, **kwargs):
        return getattr(self.gvm, name)(*args, **kwargs)
    method.__name__ = method.__qualname__ = f"value_{name}"
    return method


for _name in VALUE_METHODS:
    setattr(FrozenPairActor, f"value_{_name}", _delegate(_name))
FrozenPairActor = ray.remote(num_gpus=1)(FrozenPairActor)


class ValueGroupView:
    """The critic group as OpenRLHF uses it (init, batched forward, no-op training, save), answered by the
    reference group's actors."""

    def __init__(self, pair_group) -> None:
        self.pair_group = pair_group

    def async_run_method(self, method_name, *args, **kwargs):
        return self.pair_group.async_run_method(f"value_{method_name}", *args, **kwargs)

    def async_init_model_from_pretrained(self, *args, **kwargs):
        return self.async_run_method("init_model_from_pretrained", *args, **kwargs)

    def async_save_model(self):
        return self.async_run_method("save_model")

    def async_run_method_batch(self, method_name, **kwargs):
        return self.pair_group.async_run_method_batch(f"value_{method_name}", **kwargs)


def one_process_groups(group_class):
    """A stand-in for RayActorGroup: the reference group is built of FrozenPairActor, and the critic group
    asked for next (FrozenValueActor, after the critic swap) is the view onto it."""
    built = {}

    def group(num_nodes, num_gpus_per_node, ray_actor_type, *args, **kwargs):
        if ray_actor_type is FrozenValueActor and "pair" in built:
            return ValueGroupView(built["pair"])
        made = group_class(num_nodes, num_gpus_per_node, ray_actor_type, *args, **kwargs)
        if ray_actor_type is FrozenPairActor:
            built["pair"] = made
        return made

    group.repro_one_process = True
    return group


def install() -> None:
    """train_ppo_ray imports these names from the launcher module when it runs: point them here first."""
    if not getattr(launcher.RayActorGroup, "repro_one_process", False):
        launcher.RayActorGroup = one_process_groups(launcher.RayActorGroup)
    launcher.ReferenceModelActor = FrozenPairActor
