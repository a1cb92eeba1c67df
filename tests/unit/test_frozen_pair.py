"""DVPO's reference and frozen GVM in one process: the groups OpenRLHF builds, and the plan."""

import pytest

from repro.runs import plan_run

pytest.importorskip("openrlhf")
pytestmark = pytest.mark.usefixtures("openrlhf_shims")


def public(actor_cls) -> set[str]:
    return {n for n in dir(actor_cls.__ray_metadata__.modified_class) if not n.startswith("_")}


def test_the_pair_answers_every_critic_method_under_its_value_name_and_stays_a_reference():
    from openrlhf.trainer.ray.launcher import ReferenceModelActor
    from openrlhf.trainer.ray.ppo_critic import CriticModelActor

    from dvpo.frozen_pair import FrozenPairActor

    pair = public(FrozenPairActor)
    # Group plumbing (execute_batch, get_master_addr_port) is the pair's own; everything else is the GVM's.
    served_by_gvm = public(CriticModelActor) - {"execute_batch", "get_master_addr_port"}
    assert {f"value_{m}" for m in served_by_gvm} <= pair
    assert public(ReferenceModelActor) <= pair


class FakeGroup:
    def __init__(self, num_nodes, num_gpus_per_node, ray_actor_type, *args, **kwargs):
        self.actor_type, self.calls = ray_actor_type, []

    def async_run_method(self, name, *args, **kwargs):
        self.calls.append(name)
        return [name]

    def async_run_method_batch(self, method_name, **kwargs):
        self.calls.append(method_name)
        return [method_name]


def test_the_critic_group_is_a_view_onto_the_reference_group_when_there_is_one():
    from dvpo.frozen_pair import FrozenPairActor, ValueGroupView, one_process_groups
    from dvpo.frozen_value import FrozenValueActor

    alone = one_process_groups(FakeGroup)(1, 1, FrozenValueActor)  # kl_coef 0: no reference was built
    assert isinstance(alone, FakeGroup) and alone.actor_type is FrozenValueActor
    group = one_process_groups(FakeGroup)
    reference = group(1, 1, FrozenPairActor, pg=None)
    critic = group(1, 1, FrozenValueActor, pg=None)
    assert isinstance(critic, ValueGroupView) and critic.pair_group is reference
    critic.async_init_model_from_pretrained("strategy", "gvm/model", 10)
    critic.async_run_method_batch(method_name="forward", sequences=[1])
    critic.async_run_method(method_name="empty_cache")
    critic.async_run_method(method_name="fit")
    critic.async_save_model()
    assert reference.calls == ["value_init_model_from_pretrained", "value_forward", "value_empty_cache",
                               "value_fit", "value_save_model"]


def test_one_process_plan_sets_the_hook_and_asks_ray_for_one_model_group_less(results_root):
    def policy(*overrides):
        stages = {s.name: s for s in plan_run("dvpo", "imdb/smoke", overrides=overrides,
                                             results_root=results_root).stages}
        return stages["policy"]

    one, separate = policy(), policy("methods.dvpo.frozen_models=separate")  # one_process is the default
    assert "REPRO_DVPO_FROZEN_MODELS" not in separate.env and one.env["REPRO_DVPO_FROZEN_MODELS"] == "one_process"
    assert one.ray_gpus_per_node == separate.ray_gpus_per_node - 1
    no_reference = policy("rl.kl_coef=0")
    assert no_reference.ray_gpus_per_node == one.ray_gpus_per_node  # no reference: the GVM keeps its actor
