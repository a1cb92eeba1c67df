"""UltraFeedback preparation: pure conversions on hand-made rows in both real formats, the prompt split,
and the world and pairs stages run end to end as subprocesses on a small local sample."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from repro.worlds.ultrafeedback import UltraFeedbackSourceSpec
from repro.worlds.ultrafeedback.convert import (Dropped, Example, as_score, binarize_raw, completion_score,
                                                from_binarized, split_conversation)
from repro.worlds.ultrafeedback.expose import check_pairs
from repro.worlds.ultrafeedback.split import prepare
from tests.conftest import needs

REPO = Path(__file__).resolve().parents[2]


def msgs(*turns: tuple[str, str]) -> list[dict]:
    return [{"role": r, "content": c} for r, c in turns]


def binarized(prompt: str, chosen: str, rejected: str, s_c, s_r, context=None) -> dict:
    """A row as HuggingFaceH4/ultrafeedback_binarized stores it (train_prefs)."""
    ctx = context or [("user", prompt)]
    return {"prompt": prompt, "prompt_id": f"id-{abs(hash(prompt))}",
            "chosen": msgs(*ctx, ("assistant", chosen)), "rejected": msgs(*ctx, ("assistant", rejected)),
            "messages": msgs(*ctx, ("assistant", chosen)), "score_chosen": s_c, "score_rejected": s_r}


def aspect(rating: str) -> dict:
    return {"Rating": rating, "Rationale": "..."}


def completion(model: str, response: str, fine=None, ratings=None, overall=None) -> dict:
    """A completion as openbmb/UltraFeedback stores it."""
    c = {"model": model, "principle": "helpfulness", "custom_system_prompt": "", "response": response,
         "critique": "...", "overall_score": overall}
    if fine is not None:
        c["fine-grained_score"] = fine
    if ratings is not None:
        c["annotations"] = {k: aspect(v) for k, v in zip(
            ("instruction_following", "honesty", "truthfulness", "helpfulness"), ratings)}
    return c


def raw(instruction: str, completions: list[dict]) -> dict:
    return {"source": "evol_instruct", "instruction": instruction, "models": [c["model"] for c in completions],
            "completions": completions, "correct_answers": ["None"], "incorrect_answers": ["None"]}


# --- pure conversions ---------------------------------------------------------------------------------

def test_scores_parse_numbers_and_numeric_strings_only():
    assert as_score("4") == 4.0 and as_score(3.5) == 3.5
    assert as_score("N/A") is None and as_score(None) is None and as_score(float("nan")) is None
    assert as_score(True) is None


def test_binarized_row_becomes_example():
    ex = from_binarized(binarized("How do I sleep?", "Keep a schedule.", "Dunno.", 8.5, 3.0))
    assert ex == Example("How do I sleep?", "Keep a schedule.", "Dunno.", 8.5, 3.0)
    assert ex.sft_row() == {"prompt": "How do I sleep?", "response": "Keep a schedule."}
    assert set(ex.pair_row()) >= {"prompt", "chosen", "rejected"}


@pytest.mark.parametrize("row, reason", [
    (binarized("p", "a", "b", 8.5, 8.5), "tie"),
    (binarized("p", "a", "b", None, 3.0), "missing_score"),
    (binarized("p", "a", "b", "N/A", 3.0), "missing_score"),
    (binarized("p", "a", "b", 2.0, 6.0), "chosen_scored_lower"),
    (binarized("p", "a", "  ", 8.0, 2.0), "empty_response"),
    ({**binarized("p", "a", "b", 8.0, 2.0), "rejected": msgs(("user", "other"), ("assistant", "b"))},
     "context_mismatch"),
    ({**binarized("p", "a", "b", 8.0, 2.0), "chosen": msgs(("user", "p"))}, "malformed_messages"),
])
def test_binarized_rows_that_give_no_clean_pair_are_dropped(row, reason):
    assert from_binarized(row) == Dropped(reason)


def test_multi_turn_context_keeps_every_turn_and_the_last_reply_is_the_response():
    ctx = [("user", "Name a fruit."), ("assistant", "Apple."), ("user", "Another?")]
    ex = from_binarized(binarized("Name a fruit.", "Pear.", "Apple again.", 9.0, 4.0, context=ctx))
    assert ex.prompt == "User: Name a fruit.\n\nAssistant: Apple.\n\nUser: Another?\n\nAssistant:"
    assert (ex.chosen, ex.rejected) == ("Pear.", "Apple again.")
    assert split_conversation(msgs(("user", "a"), ("assistant", "b"), ("assistant", "c"))) is None


def test_completion_score_is_the_mean_fine_grained_rating():
    assert completion_score(completion("m", "r", fine=4.25)) == 4.25
    assert completion_score(completion("m", "r", ratings=["5", "4", "N/A", "3"])) == 4.0  # recomputed, N/A skipped
    listed = completion("m", "r")
    listed["annotations"] = {"helpfulness": [aspect("2")], "honesty": [aspect("4")]}  # the older list layout
    assert completion_score(listed) == 3.0
    assert completion_score(completion("m", "r", overall=7.0)) is None  # no fine-grained rating at all


def test_raw_binarization_takes_the_best_and_a_random_strictly_lower_one():
    row = raw("Explain tides.", [completion("a", "Moon.", fine=3.0), completion("b", "Gravity of moon and sun.",
                                                                               fine=4.75),
                                 completion("c", "Waves.", fine=1.5), completion("d", "Wind.", fine=4.75)])
    rejected = {binarize_raw(row, random.Random(s)).rejected for s in range(30)}
    ex = binarize_raw(row, random.Random(0))
    assert ex.chosen == "Gravity of moon and sun." and ex.score_chosen == 4.75  # first of the tied best
    assert rejected == {"Moon.", "Waves."}  # never the equally scored "Wind."
    assert ex.score_rejected < ex.score_chosen


def test_raw_rows_with_ties_or_missing_scores_are_dropped():
    tied = raw("q", [completion("a", "x", fine=4.0), completion("b", "y", fine=4.0)])
    assert binarize_raw(tied, random.Random(0)) == Dropped("tie")
    one_scored = raw("q", [completion("a", "x", fine=4.0), completion("b", "y", ratings=["N/A"] * 4)])
    assert binarize_raw(one_scored, random.Random(0)) == Dropped("fewer_than_two_scored")
    empty = raw("q", [completion("a", "x", fine=4.0), completion("b", "", fine=1.0)])
    assert binarize_raw(empty, random.Random(0)) == Dropped("fewer_than_two_scored")
    assert binarize_raw(raw("", [completion("a", "x", fine=4.0)]), random.Random(0)) == Dropped("missing_prompt")


# --- the split --------------------------------------------------------------------------------------

def sample_rows(n: int = 20) -> list[dict]:
    """n rows in the binarized format: mostly clean, with ties, a missing score, a multi-turn
    conversation and a repeated prompt."""
    rows = [binarized(f"Question {i}: what is {i} squared?", f"It is {i * i}.", f"Maybe {i + 1}.", 8.0, 3.5)
            for i in range(n)]
    rows[2]["score_rejected"] = 8.0  # tie
    rows[5]["score_chosen"] = None  # missing score
    rows[7] = binarized("Question 7", "Forty-nine.", "Seven.", 9.0, 2.0,
                        context=[("user", "Question 7"), ("assistant", "Which?"), ("user", "Seven squared.")])
    rows[9] = dict(rows[8])  # the same prompt twice
    return rows


def test_split_is_disjoint_sized_and_seeded():
    rows = sample_rows()
    a = prepare(rows, "binarized", n_test=3, n_rl=5, n_pairs_test=2, seed=0)
    assert len(a.test_prompts) == 3 and len(a.rl_prompts) == 5 and len(a.pairs_test) == 2
    pair_prompts = {e.prompt for e in a.pairs_train + a.pairs_test}
    assert not (set(a.test_prompts) & set(a.rl_prompts)) and not (pair_prompts & set(a.rl_prompts + a.test_prompts))
    assert a.duplicate_rows == 1 and a.rows_read == 20
    assert len(a.pairs_train) + len(a.pairs_test) + sum(a.dropped.values()) == 19 - 8
    b = prepare(rows, "binarized", n_test=3, n_rl=5, n_pairs_test=2, seed=0)
    c = prepare(rows, "binarized", n_test=3, n_rl=5, n_pairs_test=2, seed=1)
    assert a.rl_prompts == b.rl_prompts and a.rl_prompts != c.rl_prompts


def test_split_refuses_sizes_the_data_cannot_hold():
    with pytest.raises(ValueError, match="distinct prompts"):
        prepare(sample_rows(), "binarized", n_test=10, n_rl=9, n_pairs_test=1, seed=0)
    with pytest.raises(ValueError, match="valid pairs"):
        prepare(sample_rows(), "binarized", n_test=3, n_rl=5, n_pairs_test=50, seed=0)


def test_pair_check_reports_leaks_and_missing_fields():
    good = {"prompt": "p", "chosen": "a", "rejected": "b"}
    assert check_pairs([good], [{**good, "prompt": "q"}], {"r"}) == []
    problems = check_pairs([good, {**good, "chosen": ""}], [good], {"p"})
    assert any("lack" in p for p in problems) and any("RL or test" in p for p in problems)
    assert any("share prompts" in p for p in problems)


def test_source_needs_exactly_one_place_and_a_pinned_name():
    with pytest.raises(ValueError, match="exactly one"):
        UltraFeedbackSourceSpec(path="a.jsonl", name="HuggingFaceH4/ultrafeedback_binarized", revision="x")
    with pytest.raises(ValueError, match="revision"):
        UltraFeedbackSourceSpec(name="HuggingFaceH4/ultrafeedback_binarized")


# --- the stages, end to end --------------------------------------------------------------------------

CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def tiny_model_folder(root: Path, chat_template: str | None = None) -> Path:
    """A stand-in for a pinned snapshot: config.json and a word-level tokenizer (no weights needed)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    root.mkdir(parents=True)
    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate("question what is squared it maybe".split())}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(root / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]"}
    (root / "tokenizer_config.json").write_text(json.dumps(config | ({"chat_template": chat_template}
                                                                     if chat_template else {})))
    (root / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return root


def write_source(path: Path, fmt: str) -> None:
    if fmt == "binarized":
        rows = sample_rows()
    else:
        rows = [raw(f"Question {i}: what is {i} squared?",
                    [completion("a", f"It is {i * i}.", fine=4.5), completion("b", f"Maybe {i}.", fine=2.0),
                     completion("c", "No idea.", ratings=["1", "2", "1", "N/A"])]) for i in range(20)]
        rows[3]["completions"][1]["fine-grained_score"] = 4.5  # a tie at the top still leaves a lower one
        rows[4]["completions"] = rows[4]["completions"][:1]  # too few scored
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def run_module(module: str, *args: str) -> None:
    out = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
                         timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@needs("transformers", "tokenizers")
@pytest.mark.parametrize("fmt", ["binarized", "raw"])
def test_world_and_pairs_stages_end_to_end(tmp_path, fmt):
    source = tmp_path / f"ultrafeedback-{fmt}.jsonl"
    write_source(source, fmt)
    model_dir = tiny_model_folder(tmp_path / "snapshot")
    world = {"kind": "ultrafeedback", "source": {"format": fmt, "path": str(source)},
             "n_rl_prompts": 5, "n_test_prompts": 3, "n_pairs_test": 2}
    model = {"id": "meta-llama/Llama-3.2-3B", "revision": "13afe5124825b4f3751f836b40dafda64c1ed062",
             "path": str(model_dir)}
    out, pairs_out = tmp_path / "world", tmp_path / "pairs"
    run_module("repro.worlds.ultrafeedback.prepare", "--world", json.dumps(world), "--model", json.dumps(model),
               "--seed", "0", "--out", str(out))
    run_module("repro.worlds.ultrafeedback.expose", "--world", str(out), "--out", str(pairs_out))

    data = out / "data"
    sft, rl, test = read(data / "sft_train.jsonl"), read(data / "prompts_train.jsonl"), read(data / "prompts_test.jsonl")
    train_pairs, test_pairs = read(pairs_out / "pairs_train.jsonl"), read(pairs_out / "pairs_test.jsonl")
    assert all(set(r) == {"prompt", "response"} and r["response"] for r in sft)
    assert all(set(r) == {"prompt"} for r in rl + test) and (len(rl), len(test)) == (5, 3)
    assert all({"prompt", "chosen", "rejected"} <= set(r) and r["score_chosen"] > r["score_rejected"]
               for r in train_pairs + test_pairs)
    assert len(test_pairs) == 2 and train_pairs
    assert [r["response"] for r in sft] == [r["chosen"] for r in train_pairs]  # SFT = chosen of the train pairs

    rl_p, test_p = {r["prompt"] for r in rl}, {r["prompt"] for r in test}
    pair_p = {r["prompt"] for r in train_pairs + test_pairs}
    assert not (rl_p & test_p) and not (rl_p & pair_p) and not (test_p & pair_p)

    stats = json.loads((data / "stats.json").read_text())
    for name in ("sft_train", "prompts_train", "prompts_test", "pairs_train"):
        assert stats[name]["rows"] > 0 and stats[name]["tokens"] > 0, name
    assert stats["pairs_train"]["rows"] == len(train_pairs) and stats["source"]["rows"] == 20
    assert sum(stats["source"]["dropped"].values()) >= 1
    assert (out / "base_model").resolve() == model_dir.resolve()
    assert json.loads((out / "base_model.json").read_text()) == {"id": model["id"], "revision": model["revision"]}
    report = json.loads((pairs_out / "report.json").read_text())
    assert report["metrics"]["data/pairs_train"] == len(train_pairs)
    assert json.loads((pairs_out / "stats.json").read_text())["pairs_train"]["rows"] == len(train_pairs)


@needs("transformers", "tokenizers")
def test_world_stage_refuses_an_unpinned_revision(tmp_path):
    source = tmp_path / "uf.jsonl"
    write_source(source, "binarized")
    world = {"kind": "ultrafeedback", "source": {"path": str(source)}, "n_rl_prompts": 5, "n_test_prompts": 3,
             "n_pairs_test": 2}
    model = {"id": "meta-llama/Llama-3.2-3B", "revision": "main", "path": str(tiny_model_folder(tmp_path / "m"))}
    out = subprocess.run([sys.executable, "-m", "repro.worlds.ultrafeedback.prepare", "--world", json.dumps(world),
                          "--model", json.dumps(model), "--seed", "0", "--out", str(tmp_path / "w")],
                         cwd=REPO, capture_output=True, text=True, timeout=240)
    assert out.returncode != 0 and "not a 40-hex commit SHA" in out.stderr


def prepare_world(tmp_path: Path, chat_template: str | None,
                  model_flag: bool) -> tuple[Path, subprocess.CompletedProcess]:
    source = tmp_path / "uf.jsonl"
    write_source(source, "binarized")
    world = {"kind": "ultrafeedback", "source": {"path": str(source)}, "n_rl_prompts": 5, "n_test_prompts": 3,
             "n_pairs_test": 2}
    model = {"id": "mistralai/Mistral-7B-Instruct-v0.2", "revision": "63a8b081895390a26e140280378bc85ec8bce07a",
             "path": str(tiny_model_folder(tmp_path / "m", chat_template)), "chat_template": model_flag}
    out = tmp_path / "w"
    proc = subprocess.run([sys.executable, "-m", "repro.worlds.ultrafeedback.prepare", "--world", json.dumps(world),
                           "--model", json.dumps(model), "--seed", "0", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=240)
    return out, proc


@needs("transformers", "tokenizers")
def test_chat_template_pairs_are_message_lists_that_openrlhf_formats_like_the_harness(tmp_path):
    """RM and DPO read the message-list copies: OpenRLHF's RewardDataset then makes exactly the text the
    harness's own formatting (repro/chat.py) makes for the same pair."""
    from openrlhf.datasets.reward_dataset import preprocess_data
    from transformers import AutoTokenizer

    from repro.chat import chat_prompt, chat_response

    world, proc = prepare_world(tmp_path, CHAT_TEMPLATE, model_flag=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pairs_out = tmp_path / "pairs"
    run_module("repro.worlds.ultrafeedback.expose", "--world", str(world), "--out", str(pairs_out), "--chat-template")
    tok = AutoTokenizer.from_pretrained(world / "base_model")
    for split in ("train", "test"):
        plain, chat = read(pairs_out / f"pairs_{split}.jsonl"), read(pairs_out / f"pairs_{split}.chat.jsonl")
        assert len(chat) == len(plain) > 0
        for p, c in zip(plain, chat):
            assert c["prompt"] == [{"role": "user", "content": p["prompt"]}]
            prompt, chosen, rejected, _ = preprocess_data(c, None, "prompt", "chosen", "rejected",
                                                          tok.apply_chat_template, is_dpo=True)
            assert prompt == chat_prompt(tok, p["prompt"]) == f"<|user|>{p['prompt']}<|end|><|assistant|>"
            assert (chosen, rejected) == (chat_response(tok, p["prompt"], p["chosen"]),
                                          chat_response(tok, p["prompt"], p["rejected"]))


@needs("transformers", "tokenizers")
def test_world_stage_refuses_chat_template_for_a_tokenizer_without_one(tmp_path):
    _, proc = prepare_world(tmp_path, None, model_flag=True)
    assert proc.returncode != 0 and "has no chat template" in proc.stderr
