"""Sanity checks for attribution maps, for any PyTorch model, built on :func:`foldlens.attribute`.

Knows nothing of proteins. Each check asks whether a map explains *the model's output* rather than
merely resembling the input:

- :func:`randomization_test` (:mod:`.randomization`): the model-parameter randomization test of
  Adebayo et al. 2018, "Sanity Checks for Saliency Maps" (NeurIPS). Maps must change when the
  learned weights are re-initialised, layer by layer from the output down.
- :func:`random_target_test` (:mod:`.random_target`): maps must change when the explained output
  changes to an unrelated one.
- :func:`perturbation_test`, :func:`deletion_curve`, :func:`insertion_curve`
  (:mod:`.perturbation`): the deletion and insertion curves of Petsiuk et al. 2018, "RISE:
  Randomized Input Sampling for Explanation of Black-box Models" (BMVC). Removing the top-ranked
  positions must lower the output faster than removing random ones; restoring them first must
  raise it faster.
- :func:`follow_the_attribution` (:mod:`.follow_gradient`): the output along the line through the
  input in the map's direction.
- :func:`distance_profile`, :func:`feature_correlation` (:mod:`.profiles`): summaries of one map.

Maps are compared by :mod:`.metrics`: Spearman rank correlation of the values and of their
magnitudes, structural similarity (SSIM) and top-k overlap.

Example
-------
>>> import numpy as np
>>> from foldlens.analysis import similarity
>>> a = np.arange(12.0).reshape(3, 4)
>>> similarity(a, a, k=3)
MapSimilarity(spearman_signed=1.0, spearman_absolute=1.0, ssim=1.0, top_k=1.0)
"""

from .errors import AnalysisCancelledError
from .follow_gradient import DirectionCurve, default_epsilons, follow_the_attribution
from .metrics import (
    MapSimilarity,
    default_k,
    pearson,
    similarity,
    spearman,
    ssim,
    top_k_overlap,
)
from .perturbation import (
    Curve,
    PerturbationResult,
    deletion_curve,
    insertion_curve,
    perturbation_test,
    position_ranking,
    random_ranking,
)
from .profiles import distance_profile, feature_correlation
from .random_target import RandomTargetResult, random_target_test
from .randomization import (
    RandomizationResult,
    parameter_layers,
    randomization_test,
    randomize_layer,
    randomized_models,
    verdict,
)

__all__ = [
    "AnalysisCancelledError",
    "Curve",
    "DirectionCurve",
    "MapSimilarity",
    "PerturbationResult",
    "RandomTargetResult",
    "RandomizationResult",
    "default_epsilons",
    "default_k",
    "deletion_curve",
    "distance_profile",
    "feature_correlation",
    "follow_the_attribution",
    "insertion_curve",
    "parameter_layers",
    "pearson",
    "perturbation_test",
    "position_ranking",
    "random_ranking",
    "random_target_test",
    "randomization_test",
    "randomize_layer",
    "randomized_models",
    "similarity",
    "spearman",
    "ssim",
    "top_k_overlap",
    "verdict",
]
