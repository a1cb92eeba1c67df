"""The paper's architectures as random-init IMDB models (issue #8): ModelSpec's GQA/RoPE/vocabulary fields, the
padded tokenizer, and the bench recipes for Llama-3.2-3B and Llama-3-8B, and Llama-3.2-1B on one GPU (validated and
rendered, never trained here)."""

import pytest

from repro.errors import RecipeError
from repro.recipes import load_recipe
from repro.runs import plan_run, render_dry_run
from repro.spec import ModelSpec
from repro.worlds.imdb.model import init_model, llama_config
from repro.worlds.imdb.tokenizer import reserved_token, train_tokenizer
from tests.conftest import needs

# Parameters of the released models (config.json; 3.2-3B ties its embeddings, 3-8B does not).
REAL_PARAMS = {"imdb/bench-llama32-3b": 3_212_749_824, "imdb/bench-llama3-8b": 8_030_261_248,
               "imdb/bench-llama32-1b-1gpu": 1_235_814_400}
GPUS = {"imdb/bench-llama32-3b": 8, "imdb/bench-llama3-8b": 8, "imdb/bench-llama32-1b-1gpu": 1}

TEXTS = ["this movie was great and the acting superb, a joy to watch"] * 40 + \
        ["terrible film with a boring plot and awful acting throughout"] * 40


def meta_params(spec: ModelSpec) -> int:
    import torch
    from transformers import LlamaForCausalLM

    with torch.device("meta"):  # shapes only: no 3B/8B weights on this machine
        model = LlamaForCausalLM(llama_config(spec, spec.vocab_size))
    return sum(p.numel() for p in model.parameters())


@needs("torch", "transformers", "tokenizers")
@pytest.mark.parametrize("recipe", sorted(REAL_PARAMS))
def test_bench_recipe_has_the_real_models_parameter_count(recipe):
    spec = load_recipe(recipe)
    assert spec.model.vocab_size == 128256 and spec.model.num_kv_heads == 8 and spec.model.rope_theta == 500000.0
    assert spec.resources.device == "gpu" and spec.resources.gpus_per_node == GPUS[recipe]
    assert abs(meta_params(spec.model) / REAL_PARAMS[recipe] - 1) < 0.01


def test_bench_recipes_use_the_papers_zero_stage_and_rollout_settings():
    small, large = load_recipe("imdb/bench-llama32-3b"), load_recipe("imdb/bench-llama3-8b")
    assert (small.rl.zero_stage, large.rl.zero_stage) == (1, 3)
    assert large.methods["dvpo"]["gvm"]["zero_stage"] == 3 and large.methods["dpo"]["zero_stage"] == 3
    assert (small.rl.rollout_samples, small.rl.batch_size, small.rl.micro_batch_size, small.rl.epochs) == (16, 16, 1, 4)
    assert small.generation.max_new_tokens == 640
    assert small.model.tie_word_embeddings and not large.model.tie_word_embeddings


@pytest.mark.parametrize("method", ["dvpo", "ppo", "dpo", "grpo"])
def test_bench_recipe_dry_run_renders(method, tmp_path):
    text = render_dry_run(plan_run(method, "imdb/bench-llama32-3b", None, (), tmp_path))
    assert '"num_kv_heads":8' in text and '"vocab_size":128256' in text
    assert "deepspeed --num_gpus 8" in text or "--actor.num_gpus_per_node 8" in text
    if method != "dpo":
        assert "--rollout.max_new_tokens 640" in text and "--vllm.num_engines 8" in text


def test_new_model_fields_stay_out_of_the_dump_at_their_defaults():
    # Left out, the dump (and every existing run id and shared-world key) is what it was before the fields.
    assert set(load_recipe("imdb").model.model_dump()) == {
        "arch", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_position_embeddings",
        "tie_word_embeddings"}
    spec = ModelSpec(num_kv_heads=2, vocab_size=4096)
    assert spec.model_dump()["num_kv_heads"] == 2 and ModelSpec.model_validate_json(spec.model_dump_json()) == spec


def test_kv_heads_must_divide_heads():
    with pytest.raises(RecipeError, match="num_heads 4 is not divisible by num_kv_heads 3"):
        load_recipe("imdb/smoke", ["model.num_kv_heads=3"])


@needs("torch", "transformers", "tokenizers")
def test_padded_tokenizer_tokenises_as_before_and_decodes_every_id():
    plain, padded = train_tokenizer(TEXTS, 300), train_tokenizer(TEXTS, 300, pad_to=1000)
    assert len(padded) == padded.vocab_size == 1000 and len(plain) < 1000
    ids = padded(TEXTS[:2] + ["unseen words <|reserved_3|> too"])["input_ids"]
    assert ids == plain(TEXTS[:2] + ["unseen words <|reserved_3|> too"])["input_ids"]  # no text reaches a reserved id
    assert max(max(x) for x in ids) < len(plain)
    assert padded.decode([999]) == reserved_token(999 - len(plain)) and padded.convert_ids_to_tokens(999) is not None
    with pytest.raises(ValueError, match="smaller than the trained tokenizer"):
        train_tokenizer(TEXTS, 300, pad_to=100)


@needs("torch", "transformers", "tokenizers")
def test_random_init_model_has_one_row_per_padded_id_and_grouped_kv_heads():
    tokenizer = train_tokenizer(TEXTS, 300, pad_to=512)
    spec = ModelSpec(hidden_size=32, num_layers=1, num_heads=4, num_kv_heads=2, intermediate_size=64, vocab_size=512)
    model = init_model(tokenizer, spec, seed=0)
    assert model.get_input_embeddings().weight.shape == (512, 32) and model.config.num_key_value_heads == 2
    assert model.model.layers[0].self_attn.k_proj.weight.shape == (2 * 8, 32)  # 2 kv heads of width 32 / 4
    with pytest.raises(ValueError, match="model.vocab_size 512 but the tokenizer has"):
        init_model(train_tokenizer(TEXTS, 300), spec, seed=0)


@needs("torch", "transformers", "tokenizers")
def test_paper_size_worlds_are_built_and_saved_in_bf16_without_touching_the_default(tmp_path):
    import torch

    tokenizer = train_tokenizer(TEXTS, 300)
    small = ModelSpec(hidden_size=32, num_layers=1, num_heads=4, intermediate_size=64)
    model = init_model(tokenizer, small.model_copy(update={"init_dtype": "bfloat16"}), seed=0)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert torch.get_default_dtype() == torch.float32  # restored for everything after the world
    model.save_pretrained(tmp_path)
    assert '"dtype": "bfloat16"' in (tmp_path / "config.json").read_text()
    assert {p.dtype for p in init_model(tokenizer, small, seed=0).parameters()} == {torch.float32}
    assert load_recipe("imdb/bench-llama3-8b").model.init_dtype == "bfloat16"
    assert "init_dtype" not in load_recipe("imdb").model.model_dump()
