"""The policy behind FastChat's own OpenAI-compatible server stack, for MT-Bench answers off CUDA.

FastChat 0.2.36's gen_model_answer.py moves the policy to CUDA unconditionally, so on a CPU (or to keep
answering separate from the GPU) the harness serves the policy with FastChat's controller, model worker and
API server, all on 127.0.0.1, and FastChat's gen_api_answer.py asks that server, as it would ask any
OpenAI-compatible model.

FastChat 0.2.36 runs on transformers 4 (it reads `config.rope_scaling["factor"]`, which transformers 5 breaks),
whose tokenizer classes do not include the `TokenizersBackend` that transformers 5 writes into a saved
tokenizer_config.json. `transformers4_view` gives FastChat a folder of links to the policy's files with that
one field set to the class transformers 4 loads tokenizer.json with.
"""

from __future__ import annotations

import json
from pathlib import Path

from repro.evals.serving import Server
from repro.netaddr import free_port

TOKENIZER_CLASSES_4 = {"TokenizersBackend": "PreTrainedTokenizerFast"}


def transformers4_view(policy: Path, view: Path) -> Path:
    """`view`: a link to each file of `policy`, except tokenizer_config.json, copied with a transformers-5-only
    tokenizer_class replaced by its transformers 4 equivalent. The policy itself is never written."""
    view.mkdir(parents=True, exist_ok=True)
    for path in sorted(policy.iterdir()):
        target = view / path.name
        if target.is_symlink() or target.exists():
            target.unlink()
        if path.name == "tokenizer_config.json":
            config = json.loads(path.read_text())
            cls = config.get("tokenizer_class")
            config["tokenizer_class"] = TOKENIZER_CLASSES_4.get(cls, cls)
            target.write_text(json.dumps(config, indent=2))
        else:
            target.symlink_to(path.resolve())
    return view


def fastchat_servers(python: str, policy: Path, model_id: str, device: str, conv_template: str | None,
                     logs: Path) -> tuple[list[Server], str]:
    """FastChat's controller, model worker and OpenAI API server on free 127.0.0.1 ports, and the API's base URL."""
    controller, worker, api = (f"http://127.0.0.1:{free_port()}" for _ in range(3))

    def port(url: str) -> str:
        return url.rsplit(":", 1)[1]

    worker_argv = [python, "-m", "fastchat.serve.model_worker", "--host", "127.0.0.1", "--port", port(worker),
                   "--worker-address", worker, "--controller-address", controller, "--model-path", str(policy),
                   "--model-names", model_id, "--device", device]
    if conv_template:
        worker_argv += ["--conv-template", conv_template]
    servers = [
        Server("FastChat's controller", [python, "-m", "fastchat.serve.controller", "--host", "127.0.0.1",
                                         "--port", port(controller)], logs / "fastchat_controller.log"),
        Server("FastChat's model worker", worker_argv, logs / "fastchat_model_worker.log"),
        Server("FastChat's API server", [python, "-m", "fastchat.serve.openai_api_server", "--host", "127.0.0.1",
                                         "--port", port(api), "--controller-address", controller],
               logs / "fastchat_api_server.log"),
    ]
    return servers, f"{api}/v1"


def lists_model(model_id: str):
    """Readiness of the API server: /v1/models lists the policy once its worker has registered."""
    def ready(body: bytes) -> bool:
        try:
            return any(m.get("id") == model_id for m in json.loads(body).get("data", []))
        except ValueError:
            return False
    return ready
