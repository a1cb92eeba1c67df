"""Trajectory conditioning (dvpo/context.py and the GVM trainer's use of it): which tokens are context, which
are scored, and that a sample's own prompt (so its own pair) never appears in its context."""

import random

import torch

from dvpo.context import batch_contexts, conditioned, draw_context, pack_context


def test_draw_never_takes_the_scored_prompt_and_is_seeded():
    prompts = ["a", "b", "a", "c", "d", "a"]
    for seed in range(20):
        picks = draw_context(prompts, "a", 2, random.Random(seed))
        assert len(picks) == 2 and len(set(picks)) == 2
        assert all(prompts[i] != "a" for i in picks)
    assert draw_context(prompts, "a", 2, random.Random(3)) == draw_context(prompts, "a", 2, random.Random(3))
    assert sorted(draw_context(prompts, "a", 9, random.Random(0))) == [1, 3, 4]  # fewer eligible than k


def test_pack_keeps_whole_trajectories_in_draw_order_within_the_budget():
    trajectories = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]]
    assert pack_context(trajectories, 5) == ([1, 2, 3, 4, 5], 2)
    assert pack_context(trajectories, 4) == ([1, 2, 3], 1)  # [4, 5] does not fit; [10] would, but is not tried
    assert pack_context(trajectories, 2) == ([], 0)
    assert pack_context([], 8) == ([], 0)


def test_conditioned_input_scores_only_the_response():
    ids, scored_from = conditioned([1, 2, 3], [7, 8], [20, 21, 22])
    assert ids == [1, 2, 3, 7, 8, 20, 21, 22] and scored_from == 5
    assert conditioned([], [7, 8], [20]) == ([7, 8, 20], 2)


def rollouts():
    """Three left-padded prompts (width 3) and right-padded responses (width 2); rows 0 and 2 share a prompt."""
    pad = 0
    sequences = torch.tensor([[pad, 11, 12, 31, 32],
                              [21, 22, 23, 41, pad],
                              [pad, 11, 12, 51, 52]])
    return sequences, (sequences != pad).long()


def test_batch_contexts_come_from_other_prompts_only_and_leave_each_row_in_place():
    sequences, attention = rollouts()
    block, mask, used = batch_contexts(sequences, attention, 3, k=2, budget=16, generator=torch.Generator().manual_seed(0),
                                       pad_id=0)
    # rows 0 and 2 share a prompt, so each may only read row 1 (its real tokens); row 1 reads both, in a drawn order
    assert used == [1, 2, 1]
    assert block[0][mask[0].bool()].tolist() == [21, 22, 23, 41] == block[2][mask[2].bool()].tolist()
    assert sorted(block[1][mask[1].bool()].tolist()) == sorted([11, 12, 31, 32, 11, 12, 51, 52])
    # left-padded: every row's context ends right where the original columns begin
    assert mask.tolist()[0] == [0, 0, 0, 0, 1, 1, 1, 1] and mask[1].all()
    full = torch.cat([block, sequences], 1)
    assert torch.equal(full[:, block.size(1):], sequences)


def test_batch_contexts_respect_the_budget_and_repeat_with_the_seed():
    sequences, attention = rollouts()
    _, mask, used = batch_contexts(sequences, attention, 3, k=2, budget=4, generator=torch.Generator().manual_seed(1),
                                   pad_id=0)
    assert used[0] == used[2] == 1 and used[1] == 1  # row 1: the second trajectory (4 tokens) no longer fits
    assert mask.sum(1).tolist() == [4, 4, 4]
    runs = [batch_contexts(sequences, attention, 3, 2, 16, torch.Generator().manual_seed(5), 0)[0] for _ in range(2)]
    assert torch.equal(*runs)


class WordTokenizer:
    """Whitespace words -> ids, enough of a tokenizer for the trainer's encode and context pool."""

    eos_token_id = 1

    def __init__(self):
        self.vocab: dict[str, int] = {}

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [self.vocab.setdefault(w, len(self.vocab) + 10) for w in text.split()]}


def test_gvm_training_pairs_share_one_context_that_never_holds_their_own_prompt():
    from dvpo.gvm.train import ContextPool, pair_samples

    tok = WordTokenizer()
    pairs = [{"prompt": f"p{i} ", "chosen": f"good{i}", "rejected": f"bad{i}"} for i in range(6)]
    pool = ContextPool(tok, pairs, False, k=2, budget=100, seed=0)
    samples = pair_samples(tok, pairs, [(1.0, -1.0)] * len(pairs), max_len=64, contexts=pool)
    assert pool.used == [2] * 6 and pool.tokens == [6] * 6  # each trajectory: prompt, answer, EOS
    for i, pair in enumerate(pairs):
        chosen, rejected = samples[2 * i], samples[2 * i + 1]
        context = chosen.ids[:6]
        assert rejected.ids[:6] == context  # both answers of a pair are read after the same context
        assert tok.vocab[f"p{i}"] not in context  # never the scored prompt, so never its own pair
        assert context[2] == context[5] == tok.eos_token_id
        # everything before the answer is read, the answer alone is scored
        assert chosen.prompt_len == 7 and chosen.ids[7:] == [tok.vocab[f"good{i}"]]
        assert rejected.ids[7:] == [tok.vocab[f"bad{i}"]]
    no_context = pair_samples(tok, pairs, [(1.0, -1.0)] * len(pairs), max_len=64)
    assert [s.ids for s in no_context][:2] == [[tok.vocab["p0"], tok.vocab["good0"]], [tok.vocab["p0"], tok.vocab["bad0"]]]
