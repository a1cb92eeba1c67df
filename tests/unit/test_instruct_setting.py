"""The paper's instruction setting: `sft.skip` (every method starts from the instruct model, the `sft` stage only
links it) and `model.chat_template` (every stage formats prompts with the tokenizer's chat template). Both
switches are left out of the spec dump while off, so the run ids of every other recipe stay what they were."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from repro.recipes import load_recipe
from repro.runs import plan_run
from repro.spec import TrainSpec, section_digest
from tests.conftest import REPO, needs

INSTRUCT = ["paper-instruct/mistral-7b-instruct-ultrafeedback", "paper-instruct/llama3-8b-instruct-ultrafeedback"]
BASE = "paper-base/llama3-8b-base-ultrafeedback"
# Run ids of the committed imdb results (results/imdb-*.md): a new spec field must not orphan them.
COMMITTED_IMDB_RUN_IDS = {"sft": "imdb-sft-s0-860f2b7d3f", "dpo": "imdb-dpo-s0-5082420307",
                          "ppo": "imdb-ppo-s0-2e785d2eb9", "dvpo": "imdb-dvpo-s0-d424ecbe89"}
CHAT_FLAG = "--data.apply_chat_template"


def stages(method: str, recipe: str, root: Path, *overrides: str) -> dict:
    return {s.name: s for s in plan_run(method, recipe, overrides=overrides, results_root=root).stages}


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def openrlhf_stages(by_name: dict) -> list:
    """Stages that format prompts through OpenRLHF's datasets or its argument namespace (GVM)."""
    return [s for s in by_name.values() if any(a.startswith("openrlhf.cli.") or a == "dvpo.gvm.train" for a in s.argv)]


# --- run-id stability ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", sorted(COMMITTED_IMDB_RUN_IDS))
def test_imdb_run_ids_are_unchanged_by_the_new_switches(method, results_root):
    assert plan_run(method, "imdb", results_root=results_root).layout.run_id == COMMITTED_IMDB_RUN_IDS[method]


def test_switches_are_left_out_of_the_dump_while_off():
    spec = load_recipe("imdb")
    dump = spec.model_dump(mode="json")
    assert "skip" not in dump["sft"] and not spec.sft.skip and not spec.uses_chat_template
    # The SFT stage's key is what a plain TrainSpec section hashed to before `skip` existed.
    assert section_digest(spec.sft) == section_digest(TrainSpec.model_validate(dump["sft"]))
    base = load_recipe(BASE)
    assert "chat_template" not in base.model_dump(mode="json")["model"] and not base.uses_chat_template
    on = load_recipe(BASE, ["sft.skip=true", "model.chat_template=true"]).model_dump(mode="json")
    assert on["sft"]["skip"] is True and on["model"]["chat_template"] is True


# --- sft.skip ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("recipe", INSTRUCT)
def test_instruct_recipes_skip_sft_and_use_the_chat_template(recipe):
    spec = load_recipe(recipe)
    assert spec.sft.skip and spec.uses_chat_template


@pytest.mark.parametrize("method", ["sft", "dvpo", "ppo", "dpo", "grpo"])
def test_skipped_sft_is_a_link_stage_and_every_method_starts_from_the_base_model(method, results_root):
    spec = load_recipe(INSTRUCT[0])
    by_name = stages(method, INSTRUCT[0], results_root)
    sft, world = by_name["sft"], by_name["world"]
    assert "openrlhf.cli.train_sft" not in sft.argv and "repro.pipeline.sft_link" in sft.argv
    assert sft.resources == spec.resources.single_node() and sft.shared and sft.needs == ["world"]
    assert flag(sft.argv, "--base-model") == str(Path(world.workdir) / "base_model")
    policy = str(Path(sft.workdir) / "model")  # the link to the base model
    if method == "dpo":
        dpo = by_name["dpo"].argv
        assert flag(dpo, "--model.model_name_or_path") == flag(dpo, "--ref.model_name_or_path") == policy
    if method in ("dvpo", "ppo", "grpo"):
        assert flag(by_name["policy"].argv, "--actor.model_name_or_path") == policy
    if method == "dvpo":
        assert flag(by_name["gvm"].argv, "--model.model_name_or_path") == policy
    if method == "ppo":
        assert flag(by_name["policy"].argv, "--critic.model_name_or_path") == policy
        assert flag(by_name["rm"].argv, "--model.model_name_or_path") == policy
    if method == "sft":
        assert all(s.name in ("world", "sft") or s.name.startswith("eval-") for s in by_name.values())


