"""Pose error metrics of the paper's protocols, usable as scikit-learn scorers.

Every metric takes ``(y_true, y_pred)`` in one of three forms (both arguments the same form):
one video ``(T, J, 3)``, a batch ``(N, T, J, 3)``, or a list / tuple / 1-D object array of videos
``(T_i, J, 3)`` of different lengths (what ``predict`` returns and what scikit-learn's scorers
receive). The result is the mean over all frames of all videos (every frame counts once), in the
units of the input: metres in, metres out (multiply by 1000 for the paper's millimetres).

Every name is importable from here; the metric functions live in
:mod:`~skpose3d.metrics.pose_errors`, the scorers in :mod:`~skpose3d.metrics.scorers`.
"""

from .pose_errors import mpjpe, mpjve, n_mpjpe, p_mpjpe, weighted_mpjpe
from .scorers import (
    SCORERS,
    get_scorer,
    neg_mpjpe_scorer,
    neg_mpjve_scorer,
    neg_n_mpjpe_scorer,
    neg_p_mpjpe_scorer,
)

__all__ = [
    "mpjpe",
    "weighted_mpjpe",
    "p_mpjpe",
    "n_mpjpe",
    "mpjve",
    "neg_mpjpe_scorer",
    "neg_p_mpjpe_scorer",
    "neg_n_mpjpe_scorer",
    "neg_mpjve_scorer",
    "SCORERS",
    "get_scorer",
]
