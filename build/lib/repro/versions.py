"""The one place the OpenRLHF release is pinned.

The CPU layer patches that release's call sites and the command builders render its flags, so
everything that names the version (the Makefile's install, install hints, the CPU layer's check)
reads it from here.
"""

OPENRLHF_VERSION = "0.11.2"


def require_openrlhf(module: str, recheck: str) -> None:
    """Fail loudly when the installed OpenRLHF is not the pinned release that `module`'s hooks into its private
    structure were written against; `recheck` says what to re-read in the new source."""
    import importlib.metadata

    found = importlib.metadata.version("openrlhf")
    if found != OPENRLHF_VERSION:
        raise RuntimeError(f"{module} is written against openrlhf=={OPENRLHF_VERSION}, found {found}: "
                           f"re-check {recheck} against the new source")
