"""The CPU rollout engine's sampling (repro/cpu/sampling.py): hand-computed filters, seeds and shapes, and the
property reproducibility rests on: a request's tokens do not depend on which requests share its batch."""

import hashlib
import math
import random

import pytest

torch = pytest.importorskip("torch")

from repro.cpu.sampling import (ROW_BLOCK, blocks, filter_logits, generate_block, prompt_width,  # noqa: E402
                                request_seed)


def test_request_seed_is_the_documented_hash():
    expected = int.from_bytes(hashlib.sha256(b"7|2|5,6,7").digest()[:8], "little") >> 1
    assert request_seed(7, [5, 6, 7], 2) == expected < 2**63
    # Another occurrence, prompt or run seed is another stream.
    assert len({request_seed(7, [5, 6, 7], 0), request_seed(7, [5, 6, 7], 1), request_seed(7, [5, 6], 0),
                request_seed(8, [5, 6, 7], 0)}) == 4


def test_prompt_width_is_fixed_by_the_budget_or_bucket():
    assert prompt_width(longest=12, max_model_len=64, max_tokens=24) == 40
    assert prompt_width(longest=50, max_model_len=64, max_tokens=24) == 50  # an over-long prompt decides
    assert prompt_width(longest=12, max_model_len=None, max_tokens=24) == 64
    assert prompt_width(longest=65, max_model_len=None, max_tokens=24) == 128


def test_blocks_cover_every_request_in_row_blocks():
    assert blocks(0) == [] and blocks(5, size=4) == [range(0, 4), range(4, 5)]
    assert [len(b) for b in blocks(2 * ROW_BLOCK + 1)] == [ROW_BLOCK, ROW_BLOCK, 1]


def test_filter_logits_hand_computed():
    logits = torch.tensor([[math.log(0.5), math.log(0.3), math.log(0.15), math.log(0.05)]])
    # temperature 2 halves the logits
    assert torch.allclose(filter_logits(logits, 2.0, None, 1.0), logits / 2)
    top2 = filter_logits(logits, 1.0, 2, 1.0)
    assert torch.isinf(top2[0, 2:]).all() and torch.isfinite(top2[0, :2]).all()
    # top_p 0.7: 0.5 alone is below it, 0.5 + 0.3 crosses it -> keep the first two
    nucleus = torch.softmax(filter_logits(logits, 1.0, None, 0.7), -1)
    assert torch.allclose(nucleus, torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    # top_p 0.45: the first token alone reaches it
    assert torch.softmax(filter_logits(logits, 1.0, None, 0.45), -1)[0].tolist() == [1.0, 0.0, 0.0, 0.0]


@pytest.fixture(scope="module")
def tiny_model():
    from transformers import LlamaConfig, LlamaForCausalLM

    # One torch thread, as in the rollout engine's process (repro/cpu/run.py): with more, how a matmul splits
    # its work may vary between calls on a busy machine, and batch invariance is only promised for one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128)
    yield LlamaForCausalLM(config).eval()
    torch.set_num_threads(threads)


def sample(model, prompts, order, rows=8):
    chosen = [prompts[i] for i in order]
    gens = [torch.Generator().manual_seed(request_seed(0, p, 0)) for p in chosen]
    out = generate_block(model, chosen, gens, width=24, max_tokens=10, min_tokens=2, temperature=1.0, top_k=None,
                         top_p=0.95, pad=0, eos=3, rows=rows)
    return {i: (s.tokens, s.logprobs, s.finish_reason) for i, s in zip(order, out)}


def test_a_requests_samples_do_not_depend_on_its_batch(tiny_model):
    rng = random.Random(1)
    prompts = [[rng.randrange(4, 97) for _ in range(rng.randrange(3, 20))] for _ in range(12)]
    full = sample(tiny_model, prompts, list(range(8)))
    # Other neighbours, other positions, fewer rows (padded): bit-identical tokens and log-probabilities.
    for order in ([5, 2, 9, 10, 11], [2], [7, 6, 5, 4, 3, 2, 1, 0]):
        again = sample(tiny_model, prompts, order)
        assert all(again[i] == full[i] for i in again.keys() & full.keys())
    assert any(len(tokens) > 2 for tokens, _, _ in full.values())
    # min_tokens holds EOS back for the first two steps
    assert all(3 not in tokens[:2] for tokens, _, _ in full.values())
    # a finished row stops at EOS
    assert all(r == "stop" and t[-1] == 3 or r == "length" and len(t) == 10 for t, _, r in full.values())


def test_temperature_zero_is_greedy(tiny_model):
    """ReMax's baseline asks the engine for temperature 0: every token is the argmax of the model's own next-token
    logits (checked by re-running the model on the growing sequence), whatever the generator's seed."""
    assert torch.equal(filter_logits(torch.tensor([[1.0, 3.0]]), 0.0, None, 1.0), torch.tensor([[1.0, 3.0]]))
    prompt = [5, 17, 42, 8]
    runs = [generate_block(tiny_model, [prompt], [torch.Generator().manual_seed(seed)], width=8, max_tokens=6,
                           min_tokens=0, temperature=0.0, top_k=None, top_p=1.0, pad=0, eos=None, rows=2)[0]
            for seed in (0, 1)]
    assert runs[0].tokens == runs[1].tokens and len(runs[0].tokens) == 6
    ids = list(prompt)
    for token in runs[0].tokens:
        with torch.no_grad():
            logits = tiny_model(input_ids=torch.tensor([ids])).logits[0, -1]
        assert token == int(torch.argmax(logits))
        ids.append(token)
