import sys
import types

import pytest

from repro.errors import ReproError, UnknownNameError
from repro.methods import Method
from repro.registry import METHODS, Registry


def test_did_you_mean_lists_valid_names():
    with pytest.raises(UnknownNameError) as e:
        METHODS.get("dop")
    assert "Did you mean 'dpo'" in str(e.value) and "sft" in str(e.value)


def test_collision_is_an_error():
    reg = Registry("thing", "repro.methods:Method")
    reg.register("x", "a:B")
    reg.register("x", "a:B")  # same target again is fine
    with pytest.raises(ReproError, match="already registered"):
        reg.register("x", "c:D")


def test_lazy_entries_are_checked_against_the_base_class():
    mod = types.ModuleType("fake_methods")
    mod.NotAMethod = type("NotAMethod", (), {})
    sys.modules["fake_methods"] = mod
    reg = Registry("method", "repro.methods:Method")
    reg.register("bad", "fake_methods:NotAMethod")
    assert reg.target("bad") == "fake_methods:NotAMethod"  # listing does not import
    with pytest.raises(ReproError, match="not a subclass of Method"):
        reg.get("bad")


def test_entry_point_group_adds_outside_methods(monkeypatch):
    import repro.registry as registry_mod

    class EP:
        name, value = "outside", "fake_outside:Outside"

    mod = types.ModuleType("fake_outside")

    class Outside(Method):
        name = "outside"
        description = "a baseline from another package"

        def stages(self, spec, layout):
            return []

    mod.Outside = Outside
    sys.modules["fake_outside"] = mod
    monkeypatch.setattr(registry_mod, "entry_points", lambda group: [EP] if group == "repro.methods" else [])
    reg = Registry("method", "repro.methods:Method", entry_point_group="repro.methods")
    assert reg.names() == ["outside"]
    assert reg.get("outside") is Outside


def test_cli_help_does_not_import_torch():
    import subprocess

    code = "import sys; from repro.cli import app; from repro.registry import METHODS; METHODS.names(); " \
           "assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
