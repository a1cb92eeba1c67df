"""The IMDB world's tokenizer: byte-level BPE trained on the SFT corpus, optionally padded with reserved tokens.

Padding gives the model a real model's vocabulary (embedding and LM head rows, e.g. Llama 3's 128256) while
tokenising text exactly as the trained BPE does.
"""

from __future__ import annotations

import json

SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}


def train_tokenizer(texts: list[str], vocab_size: int, pad_to: int | None = None):
    """BPE with `vocab_size` entries trained on texts; with pad_to, padded to that many ids (pad_vocabulary)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                            special_tokens=list(SPECIAL_TOKENS.values()), show_progress=False)
    backend = bpe._tokenizer if pad_to is None else pad_vocabulary(bpe._tokenizer, pad_to)
    return PreTrainedTokenizerFast(tokenizer_object=backend, **SPECIAL_TOKENS)


def reserved_token(i: int) -> str:
    return f"<|reserved_{i}|>"


def pad_vocabulary(backend, size: int):
    """A copy of a BPE `tokenizers.Tokenizer` whose vocabulary has exactly `size` ids.

    The new ids are plain vocabulary entries `<|reserved_i|>` that no merge builds, so no text ever tokenises to
    them, yet each decodes (to its own name). A model padded without them could sample ids its tokenizer cannot
    decode: HF drops those silently and vLLM's detokenizer has crashed on them (vllm-project/vllm#340, #24211).
    Not added tokens: 126k of those would make every tokenizer load ~10x slower."""
    from tokenizers import Tokenizer

    state = json.loads(backend.to_str())
    vocab = state["model"]["vocab"]
    have = backend.get_vocab_size(with_added_tokens=True)
    if size < have:
        raise ValueError(f"model.vocab_size {size} is smaller than the trained tokenizer's {have} ids "
                         f"(world.vocab_size): raise it or leave it out")
    if sorted(backend.get_vocab(with_added_tokens=True).values()) != list(range(have)):
        raise ValueError("the trained tokenizer's ids are not contiguous; cannot pad it")
    for i in range(size - have):
        name = reserved_token(i)
        if name in vocab:
            raise ValueError(f"the trained tokenizer already has {name!r}")
        vocab[name] = have + i
    return Tokenizer.from_str(json.dumps(state))
