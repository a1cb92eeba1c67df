"""A prompt as one user turn of a chat: the single convention of every stage run with `model.chat_template`.

OpenRLHF's SFT and prompt datasets wrap a plain-string prompt as one user turn themselves. Its reward dataset
(RM and DPO) does not: given strings it renders the template over the string's characters and trains on
near-empty text without an error, so its pairs are written as message lists (`chat_pair_row`). The
harness's own tokenisation (sampling, GVM pretraining) formats with the helpers below, so every stage sees
the very text OpenRLHF's datasets make.
"""

from __future__ import annotations


def user_turn(prompt: str) -> list[dict]:
    return [{"role": "user", "content": prompt}]


def assistant_turn(response: str) -> list[dict]:
    return [{"role": "assistant", "content": response}]


def chat_prompt(tokenizer, prompt: str) -> str:
    """The prompt as the model sees it: the template's user turn and the opening of the assistant's."""
    return tokenizer.apply_chat_template(user_turn(prompt), tokenize=False, add_generation_prompt=True)


def chat_response(tokenizer, prompt: str, response: str) -> str:
    """The text after chat_prompt(prompt) when the assistant answers `response`, end-of-turn included;
    cut from the whole conversation's text the way OpenRLHF's datasets cut it."""
    head = chat_prompt(tokenizer, prompt)
    return tokenizer.apply_chat_template(user_turn(prompt) + assistant_turn(response), tokenize=False)[len(head):]


def chat_pair_row(row: dict) -> dict:
    """A (prompt, chosen, rejected) pair as OpenRLHF's RewardDataset reads it with --data.apply_chat_template."""
    return {"prompt": user_turn(row["prompt"]), "chosen": assistant_turn(row["chosen"]),
            "rejected": assistant_turn(row["rejected"])}
