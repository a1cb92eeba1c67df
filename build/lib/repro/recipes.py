"""Recipes: YAML files under recipes/<setting>/ resolved into a RunSpec.

A recipe may `include:` other files (paths relative to it); later files win, key by
key. Dotted `key=value` overrides are applied last (values parsed as YAML). Every
validation error names the key path and, for unknown keys, the valid ones.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from repro.errors import RecipeError, UnknownNameError
from repro.sections import format_validation_error, validate_section
from repro.spec import RunSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RECIPE = "imdb"


def recipes_dir() -> Path:
    return Path(os.environ.get("REPRO_RECIPES", REPO_ROOT / "recipes"))


def recipe_names() -> list[str]:
    """'imdb' for recipes/imdb/base.yaml, 'imdb/smoke' for recipes/imdb/smoke.yaml."""
    names = []
    for path in sorted(recipes_dir().glob("*/*.yaml")):
        setting, stem = path.parent.name, path.stem
        names.append(setting if stem == "base" else f"{setting}/{stem}")
    return names


def recipe_path(name: str) -> Path:
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return Path(name).resolve()
    setting, _, variant = name.partition("/")
    path = recipes_dir() / setting / f"{variant or 'base'}.yaml"
    if not path.is_file():
        raise UnknownNameError("recipe", name, recipe_names())
    return path


def deep_merge(base: dict, top: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_yaml_with_includes(path: Path, _seen: tuple[Path, ...] = ()) -> dict:
    if path in _seen:
        raise RecipeError(f"include cycle: {' -> '.join(map(str, _seen + (path,)))}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise RecipeError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping, got {type(data).__name__}")
    includes = data.pop("include", [])
    merged: dict = {}
    for inc in [includes] if isinstance(includes, str) else includes:
        inc_path = (path.parent / inc).resolve()
        if not inc_path.is_file():
            raise RecipeError(f"{path}: include '{inc}' not found at {inc_path}")
        merged = deep_merge(merged, read_yaml_with_includes(inc_path, _seen + (path,)))
    return deep_merge(merged, data)


def apply_override(data: dict, override: str) -> dict:
    key, sep, raw = override.partition("=")
    if not sep or not key:
        raise RecipeError(f"override '{override}' is not of the form key.path=value")
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise RecipeError(f"override '{key}': '{part}' is not a section")
    node[parts[-1]] = yaml.safe_load(raw) if raw else raw
    return data


def load_recipe(name: str = DEFAULT_RECIPE, overrides: list[str] | tuple[str, ...] = (), seed: int | None = None) -> RunSpec:
    path = recipe_path(name)
    data = read_yaml_with_includes(path)
    data.setdefault("setting", path.parent.name if path.stem == "base" else f"{path.parent.name}-{path.stem}")
    for override in overrides:
        apply_override(data, override)
    if seed is not None:
        data["seed"] = seed
    try:
        spec = RunSpec.model_validate(data)
    except ValidationError as e:
        raise RecipeError(f"{path}:\n{format_validation_error(e, RunSpec)}") from None
    except RecipeError as e:  # a component's own section (world, eval.<name>) names its key path itself
        raise RecipeError(f"{path}:\n{e}") from None
    validate_methods(spec)
    return spec


def validate_methods(spec: RunSpec) -> None:
    """Check each method section against its method's Config (worlds and evaluators check theirs while the
    spec validates)."""
    from repro.registry import METHODS

    for method_name in spec.methods:
        METHODS.get(method_name).config_from(spec)  # raises RecipeError naming methods.<name>.<key>


def method_config(config_model: type[BaseModel], spec: RunSpec, name: str) -> Any:
    return validate_section(config_model, spec.methods.get(name, {}), prefix=f"methods.{name}.")
