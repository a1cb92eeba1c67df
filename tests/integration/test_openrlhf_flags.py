"""Every flag we render must exist in the installed OpenRLHF CLI's --help: on imdb (raw prompts, CPU) and on
an instruct recipe (chat template, GPU launchers), whose stages render flags imdb's do not."""

import functools
import re
import subprocess
import sys

import pytest

from repro.runs import plan_run

pytestmark = pytest.mark.integration


INSTRUCT = "paper-instruct/llama3-8b-instruct-ultrafeedback"
CASES = [("imdb", method, stage, ()) for method, stage in [("sft", "sft"), ("dpo", "dpo"), ("rm", "rm"),
                                                           ("ppo", "policy"), ("grpo", "policy"), ("dvpo", "policy")]]
CASES += [(INSTRUCT, "sft", "sft", ("sft.skip=false",)), (INSTRUCT, "dpo", "dpo", ()), (INSTRUCT, "rm", "rm", ()),
          (INSTRUCT, "ppo", "policy", ()), (INSTRUCT, "dvpo", "policy", ("rl.rollout_sleep=true",))]


@functools.cache
def cli_help(module: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "repro.cpu.run", module, "--help"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.parametrize("recipe,method,stage,overrides", CASES)
def test_rendered_flags_exist_in_cli_help(recipe, method, stage, overrides, results_root):
    plan = plan_run(method, recipe, overrides=overrides, results_root=results_root)
    argv = {s.name: s for s in plan.stages}[stage].argv
    module = next(a for a in argv if a.startswith("openrlhf.cli."))
    known = set(re.findall(r"--[\w.]+", cli_help(module)))
    rendered = [a for a in argv[argv.index(module) + 1:] if a.startswith("--")]  # the CLI's own flags
    assert rendered and not [f for f in rendered if f not in known]


@pytest.mark.parametrize("recipe", ["imdb", INSTRUCT])
def test_gvm_flags_are_its_own_or_train_rm_flags(recipe, results_root):
    """GVM pretraining takes --gvm.* flags plus exactly train_rm's flags."""
    from dvpo.gvm.train import gvm_parser

    argv = {s.name: s for s in plan_run("dvpo", recipe, results_root=results_root).stages}["gvm"].argv
    known = set(re.findall(r"--[\w.]+", cli_help("openrlhf.cli.train_rm"))) | {
        o for a in gvm_parser()._actions for o in a.option_strings}
    rendered = [a for a in argv[argv.index("dvpo.gvm.train") + 1:] if a.startswith("--")]  # not the launcher's
    assert rendered and not [f for f in rendered if f not in known]