def test_skipped_sft_has_its_own_key_shared_across_seeds(results_root):
    skipped = stages("dvpo", INSTRUCT[0], results_root)["sft"]
    trained = stages("dvpo", INSTRUCT[0], results_root, "sft.skip=false")["sft"]
    assert "openrlhf.cli.train_sft" in trained.command_line() and skipped.workdir != trained.workdir
    assert stages("dvpo", INSTRUCT[0], results_root, "seed=1")["sft"] == skipped  # a link depends on no seed


def run_link(base: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repro.pipeline.sft_link", "--base-model", str(base), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_link_stage_links_the_base_model_and_reports_it(tmp_path):
    base = tmp_path / "world" / "base_model"
    base.mkdir(parents=True)
    (base / "config.json").write_text("{}")
    out = tmp_path / "sft"
    for _ in range(2):  # a re-run replaces its own link
        proc = run_link(base, out)
        assert proc.returncode == 0, proc.stderr
    assert (out / "model").is_symlink() and (out / "model").resolve() == base.resolve()
    assert (out / "model" / "config.json").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["tokens"] == 0 and report["metrics"] == {} and "linked, not trained" in report["sft"]


def test_link_stage_refuses_a_missing_base_model_or_a_real_model_folder(tmp_path):
    assert "no base model" in run_link(tmp_path / "missing", tmp_path / "a").stderr
    base, out = tmp_path / "base", tmp_path / "b"
    base.mkdir()
    (out / "model").mkdir(parents=True)
    proc = run_link(base, out)
    assert proc.returncode != 0 and "not a link" in proc.stderr and (out / "model").is_dir()


# --- model.chat_template: rendered argv ----------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["dvpo", "ppo", "dpo", "grpo"])
def test_every_openrlhf_stage_applies_the_chat_template_for_instruct_models(method, results_root):
    by_name = stages(method, INSTRUCT[1], results_root)
    trained = openrlhf_stages(by_name)
    assert {s.name for s in trained} >= ({"dpo"} if method == "dpo" else {"policy"})
    assert all(CHAT_FLAG in s.argv for s in trained), [s.name for s in trained if CHAT_FLAG not in s.argv]
    assert "--chat-template" in by_name["pairs"].argv  # the pairs stage writes the message-list copies
    for name in ("rm", "dpo"):  # OpenRLHF's RewardDataset needs message lists with a chat template
        if name in by_name:
            assert flag(by_name[name].argv, "--data.dataset").endswith("pairs_train.chat.jsonl")
    if "rm" in by_name:
        assert flag(by_name["rm"].argv, "--eval.dataset").endswith("pairs_test.chat.jsonl")
    if "gvm" in by_name:  # the GVM formats the plain pairs itself
        assert flag(by_name["gvm"].argv, "--data.dataset").endswith("pairs_train.jsonl")


def test_trained_sft_applies_the_chat_template_too(results_root):
    sft = stages("sft", INSTRUCT[0], results_root, "sft.skip=false")["sft"]
    assert "openrlhf.cli.train_sft" in sft.argv and CHAT_FLAG in sft.argv


@pytest.mark.parametrize("recipe", ["imdb", BASE])
@pytest.mark.parametrize("method", ["dvpo", "ppo", "dpo"])
def test_raw_prompts_for_imdb_and_base_models(recipe, method, results_root):
    by_name = stages(method, recipe, results_root)
    assert len(openrlhf_stages(by_name)) >= 2  # sft and the method's own
    assert not [s.name for s in by_name.values() if CHAT_FLAG in s.argv or "--chat-template" in s.argv]
    for name in ("rm", "dpo"):
        if name in by_name:
            assert flag(by_name[name].argv, "--data.dataset").endswith("pairs_train.jsonl")


# --- model.chat_template: the harness's own tokenisation -----------------------------------------------------------

@pytest.fixture(scope="module")
def chat_tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from tests.unit.test_ultrafeedback_prep import CHAT_TEMPLATE, tiny_model_folder

    tok = AutoTokenizer.from_pretrained(tiny_model_folder(tmp_path_factory.mktemp("tok") / "m", CHAT_TEMPLATE))
    tok.pad_token = tok.eos_token = "[UNK]"
    return tok


@needs("torch", "transformers", "tokenizers")
def test_sample_formats_prompts_with_the_chat_template_only_when_asked(chat_tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from repro.chat import chat_prompt
    from repro.generation import sample
    from repro.spec import GenerationSpec

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(chat_tokenizer), hidden_size=16, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2, intermediate_size=32))
    prompts, gen = ["what is it", "maybe"], GenerationSpec(max_new_tokens=2)
    ids = lambda text: chat_tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    chat = sample(model, chat_tokenizer, prompts, 1, gen, seed=0, chat_template=True)
    raw = sample(model, chat_tokenizer, prompts, 1, gen, seed=0)
    assert [s.prompt for s in chat] == [s.prompt for s in raw] == prompts  # the raw prompt is kept
    assert [s.prompt_ids for s in chat] == [ids(chat_prompt(chat_tokenizer, p)) for p in prompts]
    assert [s.prompt_ids for s in raw] == [ids(p) for p in prompts]


