"""Recipes: end-to-end studies that users run (``align recipe NAME --set key=value``).

Each recipe module defines a ``Config`` dataclass and ``run(config) -> Path`` (the run folder).
"""
from __future__ import annotations

import importlib

from ..exceptions import ValidationError

RECIPES = {
    "align_unshared": "align.recipes.align_unshared",
    "paired_vs_unpaired": "align.recipes.paired_vs_unpaired",
    "platonic_convergence": "align.recipes.platonic_convergence",
    "semantic_hub": "align.recipes.semantic_hub",
}


def get_recipe(name: str):
    """The module of recipe ``name`` (imported on demand: each recipe pulls in its own stack).

    Parameters
    ----------
    name : str
        A key of :data:`RECIPES`.

    Returns
    -------
    module
        It defines ``Config`` and ``run(config) -> Path``.

    Raises
    ------
    ValidationError
        For an unknown name.
    """
    if name not in RECIPES:
        raise ValidationError(f"unknown recipe {name!r}; available: {', '.join(sorted(RECIPES))}")
    return importlib.import_module(RECIPES[name])
