"""ReMax's hooks into OpenRLHF (baselines/remax_hooks.py): the hand-computed estimator, the chunking rule, and
loud failures when the pinned version's shapes change."""

import inspect
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("openrlhf")

from baselines import remax_hooks  # noqa: E402

pytestmark = pytest.mark.usefixtures("openrlhf_shims")


def test_pinned_openrlhf_version():
    remax_hooks.check_version()


def test_chunk_size_feeds_every_reward_actor():
    assert remax_hooks.chunk_size(32, 32, 1) == 32
    assert remax_hooks.chunk_size(16, 4, 8) == 2  # 8 chunks for 8 actors, not 4
    assert remax_hooks.chunk_size(10, 4, 3) == 3  # ceil(10 / 3) = 4 chunks >= 3 actors
    with pytest.raises(ValueError, match="rl.rollout_samples"):
        remax_hooks.chunk_size(4, 4, 8)


def test_the_wrapped_openrlhf_methods_keep_their_shape():
    from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker
    from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator

    def params(fn):
        return list(inspect.signature(fn).parameters)

    assert params(SamplesGenerator.generate_samples) == ["self", "generate_kwargs"]
    assert params(SamplesGenerator._dispatch_prompts_to_vllm)[:3] == ["self", "prompts", "labels"]
    assert params(SamplesGenerator._process_response_into_experience) == ["self", "response", "generate_kwargs"]
    assert params(RemoteExperienceMaker.make_experience_batch) == ["self", "rollout_samples"]
    assert params(RemoteExperienceMaker._dispatch_forward) == ["self", "group", "sync_condition", "kwargs"]
    assert params(RemoteExperienceMaker.get_cumulative_returns) == ["self", "rewards", "action_mask", "gamma"]
    # The reward model scores only when rewards are absent, with these arguments (make_experience).
    source = inspect.getsource(RemoteExperienceMaker.make_experience)
    assert "use_reward_model = samples_list[0].rewards is None" in source
    assert "pad_sequence=[True] * len(samples_list)" in source


def test_advantages_are_the_greedy_baselined_kl_shaped_returns_hand_computed():
    from openrlhf.trainer.ppo_utils.experience import Experience
    from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker

    args = SimpleNamespace(algo=SimpleNamespace(advantage=SimpleNamespace(gamma=1.0)),
                           reward=SimpleNamespace(clip_range=(-10, 10)))
    maker = RemoteExperienceMaker.__new__(RemoteExperienceMaker)
    maker.strategy, maker.kl_ctl = SimpleNamespace(args=args), SimpleNamespace(value=0.1)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]]).bool()
    kl = torch.tensor([[0.1, 0.2, 0.0], [0.0, 0.1, 0.5]])
    exp = Experience(sequences=torch.zeros(2, 4, dtype=torch.long), action_mask=mask, kl=kl,
                     rewards=torch.tensor([1.0, 0.2]), info={remax_hooks.GREEDY_KEY: torch.tensor([0.4, 0.5])})
    [out] = remax_hooks.remax_advantages(maker, [exp])
    # row 1: shaped [-0.01, -0.02, 1.0 - 0.4]; row 2: the reward sits on the last action token, the masked
    # token's KL drops out: shaped [0, -0.01 + (0.2 - 0.5), 0]. Returns sum to go; advantages = returns.
    expected = torch.tensor([[0.57, 0.58, 0.6], [-0.31, -0.31, 0.0]])
    assert torch.allclose(out.returns, expected, atol=1e-6)
    assert torch.equal(out.advantages, out.returns) and out.kl is None
    assert torch.allclose(out.info["return"], torch.tensor([0.57, -0.36]), atol=1e-6)