@needs("torch", "transformers", "tokenizers")
def test_gvm_encodes_pairs_through_the_chat_template(chat_tokenizer):
    from dvpo.gvm.train import encode
    from repro.chat import chat_prompt, chat_response

    tok, prompt, response = chat_tokenizer, "what is it", "maybe it"
    s = encode(tok, prompt, response, 1.0, 64, chat_template=True)
    head = tok(chat_prompt(tok, prompt), add_special_tokens=False)["input_ids"]
    assert s.prompt_len == len(head)
    assert s.ids == tok(chat_prompt(tok, prompt) + chat_response(tok, prompt, response),
                        add_special_tokens=False)["input_ids"]
    assert encode(tok, prompt, response, 1.0, 64).ids == tok(prompt + response, add_special_tokens=False)["input_ids"]


@needs("torch", "transformers", "tokenizers", "openrlhf")
def test_openrlhf_wraps_string_prompts_for_sft_and_rl_but_not_for_pairs(chat_tokenizer):
    """Why RM and DPO read message-list pairs: OpenRLHF's SFT and prompt datasets turn a string prompt into one
    user turn (the text repro.chat makes), its reward dataset renders a string as turns of nothing."""
    from openrlhf.datasets import prompts_dataset, reward_dataset, sft_dataset

    from repro.chat import chat_pair_row, chat_prompt, chat_response

    tok, apply = chat_tokenizer, chat_tokenizer.apply_chat_template
    row = {"prompt": "what is it", "response": "maybe", "chosen": "maybe", "rejected": "it"}
    head = chat_prompt(tok, row["prompt"])
    assert sft_dataset.preprocess_data(row, None, "prompt", "response", apply) == (
        head, chat_response(tok, row["prompt"], row["response"]))
    assert prompts_dataset.preprocess_data(row, None, "prompt", None, apply)[0] == head
    garbled = reward_dataset.preprocess_data(row, None, "prompt", "chosen", "rejected", apply, True)
    assert garbled[0] != head and row["prompt"] not in garbled[0]
    fixed = reward_dataset.preprocess_data(chat_pair_row(row), None, "prompt", "chosen", "rejected", apply, True)
    assert fixed[:3] == (head, chat_response(tok, row["prompt"], "maybe"), chat_response(tok, row["prompt"], "it"))
