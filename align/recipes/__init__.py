"""Recipes: end-to-end studies that users run (``align recipe NAME --set key=value``).

Each recipe module defines a ``Config`` dataclass and ``run(config) -> Path`` (the run folder).
"""
from __future__ import annotations

import importlib

RECIPES = {
    "align_unshared": "align.recipes.align_unshared",
    "paired_vs_unpaired": "align.recipes.paired_vs_unpaired",
    "platonic_convergence": "align.recipes.platonic_convergence",
    "semantic_hub": "align.recipes.semantic_hub",
}


def get_recipe(name: str):
    from ..exceptions import ValidationError
    if name not in RECIPES:
        raise ValidationError(f"unknown recipe {name!r}; available: {', '.join(sorted(RECIPES))}")
    return importlib.import_module(RECIPES[name])
