"""Scorers of the pose errors for ``scoring=`` in scikit-learn's model selection.

Each scorer returns minus its error (greater is better) and compares the poses at the scored
estimator's own root joint: ``output_skeleton_.root`` of a fitted skpose3d lifter, also when it
is the last step of a :class:`~sklearn.pipeline.Pipeline` or the best estimator of a search.
Estimators without an output skeleton are scored at joint 0, the metrics' default.
"""

from __future__ import annotations

from sklearn.metrics import get_scorer as _sklearn_get_scorer

# The private base class is what make_scorer returns; subclassing it (rather than wrapping
# a plain callable) keeps the prediction cache of multi-metric scoring: one predict per fold
# for all four scorers.
from sklearn.metrics._scorer import _Scorer

from .pose_errors import mpjpe, mpjve, n_mpjpe, p_mpjpe

__all__ = [
    "SCORERS",
    "get_scorer",
    "neg_mpjpe_scorer",
    "neg_mpjve_scorer",
    "neg_n_mpjpe_scorer",
    "neg_p_mpjpe_scorer",
]


def _output_skeleton(estimator):
    """The output skeleton of a fitted estimator, looking through pipelines and searches."""
    for _ in range(16):  # bounded: a wrapper that wraps itself must not loop forever
        skeleton = getattr(estimator, "output_skeleton_", None)
        if skeleton is not None:
            return skeleton
        if hasattr(estimator, "steps"):  # a Pipeline: its final step predicts the poses
            estimator = estimator.steps[-1][1]
        elif hasattr(estimator, "best_estimator_"):  # a fitted search scored as a whole
            estimator = estimator.best_estimator_
        else:
            return None
    return None


class _PoseScorer(_Scorer):
    """``scorer(estimator, X, y)``: minus a pose error at the estimator's output root joint.

    Built like ``make_scorer(metric, greater_is_better=False)``; the one difference is the
    ``root`` given to the metric: the output skeleton of the scored estimator (looked up by
    ``_output_skeleton``), unless ``root`` is passed explicitly as scoring metadata.
    """

    def __init__(self, metric):
        super().__init__(metric, sign=-1, kwargs={}, response_method="predict")

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        if "root" not in kwargs:
            skeleton = _output_skeleton(estimator)
            if skeleton is not None:
                kwargs["root"] = skeleton
        return super()._score(method_caller, estimator, X, y_true, **kwargs)


neg_mpjpe_scorer = _PoseScorer(mpjpe)
"""Scorer: minus :func:`~skpose3d.metrics.mpjpe` at the estimator's output root joint."""
neg_p_mpjpe_scorer = _PoseScorer(p_mpjpe)
"""Scorer: minus :func:`~skpose3d.metrics.p_mpjpe` (Procrustes-aligned MPJPE)."""
neg_n_mpjpe_scorer = _PoseScorer(n_mpjpe)
"""Scorer: minus :func:`~skpose3d.metrics.n_mpjpe` at the estimator's output root joint."""
neg_mpjve_scorer = _PoseScorer(mpjve)
"""Scorer: minus :func:`~skpose3d.metrics.mpjve` at the estimator's output root joint."""

#: Scorers by name, for ``scoring=SCORERS`` in multi-metric search (greater is better).
SCORERS = {
    "neg_mpjpe": neg_mpjpe_scorer,
    "neg_p_mpjpe": neg_p_mpjpe_scorer,
    "neg_n_mpjpe": neg_n_mpjpe_scorer,
    "neg_mpjve": neg_mpjve_scorer,
}


def get_scorer(name):
    """The scorer called ``name``: one of :data:`SCORERS`, else scikit-learn's.

    Parameters
    ----------
    name : str or callable
        ``"neg_mpjpe"``, ``"neg_p_mpjpe"``, ``"neg_n_mpjpe"`` or ``"neg_mpjve"``; anything else
        is passed to :func:`sklearn.metrics.get_scorer`.

    Returns
    -------
    callable
        A scorer ``scorer(estimator, X, y)``; greater is better.

    Examples
    --------
    >>> get_scorer("neg_p_mpjpe") is SCORERS["neg_p_mpjpe"]
    True
    >>> get_scorer("r2")
    make_scorer(r2_score, response_method='predict')
    """
    if isinstance(name, str) and name in SCORERS:
        return SCORERS[name]
    return _sklearn_get_scorer(name)
