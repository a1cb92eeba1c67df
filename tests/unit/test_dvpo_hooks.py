"""DVPO's private hooks into OpenRLHF: fail loudly when the pinned version's shapes change."""

import inspect
from types import SimpleNamespace

import pytest

# The training stack (make install): a light install's fast tier skips these, CI runs them.
torch = pytest.importorskip("torch")
pytest.importorskip("openrlhf")

from dvpo import openrlhf_hooks  # noqa: E402

pytestmark = pytest.mark.usefixtures("openrlhf_shims")


def test_pinned_openrlhf_version():
    openrlhf_hooks.check_version()


def test_train_ppo_ray_takes_the_critic_class_by_name_from_ppo_critic():
    import openrlhf.cli.train_ppo_ray as cli

    source = inspect.getsource(cli)
    assert "from openrlhf.trainer.ray.ppo_critic import CriticModelActor" in source
    assert "CriticModelActor,\n" in inspect.getsource(cli.train)


def test_frozen_value_actor_answers_everything_the_trainer_calls_on_a_critic():
    from openrlhf.trainer.ray.ppo_critic import CriticModelActor

    from dvpo.frozen_value import FrozenValueActor

    def methods(actor_cls):
        return {n for n in dir(actor_cls.__ray_metadata__.modified_class) if not n.startswith("_")}

    assert methods(CriticModelActor) <= methods(FrozenValueActor)


def test_train_rm_args_are_captured_with_defaults():
    args = openrlhf_hooks.train_rm_args(["--model.model_name_or_path", "m", "--ds.zero_stage", "3"])
    assert args.model.model_name_or_path == "m" and args.ds.zero_stage == 3
    assert args.ds.value_head_prefix == "score" and args.train.micro_batch_size >= 1


def _experience(values, kl, mask):
    from openrlhf.trainer.ppo_utils.experience import Experience

    n = values.size(0)
    return Experience(sequences=torch.zeros(n, mask.size(1) + 1, dtype=torch.long), action_mask=mask.bool(),
                      attention_mask=torch.ones(n, mask.size(1) + 1, dtype=torch.long), values=values, kl=kl,
                      rewards=torch.zeros(n), index=list(range(n)), info={})


def gae_maker():
    """OpenRLHF's experience maker with just the arguments its advantage code reads (GAE, KL coefficient 0.1)."""
    from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker

    args = SimpleNamespace(
        algo=SimpleNamespace(advantage=SimpleNamespace(estimator="gae", gamma=1.0, lambd=0.95, no_std_norm=False)),
        rollout=SimpleNamespace(n_samples_per_prompt=1), reward=SimpleNamespace(clip_range=(-10, 10)),
        overlong_buffer_len=None)
    maker = RemoteExperienceMaker.__new__(RemoteExperienceMaker)
    maker.strategy, maker.args, maker.advantage_estimator = SimpleNamespace(args=args), args, "gae"
    maker.kl_ctl = SimpleNamespace(value=0.1)
    return maker


def test_gae_frozen_v_hook_equals_the_pure_function():
    """OpenRLHF's compute_advantages_and_returns, wrapped, gives dvpo.advantage.gae_frozen_v."""
    from dvpo.advantage import gae_frozen_v

    openrlhf_hooks.use_frozen_value_advantages("gae_frozen_v")
    maker = gae_maker()
    torch.manual_seed(0)
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    values, kl = torch.randn(2, 4), torch.randn(2, 4).abs() * 0.1
    try:
        [exp] = maker.compute_advantages_and_returns([_experience(values.clone(), kl.clone(), mask)])
    except AttributeError as missing:  # a new OpenRLHF reads more args: the hook needs re-checking
        pytest.fail(f"OpenRLHF's advantage code changed shape: {missing}")
    expected = gae_frozen_v(values, -0.1 * kl * mask, mask, 1.0, 0.95)
    assert torch.allclose(exp.advantages * mask, expected, atol=1e-5)


def test_trl_advantage_whitening_hook_equals_the_pure_functions():
    """advantage_whitening=trl: OpenRLHF's GAE over the batch-whitened frozen values, then TRL's masked_whiten."""
    from dvpo.advantage import gae, trl_masked_whiten, whiten

    openrlhf_hooks.use_frozen_value_advantages("gae_frozen_v", trl_advantages=True)
    maker = gae_maker()
    torch.manual_seed(1)
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    values, kl = torch.randn(2, 4), torch.randn(2, 4).abs() * 0.1
    try:
        [exp] = maker.compute_advantages_and_returns([_experience(values.clone(), kl.clone(), mask)])
    finally:
        openrlhf_hooks.use_frozen_value_advantages("gae_frozen_v")  # the default again for other tests
    raw, _ = gae(whiten(values, mask), -0.1 * kl * mask, mask, 1.0, 0.95)
    assert torch.allclose(exp.advantages * mask, trl_masked_whiten(raw, mask) * mask, atol=1e-5)
