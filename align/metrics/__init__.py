"""Metrics: translation quality, representation similarity, and statistics."""
from .stats import bootstrap_ci, paired_permutation_test
from .translation import translation_ranks, translation_scores

__all__ = ["translation_ranks", "translation_scores", "bootstrap_ci", "paired_permutation_test"]
from .translation import summarize_items, translation_ci, translation_items  # noqa: E402

__all__ += ["translation_items", "summarize_items", "translation_ci"]
