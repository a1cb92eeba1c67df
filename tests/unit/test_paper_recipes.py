"""The paper's recipes: each validates, and renders Slurm job scripts (golden files) whose key facts
follow the paper: 8 GPUs on one node, ZeRO-1 for 3B and ZeRO-3 for larger models, pinned revisions,
and the UltraFeedback data-preparation stage first and shared by every method."""

import re

import pytest
import yaml

from repro.launch.profiles import load_profile
from repro.launch.slurm_script import render_job_scripts
from repro.recipes import load_recipe, recipe_names, recipe_path
from repro.runs import plan_run
from repro.spec import PretrainedModelSpec
from repro.worlds.ultrafeedback import UltraFeedbackWorldSpec
from tests.conftest import check_golden, normalise

BASE = ["paper-base/llama32-3b-base-ultrafeedback", "paper-base/llama3-8b-base-ultrafeedback"]
INSTRUCT = ["paper-instruct/mistral-7b-instruct-ultrafeedback", "paper-instruct/llama3-8b-instruct-ultrafeedback"]
ZERO = {"paper-base/llama32-3b-base-ultrafeedback": 1}  # the paper: ZeRO-1 for 3B, ZeRO-3 for 8B (and 7B)
CASES = [(r, m) for r in BASE for m in ("dvpo", "ppo")] + [(r, m) for r in INSTRUCT for m in ("dvpo", "ppo", "dpo")]


def test_repro_ls_lists_every_paper_recipe():
    assert set(BASE + INSTRUCT) <= set(recipe_names())
    assert not any("include" in name for name in recipe_names())  # shared fragments are not recipes


@pytest.mark.parametrize("name", BASE + INSTRUCT)
def test_paper_recipe_validates_with_pinned_model_and_data(name):
    spec = load_recipe(name)
    assert isinstance(spec.world, UltraFeedbackWorldSpec) and isinstance(spec.model, PretrainedModelSpec)
    assert re.fullmatch(r"[0-9a-f]{40}", spec.model.revision), spec.model.revision
    assert re.fullmatch(r"[0-9a-f]{40}", spec.world.source.revision)
    assert spec.world.n_rl_prompts == 10000 and spec.eval.evaluators == ["mt_bench", "arena_hard", "alpaca_eval_api"]
    zero = ZERO.get(name, 3)
    assert {spec.sft.zero_stage, spec.reward_model.zero_stage, spec.rl.zero_stage,
            spec.methods["dpo"]["zero_stage"], spec.methods["dvpo"]["gvm"]["zero_stage"]} == {zero}
    r = spec.resources
    assert (r.device, r.nodes, r.gpus_per_node) == ("gpu", 1, 8)
    # official DVPO launch: lr 2e-6, 4 PPO epochs, adaptive KL 0.2 -> 6, GVM lr 1.41e-5 with +-1 returns
    assert (spec.rl.lr, spec.rl.epochs, spec.rl.kl_coef, spec.rl.kl_target) == (2e-6, 4, 0.2, 6.0)
    assert spec.methods["dvpo"]["gvm"]["lr"] == 1.41e-5 and spec.methods["dvpo"]["gvm"]["returns"] == "preference"
    # AlpacaEval 2: the stock weighted GPT-4 Turbo annotator against GPT-4 Turbo's answers, length-controlled.
    alpaca = spec.eval.alpaca_eval_api
    assert (alpaca.annotator, alpaca.judge_api_base, alpaca.length_controlled) == \
        ("weighted_alpaca_eval_gpt4_turbo", None, True)
    assert alpaca.reference_outputs.endswith("alpaca_eval_gpt4_baseline.json")


def test_recipes_share_one_base_file_and_only_set_their_model():
    for name in BASE + INSTRUCT:
        own = yaml.safe_load(recipe_path(name).read_text())
        # everything else comes from the includes, but the instruction setting's switch to skip SFT and the
        # MT-Bench answer name FastChat maps to the model's conversation template
        assert set(own) == {"include", "setting", "model"} | ({"sft", "eval"} if name in INSTRUCT else set()), name
        assert own.get("sft", {"skip": True}) == {"skip": True}
        assert own.get("eval", {"mt_bench": {"model_id": "x"}}).keys() == {"mt_bench"}

        assert "../paper-common/include/ultrafeedback.yaml" in own["include"]
    # FastChat's Llama3Adapter matches 'llama-3-' and its MistralAdapter 'mistral' in the name it is given
    ids = {name: load_recipe(name).eval.mt_bench.model_id for name in INSTRUCT}
    assert ids == {"paper-instruct/mistral-7b-instruct-ultrafeedback": "mistral-7b-instruct-repro",
                   "paper-instruct/llama3-8b-instruct-ultrafeedback": "llama-3-8b-instruct-repro"}


def test_a_model_that_does_not_fit_the_world_is_refused():
    from repro.errors import RecipeError

    with pytest.raises(RecipeError, match="pretrained"):
        load_recipe(BASE[0], ["model={hidden_size: 64}"])


@pytest.mark.parametrize("recipe, method", CASES)
def test_paper_slurm_job_scripts_golden(results_root, recipe, method):
    plan = plan_run(method, recipe, results_root=results_root)
    text = render_job_scripts(plan, load_profile("example-a100"))
    spec = plan.spec

    first = plan.stages[0]
    assert first.name == "world" and first.shared and "/shared/world-" in first.workdir
    assert "repro.worlds.ultrafeedback.prepare" in first.command_line()
    assert text.index("# ===== job world =====") < min(text.index(f"# ===== job {s.name} =====")
                                                       for s in plan.stages[1:])
    assert spec.model.revision in text and spec.world.source.revision in text
    assert "#SBATCH --nodes=2" not in text and "#SBATCH --gres=gpu:8" in text
    zero = ZERO.get(recipe, 3)
    assert f"--ds.zero_stage {zero}" in text and f"--ds.zero_stage {4 - zero}" not in text
    if method in ("ppo", "dpo"):  # they train on the prepared pairs, exposed by a stage that samples nothing
        pairs = next(s for s in plan.stages if s.name == "pairs")
        assert "repro.worlds.ultrafeedback.expose" in pairs.command_line() and pairs.shared

    other = plan_run("sft", recipe, results_root=results_root)
    assert other.stages[0].workdir == first.workdir  # one data-preparation stage for every method
    short = recipe.split("/")[1].removesuffix("-ultrafeedback")
    check_golden(f"slurm_paper_{short}_{method}.sh", normalise(text, results_root))
