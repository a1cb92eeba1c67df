"""The IMDB world's base policy: a Llama of ModelSpec's architecture, initialised at random."""

from __future__ import annotations

from repro.spec import ModelSpec


def llama_config(spec: ModelSpec, vocab_size: int, bos_token_id: int | None = None,
                 eos_token_id: int | None = None, pad_token_id: int | None = None):
    """The transformers config of spec with vocab_size embedding rows; no weights (tests count parameters
    of the paper's architectures from it on the meta device)."""
    from transformers import LlamaConfig

    if spec.vocab_size is not None and spec.vocab_size != vocab_size:
        raise ValueError(f"model.vocab_size {spec.vocab_size} but the tokenizer has {vocab_size} ids")
    return LlamaConfig(
        vocab_size=vocab_size, hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers, num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_kv_heads or spec.num_heads,
        max_position_embeddings=spec.max_position_embeddings, tie_word_embeddings=spec.tie_word_embeddings,
        rope_theta=spec.rope_theta, rms_norm_eps=spec.rms_norm_eps,
        bos_token_id=bos_token_id, eos_token_id=eos_token_id, pad_token_id=pad_token_id,
    )


def init_model(tokenizer, spec: ModelSpec, seed: int):
    """Random-init weights (seeded) with one embedding row per tokenizer id."""
    import torch
    from transformers import LlamaForCausalLM

    config = llama_config(spec, len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id,
                          tokenizer.pad_token_id)
    torch.manual_seed(seed)
    # Built directly in the init dtype: an 8B model built in fp32 and cast afterwards would peak at 32 GB.
    default = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, spec.init_dtype))
    try:
        return LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(default)
