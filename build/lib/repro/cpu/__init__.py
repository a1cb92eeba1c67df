"""CPU layer: lets OpenRLHF's own SFT/DPO/RM entry points run unmodified on a machine without a GPU.

It is activated only for CPU runs, through `python -m repro.cpu.run <module> [args...]`; importing
this package patches nothing. `run` installs two shims before openrlhf is imported:

- `flash_attn_shim`: pure-torch versions of the flash_attn names OpenRLHF imports at module top,
  registered so that transformers still reports flash-attn as unavailable (pass
  `--ds.attn_implementation eager`);
- `cuda_redirect`: torch.cuda.current_device/set_device/synchronize/empty_cache and
  init_device_mesh("cuda", ...) pointed at the CPU.

Both target the exact call sites of openrlhf 0.11.2, so the layer is pinned to that version:
`check_openrlhf_version()` raises (or only warns, with strict=False) on any other version.
"""

from __future__ import annotations

import importlib.metadata
import warnings

from repro.versions import OPENRLHF_VERSION


class OpenRLHFVersionError(RuntimeError):
    """The installed openrlhf is not the version this CPU layer was written against."""


def installed_openrlhf_version() -> str | None:
    try:
        return importlib.metadata.version("openrlhf")
    except importlib.metadata.PackageNotFoundError:
        return None


def check_openrlhf_version(strict: bool = True) -> None:
    """Raise OpenRLHFVersionError (strict) or warn if openrlhf is not OPENRLHF_VERSION."""
    found = installed_openrlhf_version()
    if found == OPENRLHF_VERSION:
        return
    message = (
        f"repro.cpu is pinned to openrlhf=={OPENRLHF_VERSION} (its shims patch that version's call "
        f"sites), but found {found or 'no openrlhf'}; re-check repro/cpu against the new source."
    )
    if strict:
        raise OpenRLHFVersionError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=2)
