"""The paper's instruction setting end to end on CPU: `repro run --method dvpo` with the Llama-3-8B-Instruct
recipe, shrunk to a tiny random-init "instruct" model that carries a chat template and a 96-row UltraFeedback
sample. Real stages throughout: UltraFeedback preparation, the skipped SFT (a link to the instruct model), the
GVM, OpenRLHF's Ray PPO with --data.apply_chat_template, and AlpacaEval through alpaca-eval's stock annotator
over HTTP against a local endpoint.
"""

import json
import os
from pathlib import Path

import pytest

from tests.integration.judge_endpoint import JudgeEndpoint
from tests.integration.test_dpo_pipeline import load_weights, repro
from tests.integration.test_rl_pipelines import changed

pytestmark = pytest.mark.integration

# The template's user turn, assistant turn and end-of-turn markers: what every stage's prompts must show.
CHAT_TEMPLATE = ("{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")
SPECIALS = ["<s>", "<|end|>", "<pad>", "<|user|>", "<|assistant|>"]
SMALL = {"batch_size": 8, "micro_batch_size": 4, "max_len": 96, "zero_stage": 2}


def binarized(i: int) -> dict:
    prompt = f"Question {i}: what is {i} squared?"
    return {"prompt": prompt, "score_chosen": 8.0, "score_rejected": 3.0,
            "chosen": [{"role": "user", "content": prompt}, {"role": "assistant", "content": f"It is {i * i}."}],
            "rejected": [{"role": "user", "content": prompt}, {"role": "assistant", "content": f"Maybe {i + 1}."}]}


def instruct_model(folder: Path) -> Path:
    """A tiny Llama whose tokenizer has a chat template and ends assistant turns with its EOS, like an instruct
    model's; random weights, which is all the plumbing needs."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    texts = [t for i in range(200) for t in (f"Question {i}: what is {i} squared?", f"It is {i * i}.", f"Maybe {i}.")]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=300, min_frequency=1, special_tokens=SPECIALS, show_progress=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="<|end|>",
                                  pad_token="<pad>", additional_special_tokens=SPECIALS[3:])
    tok.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def tiny_recipe(tmp: Path, judge_api_base: str) -> Path:
    """The paper recipe with sizes for 2 CPU cores; its sft.skip and model.chat_template stay as shipped."""
    import yaml

    reference = tmp / "alpaca_reference.json"
    reference.write_text(json.dumps([{"instruction": f"Question {i}: what is {i} squared?", "output": f"It is {i}."}
                                     for i in range(300, 304)]))
    recipe = {
        "include": str(Path(__file__).parents[2] / "recipes/paper-instruct/llama3-8b-instruct-ultrafeedback.yaml"),
        "setting": "tiny-instruct",
        "model": {"path": str(instruct_model(tmp / "instruct-model"))},
        "world": {"n_rl_prompts": 16, "n_test_prompts": 8, "n_pairs_test": 8},
        "generation": {"max_new_tokens": 12, "batch_size": 16},
        "reward_model": {**SMALL},
        "rl": {**SMALL, "lr": 1e-3, "epochs": 1, "rollout_samples": 8, "rollout_micro_batch_size": 4},
        "methods": {"dvpo": {"gvm": {**SMALL, "lr": 1e-3, "epochs": 1}}, "dpo": {**SMALL}},
        "eval": {"evaluators": ["alpaca_eval_api"], "n_prompts": 4,
                 "alpaca_eval_api": {"judge_api_base": judge_api_base, "judge_model": "tiny-judge",
                                     "reference_outputs": str(reference), "length_controlled": False,
                                     "max_new_tokens": 12, "parallel": 2}},
        "resources": {"device": "cpu", "nodes": 1, "gpus_per_node": 0, "cpus": 2, "threads": 1, "mem_gb": 16,
                      "time_min": 30},
    }
    path = tmp / "tiny-instruct.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.fixture(scope="module")
def instruct_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instruct")
    source = tmp / "ultrafeedback.jsonl"
    source.write_text("".join(json.dumps(binarized(i)) + "\n" for i in range(96)))
    root = tmp / "results"
    # The stand-in judge prefers the longer answer: any scorer will do to drive alpaca-eval's real path.
    with JudgeEndpoint(lambda texts: [float(len(t)) for t in texts], temperature=5.0) as judge:
        repro("run", "--method", "dvpo", "--recipe", str(tiny_recipe(tmp, judge.api_base)),
              f'world.source={{"format": "binarized", "path": "{source}"}}', root=root,
              env={**os.environ, "OPENAI_API_KEY": "EMPTY"})
        requests = list(judge.requests)
    (path,) = (root / "runs").glob("tiny-instruct-dvpo-*/record.json")
    return json.loads(path.read_text()), requests, tmp


def stages(rec: dict) -> dict:
    return {s["name"]: s for s in rec["stages"]}


def test_every_stage_completes_with_sft_linked_not_trained(instruct_run):
    rec, _, tmp = instruct_run
    assert rec["status"] == "completed", rec
    by_name = stages(rec)
    assert list(by_name) == ["world", "sft", "pairs", "gvm", "policy", "eval-alpaca_eval_api"]
    assert all(s["status"] == "completed" for s in rec["stages"])
    sft = Path(by_name["sft"]["workdir"])
    assert (sft / "model").is_symlink() and (sft / "model").resolve() == (tmp / "instruct-model").resolve()
    assert "linked, not trained" in json.loads((sft / "report.json").read_text())["sft"]


def test_chat_template_reaches_openrlhf_and_the_gvm(instruct_run):
    rec, _, _ = instruct_run
    by_name = stages(rec)
    for name in ("gvm", "policy"):
        assert "--data.apply_chat_template" in by_name[name]["command"], name
    m = rec["metrics"]
    assert 0.0 <= m["gvm/pair_accuracy"] <= 1.0 and m["gvm/mc_value_loss_initial"] == m["gvm/mc_value_loss_initial"]


def test_policy_trained_from_the_instruct_model(instruct_run):
    rec, _, tmp = instruct_run
    policy = load_weights(Path(stages(rec)["policy"]["workdir"]) / "model")
    base = load_weights(tmp / "instruct-model")
    assert changed(policy, base) > 0


def test_alpaca_eval_judged_the_templated_policy_over_http(instruct_run):
    rec, requests, _ = instruct_run
    key = "alpaca_eval/weighted_alpaca_eval_gpt4_turbo@tiny-judge"
    m = rec["metrics"]
    assert m[f"{key}/n_total"] == 4 and m[f"{key}/n_failed"] == 0 and 0 <= m[f"{key}/win_rate"] <= 100
    assert len(requests) == 4 and {r["model"] for r in requests} == {"tiny-judge"}
