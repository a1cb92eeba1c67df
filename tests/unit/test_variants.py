"""Variants (repro/variants.py): what a run changes against its recipe, and tables that never pool two of them."""

from repro.runs import plan_run
from repro.tables.build import efficiency_tables, scores_table
from repro.tables.schema import load_table_defs
from repro.tables.synthetic import synthetic_record
from repro.variants import MISSING, flatten, group_runs, variant_label, variant_of

DEFS = load_table_defs()


def test_flatten_hand_case():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": None}) == {"a.b": 1, "a.c.d": [1, 2], "e": None}


def test_variant_keeps_own_keys_and_drops_seed_neutral_and_other_methods():
    shipped = {"seed": 0, "rl": {"kl_coef": 0.05}, "methods": {"dpo": {"beta": 0.1}}, "checkpoint": {}}
    spec = {"seed": 2, "rl": {"kl_coef": 0.2}, "methods": {"dpo": {"beta": 0.5}, "ppo": {"critic_lr": 1.0}},
            "checkpoint": {"every_steps": 5}, "eval": {"every_steps": 6, "n_prompts": 64}}
    assert variant_of(spec, shipped, "dpo") == {"eval.n_prompts": 64, "methods.dpo.beta": 0.5, "rl.kl_coef": 0.2}
    assert variant_of(spec, shipped, "ppo") == {"eval.n_prompts": 64, "methods.ppo.critic_lr": 1.0,
                                                "rl.kl_coef": 0.2}
    assert variant_of(shipped, spec, "dpo")["eval.n_prompts"] == MISSING


def test_labels_read_short_on_the_methods_own_keys():
    assert variant_label("dpo", {}) == "dpo"
    assert variant_label("dpo", {"methods.dpo.beta": 0.5, "rl.kl_coef": 0.2}) == "dpo beta=0.5, rl.kl_coef=0.2"


def test_a_planned_run_records_its_variant(results_root):
    plan = plan_run("dpo", "imdb/smoke", seed=3, results_root=results_root,
                    overrides=("methods.dpo.beta=0.5", "methods.ppo.critic_lr=0.001", "eval.every_steps=4"))
    assert plan.variant == {"methods.dpo.beta": 0.5}
    assert plan_run("dpo", "imdb/smoke", results_root=results_root).variant == {}


def run(method, seed, beta=None, reward=0.6, recipe="imdb"):
    rec = synthetic_record(method, seed, {"gold/reward_mean": reward, "gold/win_rate_vs_sft": 0.5,
                                          "gold/kl_to_sft": 1.0})
    if beta is not None:
        rec.spec = {**rec.spec, "methods": {method: {"beta": beta}}}
        rec.variant = {f"methods.{method}.beta": beta}
    rec.recipe = recipe
    return rec


def test_two_variants_at_one_seed_give_two_rows_and_seeds_of_one_variant_pool():
    records = [run("dpo", 0), run("dpo", 1, reward=0.7), run("dpo", 0, beta=0.5, reward=0.9), run("ppo", 0)]
    table = scores_table("imdb", records, DEFS)
    rows = {lead[0]: (lead[1], cells[0].mean) for lead, cells in table.rows}
    assert list(rows) == ["dpo", "dpo beta=0.5", "ppo"]
    assert rows["dpo"][0] == "2" and abs(rows["dpo"][1] - 0.65) < 1e-9 and rows["dpo beta=0.5"] == ("1", 0.9)
    assert "dpo beta=0.5: methods.dpo.beta=0.5" in table.footnotes
    (efficiency,) = efficiency_tables(records, DEFS)
    assert [lead[0] for lead, _ in efficiency.rows] == ["dpo", "dpo beta=0.5", "ppo"]


def test_same_label_different_setups_are_told_apart_by_recipe():
    a, b = run("dpo", 0, recipe="imdb"), run("dpo", 0, recipe="mine.yaml")
    b.spec = {**b.spec, "sft": {"lr": 0.1}}  # a different recipe of the same setting, variant {} in each
    labels = sorted(g.label for g in group_runs([a, b]))
    assert labels == ["dpo [imdb]", "dpo [mine.yaml]"]


def test_the_same_setup_and_seed_twice_counts_once():
    first, second = run("dpo", 0, reward=0.6), run("dpo", 0, reward=0.6)
    second.updated_at = "2026-02-01T00:00:00+00:00"
    (group,) = group_runs([second, first])
    assert group.records == [second]
