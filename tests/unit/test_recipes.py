from pathlib import Path

import pytest

from repro.errors import RecipeError, UnknownNameError
from repro.recipes import apply_override, deep_merge, load_recipe, read_yaml_with_includes, recipe_names


def test_every_shipped_recipe_loads_and_validates():
    names = recipe_names()
    assert "imdb" in names and "imdb/smoke" in names
    for name in names:
        spec = load_recipe(name)
        assert spec.world.n_test_prompts >= spec.eval.n_prompts, name


def test_include_then_file_then_override_precedence():
    spec = load_recipe("imdb/smoke", ["sft.lr=0.05", "methods.dpo.beta=0.3"])
    base = load_recipe("imdb")
    assert spec.world.n_sft == 512 and base.world.n_sft == 8000  # smoke.yaml beats base.yaml
    assert spec.model == base.model  # inherited unchanged
    assert spec.sft.lr == 0.05 and spec.methods["dpo"]["beta"] == 0.3


def test_deep_merge_keeps_untouched_keys():
    assert deep_merge({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"y": 3}}) == {"a": {"x": 1, "y": 3}, "b": 1}


def test_override_parses_yaml_values():
    d = apply_override({}, "a.b=3")
    apply_override(d, "a.c=[1, 2]")
    apply_override(d, "flag=true")
    assert d == {"a": {"b": 3, "c": [1, 2]}, "flag": True}
    with pytest.raises(RecipeError, match="key.path=value"):
        apply_override({}, "nokey")


def test_unknown_key_names_path_and_valid_keys():
    with pytest.raises(RecipeError) as e:
        load_recipe("imdb", ["sft.lrr=1"])
    assert "'sft.lrr'" in str(e.value) and "Did you mean 'lr'" in str(e.value) and "batch_size" in str(e.value)


def test_bad_value_names_key_and_reason():
    with pytest.raises(RecipeError, match=r"'sft.lr': Input should be greater than 0"):
        load_recipe("imdb", ["sft.lr=-1"])
    with pytest.raises(RecipeError, match="not a multiple of micro_batch_size"):
        load_recipe("imdb", ["sft.batch_size=30"])


def test_method_section_is_validated_by_the_method():
    with pytest.raises(RecipeError, match=r"methods.dpo.bta.*Did you mean 'beta'"):
        load_recipe("imdb", ["methods.dpo.bta=1"])
    with pytest.raises(UnknownNameError, match="Did you mean 'dpo'"):
        load_recipe("imdb", ["methods.dpoo.beta=1"])


def test_unknown_recipe_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean 'imdb'"):
        load_recipe("imdbb")


def test_include_cycle_is_reported(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("include: b.yaml\n")
    (tmp_path / "b.yaml").write_text("include: a.yaml\n")
    with pytest.raises(RecipeError, match="include cycle"):
        read_yaml_with_includes(tmp_path / "a.yaml")


@pytest.mark.parametrize("override, message", [
    ("world.n_sftt=5", "unknown recipe key 'world.n_sftt'. Did you mean 'n_sft'? Valid keys here: kind, n_gold"),
    ("model.hiden=5", "unknown recipe key 'model.hiden'. Did you mean 'hidden_size'?"),
    ("eval.mt_bench.pythn=x", "unknown recipe key 'eval.mt_bench.pythn'. Did you mean 'python'?"),
])
def test_key_errors_inside_union_and_optional_sections_name_the_valid_keys(override, message):
    recipe = "imdb/cluster-evals" if override.startswith("eval.") else "imdb"
    with pytest.raises(RecipeError) as err:
        load_recipe(recipe, [override])
    assert message in str(err.value)
