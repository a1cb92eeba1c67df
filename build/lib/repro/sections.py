"""Validation errors a user can act on: every message names the recipe key path and, for unknown keys, the
valid ones with a "did you mean". Shared by the run spec and by every component that owns a section of a
recipe (a method's `methods.<name>`, a world's `world`, an evaluator's `eval.<name>`).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError

from repro.errors import RecipeError

M = TypeVar("M", bound=BaseModel)


def _tagged_members(annotation) -> dict[str, type[BaseModel]]:
    """Members of a discriminated union by tag (`world`, `model`): pydantic puts the tag into
    error locations (world.imdb.n_sft), which the messages below step over."""
    members = {}
    for arg in get_args(annotation):
        if get_origin(arg) is Annotated:
            base, *meta = get_args(arg)
            members.update({m.tag: base for m in meta if isinstance(m, Tag)})
        else:
            members.update(_tagged_members(arg))
    return members


def _walk(loc: tuple, model: type[BaseModel]) -> tuple[type[BaseModel] | None, list[str]]:
    """The pydantic model that owns the field at loc[:-1] (to list valid keys) and the recipe
    key path of loc with union tags removed."""
    parts, shown, owner = [str(p) for p in loc], [], model
    i = 0
    while i < len(parts) - 1:
        shown.append(parts[i])
        ann = getattr(owner.model_fields.get(parts[i]) if owner else None, "annotation", None)
        members = _tagged_members(ann)
        optional = [a for a in get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            owner = ann
        elif len(optional) == 1 and not members:  # an optional section, e.g. eval.mt_bench
            owner = optional[0]
        elif members and parts[i + 1] in members and i + 1 < len(parts) - 1:
            owner = members[parts[i + 1]]
            i += 1  # the tag is not a recipe key
        else:
            owner = None
        i += 1
    return owner, shown + parts[-1:]


def format_validation_error(err: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    lines = []
    for e in err.errors():
        owner, shown = _walk(tuple(e["loc"]), model)
        path = prefix + ".".join(shown)
        if e["type"] == "extra_forbidden":
            lines.append(str(unknown_key(path, shown[-1], list(owner.model_fields) if owner else [])))
        else:
            lines.append(f"recipe key '{path}': {e['msg']} (got {e.get('input')!r})")
    return "\n".join(lines)


def validate_section(model: type[M], data: Any, prefix: str) -> M:
    """`data` validated by a component's config class; errors name keys as `<prefix><key>`."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as e:
        raise RecipeError(format_validation_error(e, model, prefix=prefix)) from None


def unknown_key(path: str, key: str, valid: list[str]) -> RecipeError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return RecipeError(f"unknown recipe key '{path}'.{hint} Valid keys here: {', '.join(sorted(valid))}")
