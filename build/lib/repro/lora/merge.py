"""Merge a LoRA-trained policy into one Hugging Face model: `python -m repro.lora.merge --base B --trained T --out O`.

T is the training stage's folder: T/model holds the final adapter and T/ckpt/global_step<N>_hf the learning
curve's snapshots (adapters too). O/model and O/ckpt/global_step<N>_hf get base + adapter merged, in the base's
dtype, with the adapter's tokenizer; each is written to a temporary folder and renamed into place, so a stopped
merge leaves nothing half-written. Every run merges afresh: the stage re-runs only when the adapters changed.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

ADAPTER_CONFIG = "adapter_config.json"


def adapters_to_merge(trained: Path, out: Path) -> list[tuple[Path, Path]]:
    """(adapter folder, merged folder) for the final model and every snapshot, in step order."""
    pairs = [(trained / "model", out / "model")]
    snapshots = sorted((trained / "ckpt").glob("global_step*_hf"), key=lambda p: int(p.name[11:-3]))
    pairs += [(s, out / "ckpt" / s.name) for s in snapshots]
    missing = [str(a) for a, _ in pairs if not (a / ADAPTER_CONFIG).is_file()]
    if missing:
        raise SystemExit(f"not LoRA adapters (no {ADAPTER_CONFIG}): {', '.join(missing)}")
    return pairs


def merge_adapter(base: Path, adapter: Path, out: Path) -> int:
    """Writes base + adapter to `out`; returns the adapter's parameter count."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base, dtype="auto")
    dtype = model.dtype
    peft = PeftModel.from_pretrained(model, adapter)
    adapter_params = sum(p.numel() for n, p in peft.named_parameters() if "lora_" in n)
    merged = peft.merge_and_unload().to(dtype)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(adapter).save_pretrained(tmp)
    shutil.copy(adapter / ADAPTER_CONFIG, tmp / ADAPTER_CONFIG.replace(".json", ".merged-from.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
    return adapter_params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the model the adapters were trained on")
    parser.add_argument("--trained", type=Path, required=True, help="the training stage's folder")
    parser.add_argument("--out", type=Path, required=True, help="this stage's folder")
    args = parser.parse_args(argv)
    for adapter, out in adapters_to_merge(args.trained, args.out):
        shutil.rmtree(out, ignore_errors=True)  # an earlier merge of other adapters
        params = merge_adapter(args.base, adapter, out)
        print(f"merged {adapter} ({params} adapter parameters) into {out}", flush=True)


if __name__ == "__main__":
    main()
