"""An OpenAI-compatible chat-completions endpoint on 127.0.0.1 that judges AlpacaEval's stock prompt with a scorer.

It stands in for the remote LLM judge (GPT-4 Turbo, or a vLLM server) so that alpaca-eval's real annotator code
path runs here: its ChatML prompt, the openai client over HTTP, and the log-prob parser. It reads the instruction
and the two outputs back out of the prompt, scores instruction + output with the scorer, and answers 'm' (output
1) or 'M' (output 2) with top log-probs sigmoid((s1 - s2) / temperature). It records each request's model name
and Authorization header so tests can check which judge was called and that the key arrived.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_INSTRUCTION = re.compile(r'"instruction": """(.*?)""",', re.DOTALL)
_OUTPUT = re.compile(r'"model_identifier": "(m|M)",\s*"output": """(.*?)"""', re.DOTALL)


def judge_prompt_parts(text: str) -> tuple[str, str, str]:
    """(instruction, output_1, output_2) of a rendered alpaca_eval_clf prompt."""
    outputs = dict(_OUTPUT.findall(text))
    return _INSTRUCTION.search(text).group(1), outputs["m"], outputs["M"]


def top_logprobs(p_first: float) -> list[dict]:
    p = min(max(p_first, 1e-6), 1 - 1e-6)
    return [{"token": t, "logprob": math.log(q), "bytes": list(t.encode())} for t, q in (("m", p), ("M", 1 - p))]


class JudgeEndpoint:
    def __init__(self, scorer: Callable[[list[str]], Sequence[float]], temperature: float = 0.05):
        self.scorer, self.temperature = scorer, temperature
        self.requests: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append({"path": self.path, "model": body.get("model"),
                                          "authorization": self.headers.get("Authorization")})
                reply = endpoint.answer(body)
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, body: dict) -> dict:
        text = "\n".join(m["content"] for m in body["messages"])
        instruction, first, second = judge_prompt_parts(text)
        s1, s2 = self.scorer([instruction + first, instruction + second])
        p_first = 1 / (1 + math.exp(-max(min((s1 - s2) / self.temperature, 50), -50)))
        top = top_logprobs(p_first)
        best = max(top, key=lambda t: t["logprob"])
        return {
            "id": f"judge-{len(self.requests)}", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "length",
                         "message": {"role": "assistant", "content": best["token"]},
                         "logprobs": {"content": [{**best, "top_logprobs": top}]}}],
            "usage": {"prompt_tokens": len(text.split()), "completion_tokens": 1, "total_tokens": len(text.split()) + 1},
        }

    def __enter__(self) -> "JudgeEndpoint":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- MT-Bench: FastChat's single-answer grading -----------------------------------------------------

# The judge prompts the MT-Bench test writes (FastChat's judge_prompts.jsonl format): the graded answer
# always follows ANSWER_START, and a multi-turn prompt carries TURN_2, so the endpoint knows what it rates.
ANSWER_START, ANSWER_END, TURN_2 = "[The Start of Assistant's Answer]\n", "\n[The End of Assistant's Answer]", "[Turn 2]"


class MtBenchJudgeEndpoint(JudgeEndpoint):
    """Grades the answer in a FastChat single-grading prompt 1-10 by the scorer (1 + 9 x score, rounded) and
    answers 'Rating: [[r]]', the format FastChat's gen_judgment.py parses. Keeps every (turn, answer, rating)."""

    def __init__(self, scorer: Callable[[list[str]], Sequence[float]]):
        super().__init__(scorer)
        self.graded: list[tuple[int, str, int]] = []

    def answer(self, body: dict) -> dict:
        prompt = body["messages"][-1]["content"]
        graded = prompt.rsplit(ANSWER_START, 1)[1].rsplit(ANSWER_END, 1)[0]
        rating = 1 + round(9 * float(self.scorer([graded])[0]))
        self.graded.append((2 if TURN_2 in prompt else 1, graded, rating))
        text = f"The answer is graded by the scorer. Rating: [[{rating}]]"
        return {"id": f"judge-{len(self.requests)}", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": 8,
                          "total_tokens": len(prompt.split()) + 8}}
