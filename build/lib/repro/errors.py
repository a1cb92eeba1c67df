"""Errors a user can act on. The CLI prints their message and exits non-zero, no traceback."""

from __future__ import annotations

import difflib


class ReproError(Exception):
    """Base class: the message says what went wrong and what to do."""

    exit_code = 2


class UnknownNameError(ReproError, KeyError):
    """A registry or recipe lookup missed; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        close = difflib.get_close_matches(self.name, self.valid, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} '{self.name}'.{hint} Valid: {', '.join(self.valid) or '(none)'}"


class RecipeError(ReproError):
    """A recipe key or value is invalid; the message names the key path and why."""


class MissingDependencyError(ReproError):
    """A stage needs a package that is not installed; the message says what to install."""


class StageFailed(ReproError):
    """A stage exited non-zero; its record holds the log tail."""

    exit_code = 1


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP reached a local run: handled exactly like Ctrl-C (stages stopped, record
    'interrupted'), and the process exits 128 + the signal's number as a killed process would."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum
