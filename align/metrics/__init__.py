"""Metrics: translation quality, representation similarity, and statistics."""
from .similarity import (SIMILARITY, cka, cknna, cycle_knn, get_scorer, mutual_knn, prepare_features, rsa,
                         self_neighbours, svcca, unbiased_cka)
from .stats import bootstrap_ci, paired_permutation_test
from .translation import translation_ranks, translation_scores

__all__ = ["translation_ranks", "translation_scores", "bootstrap_ci", "paired_permutation_test",
           "SIMILARITY", "prepare_features", "mutual_knn", "cycle_knn", "cka", "unbiased_cka", "cknna", "svcca",
           "rsa", "self_neighbours", "get_scorer"]
