"""How an API judge's key travels: through the environment of the judging step only.

Shared by every evaluator that calls an OpenAI-compatible judge (MT-Bench, Arena-Hard, AlpacaEval).
The key is never put in argv, a config file, stage.json or the record; tests check each of these.
"""

from __future__ import annotations

from collections.abc import Mapping

JUDGE_KEY_VAR = "OPENAI_API_KEY"
# Self-hosted OpenAI-compatible servers usually ignore the key, but the openai clients refuse to start
# without one; this placeholder is not a secret.
PLACEHOLDER_KEY = "EMPTY"


def judge_key_problem(section: str, judge_model: str, judge_api_base: str | None,
                      environ: Mapping[str, str]) -> str | None:
    """Why the judge cannot be called, or None: api.openai.com needs a key, a custom endpoint does not."""
    if judge_api_base is None and not environ.get(JUDGE_KEY_VAR):
        return (f"{JUDGE_KEY_VAR} is not set: the judge {judge_model} is called at api.openai.com. Export "
                f"{JUDGE_KEY_VAR} where the run is launched (it reaches the judge through the environment only), "
                f"or set {section}.judge_api_base to an OpenAI-compatible endpoint")
    return None


def judge_env(judge_api_base: str | None, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of the judging step: the key stays where it is (never in argv or a file)."""
    env = dict(environ)
    if judge_api_base:
        env["OPENAI_API_BASE"] = judge_api_base  # read by openai<1 (FastChat)
        env["OPENAI_BASE_URL"] = judge_api_base  # read by openai>=1 (arena-hard-auto, alpaca-eval)
        if not env.get(JUDGE_KEY_VAR):
            env[JUDGE_KEY_VAR] = PLACEHOLDER_KEY
    return env


def without_judge_key(environ: Mapping[str, str]) -> dict[str, str]:
    """Answer generation and policy servers have no use for the judge's key."""
    return {k: v for k, v in environ.items() if k != JUDGE_KEY_VAR}
