"""ReMax's three places inside OpenRLHF's Ray PPO (pinned: repro/versions.py).

ReMax (Li et al. 2023) is REINFORCE whose per-prompt baseline is the reward of the greedy response to the
same prompt. OpenRLHF has no such estimator, so:
1. `SamplesGenerator.generate_samples` is wrapped: once a batch is sampled, the same rollout engines answer
   each of its prompts once more at temperature 0 (counted in OpenRLHF's generation time, where it belongs).
2. `RemoteExperienceMaker.make_experience_batch` is wrapped: the shared reward model scores the greedy
   responses (the same reward-model group, through the experience maker's own dispatch) and each sample
   carries its prompt's greedy reward as `info["remax_greedy_reward"]`, which OpenRLHF logs with the step.
3. `compute_advantages_and_returns`: return = OpenRLHF's KL-shaped reward of (r - r_greedy), summed to go
   with OpenRLHF's own `get_cumulative_returns`; advantage = return, not whitened (the paper's estimator).
The stage renders `--algo.advantage.estimator reinforce`, so OpenRLHF builds no critic and accepts one
sample per prompt. tests/unit/test_remax.py fails loudly if a target changes shape.
"""

from __future__ import annotations

from repro.versions import require_openrlhf

GREEDY_KEY = "remax_greedy_reward"
GREEDY_ATTR = "_repro_greedy"  # the greedy Experience, carried on each sampled Experience until it is scored


def chunk_size(prompts: int, micro_batch_size: int, actors: int) -> int:
    """Greedy responses per reward-model call: at most the rollout micro-batch, and small enough that every
    reward-model actor gets a chunk (OpenRLHF's batched dispatch refuses fewer chunks than actors)."""
    if prompts < actors:
        raise ValueError(f"ReMax scores {prompts} greedy responses per step on {actors} reward-model actors; "
                         "raise rl.rollout_samples so each actor gets at least one")
    return max(1, min(micro_batch_size, prompts // actors))


def check_version() -> None:
    require_openrlhf("baselines.remax_hooks", "the generator, experience-maker and advantage wrappers")


def attach_greedy(generator, samples, generate_kwargs) -> None:
    """Generate one greedy response per prompt group of `samples` (n consecutive samples per prompt) and hang
    it on every sample of the group."""
    import ray

    n = generator.args.rollout.n_samples_per_prompt
    heads = samples[::n]
    greedy_kwargs = {**generate_kwargs, "temperature": 0.0, "top_p": 1.0, "top_k": -1, "n_samples_per_prompt": 1}
    refs = generator._dispatch_prompts_to_vllm([h.prompts[0] for h in heads], [h.labels[0] for h in heads],
                                               **greedy_kwargs)
    responses = [r for answer in ray.get(refs) for r in answer]
    greedy = [generator._process_response_into_experience(r, **greedy_kwargs) for r in responses]
    for i, sample in enumerate(samples):
        if sample.prompts[0] != greedy[i // n].prompts[0]:
            raise RuntimeError("ReMax: sampled responses are not grouped by prompt in dispatch order")
        setattr(sample, GREEDY_ATTR, greedy[i // n])


def greedy_rewards(maker, samples):
    """The shared reward model's score of each sample's greedy response (one tensor, sample order)."""
    import torch
    from openrlhf.trainer.ppo_utils.experience import Experience

    args = maker.strategy.args
    n = args.rollout.n_samples_per_prompt
    greedy = [getattr(s, GREEDY_ATTR) for s in samples[::n]]
    actors = len(maker.reward_model_group._actor_handlers) // maker.reward_model_group.duplicate_actors
    size = chunk_size(len(greedy), args.rollout.micro_batch_size, actors)
    batches = [Experience.concat_experiences(greedy[i:i + size], maker.tokenizer.pad_token_id)
               for i in range(0, len(greedy), size)]
    refs = maker._dispatch_forward(maker.reward_model_group, args.train.colocate_all,
                                   sequences=[b.sequences for b in batches],
                                   attention_mask=[b.attention_mask for b in batches],
                                   pad_sequence=[True] * len(batches))
    duplicate = args.ds.ring_attn_size * args.ds.tensor_parallel_size
    per_prompt = torch.cat([r.flatten().float() for r in maker._flatten_results(refs, duplicate)])
    return per_prompt.repeat_interleave(n)


def remax_advantages(maker, experiences):
    """REINFORCE with the greedy baseline: return_t = sum_{t'>=t} gamma^(t'-t) shaped(r - r_greedy)_t'."""
    import torch
    from openrlhf.models.utils import compute_reward

    args = maker.strategy.args
    for e in experiences:
        reward = e.rewards.to(torch.promote_types(e.rewards.dtype, torch.float32)) - e.info[GREEDY_KEY].float()
        shaped = compute_reward(reward, maker.kl_ctl.value, e.kl, action_mask=e.action_mask,
                                reward_clip_range=args.reward.clip_range)
        e.returns = maker.get_cumulative_returns(shaped, e.action_mask, args.algo.advantage.gamma)
        e.advantages = e.returns.clone()
        e.info["return"] = shaped.sum(dim=-1)
        e.kl = None
    return experiences


def install() -> None:
    """Wrap the generator and the experience maker (idempotent); runs in the driver and every Ray worker."""
    check_version()
    import torch
    from openrlhf.trainer.ppo_utils import experience_maker, samples_generator

    gen_cls, maker_cls = samples_generator.SamplesGenerator, experience_maker.RemoteExperienceMaker
    if getattr(gen_cls, "_repro_remax", False):
        return
    generate_samples, make_batch = gen_cls.generate_samples, maker_cls.make_experience_batch

    def generate_with_greedy(self, **generate_kwargs):
        samples, *rest = generate_samples(self, **generate_kwargs)
        if samples:
            attach_greedy(self, samples, generate_kwargs)
        return (samples, *rest)

    def make_batch_with_baseline(self, rollout_samples):
        for sample, reward in zip(rollout_samples, greedy_rewards(self, rollout_samples)):
            sample.info[GREEDY_KEY] = reward.reshape(1)
            delattr(sample, GREEDY_ATTR)
        return make_batch(self, rollout_samples)

    gen_cls.generate_samples = torch.no_grad()(generate_with_greedy)
    maker_cls.make_experience_batch = torch.no_grad()(make_batch_with_baseline)
    maker_cls.compute_advantages_and_returns = torch.no_grad()(remax_advantages)
    gen_cls._repro_remax = True
