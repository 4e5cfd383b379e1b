"""Checks and settings behind the lifters' run-time parameters: device, threads, precision, presets.

Internal API shared by :mod:`skpose3d.lifters`, :mod:`skpose3d.semi_supervised` and
:mod:`skpose3d.streaming`; the lifters' docstrings document the user-facing meaning.
"""

from __future__ import annotations

import contextlib
import numbers
import re
import warnings

import torch
from sklearn.utils._param_validation import Interval, StrOptions

PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# The paper's two training configurations (§5.3 and its published setup). Only the lifter's own
# parameters: the HumanEva skeleton (15 joints) is not bundled, so the joints stay the user's.
PAPER_CONFIGS = {
    "h36m": dict(
        filter_widths=(3, 3, 3, 3, 3), channels=1024, dropout=0.25, n_epochs=80,
        batch_size=1024, learning_rate=1e-3, lr_decay=0.95,
    ),
    "humaneva": dict(
        filter_widths=(3, 3, 3), channels=1024, dropout=0.25, n_epochs=1000,
        batch_size=128, learning_rate=1e-3, lr_decay=0.996,
    ),
}  # fmt: skip

# scikit-learn's validation of TemporalPoseLifter's parameters (the semi-supervised lifter
# extends it); the meaning of each is in the lifter's docstring.
LIFTER_CONSTRAINTS = {
    "filter_widths": ["array-like"],
    "channels": [Interval(numbers.Integral, 1, None, closed="left")],
    "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "causal": ["boolean"],
    "input_skeleton": [str, object],
    "output_skeleton": [str, object, None],
    "image_size": ["array-like", None],
    "n_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "lr_decay": [Interval(numbers.Real, 0, 1, closed="right")],
    "flip_augmentation": ["boolean"],
    "test_time_flip": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    "precision": [StrOptions(set(PRECISIONS))],
    "chunk_frames": [Interval(numbers.Integral, 1, None, closed="left")],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "trajectory": ["boolean"],
    "precise_bn": ["boolean"],
    "n_jobs": [numbers.Integral, None],
    "pose_loss": [StrOptions({"raw", "recentred"})],
}


_DEVICE_FORMS = '"auto", "cpu", "cuda", "cuda:N" or a torch.device'


def resolve_device(device) -> torch.device:
    """The torch device that ``device`` (a lifter's ``device`` parameter) names.

    ``"auto"`` → CUDA when available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` and
    ``torch.device`` objects are passed on. Anything else raises a ValueError that names the
    parameter and the allowed forms (torch's own error for ``"gpu"`` names neither).
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise ValueError(f"device must be {_DEVICE_FORMS}, got {device!r}")
    return torch.device(device)


def resolve_n_jobs(n_jobs) -> int:
    """Torch threads for one ``fit``/``predict`` call (``n_jobs`` parameter of the lifters).

    None → 1. Measured on this project's 2-core CPU while other processes kept it loaded
    (load average 4.8): a 32-channel model fitted in 0.68 s with one thread against 4.09 s
    with two and predicted in 0.046 s against 0.83 s; the default 256-channel model 1.23 s
    against 5.75 s and 0.20 s against 3.34 s. On an idle machine a second thread can at best
    halve the time (not measured: the machine was shared), so one thread costs at most 2x
    there and saves far more on a loaded machine.
    ``-1`` → every core torch sees (``torch.get_num_threads()`` outside the call); other negative
    values count back from it as in joblib (``-2`` = all but one).
    """
    if n_jobs is None:
        return 1
    if n_jobs == 0:
        raise ValueError("n_jobs must be None, a positive int or a negative int, got 0")
    if n_jobs < 0:
        return max(1, _process_threads() + 1 + int(n_jobs))
    return int(n_jobs)


_PROCESS_THREADS = torch.get_num_threads()  # torch's own default, before any call changed it


def _process_threads() -> int:
    return _PROCESS_THREADS


@contextlib.contextmanager
def torch_threads(n_jobs):
    """Run the block with ``resolve_n_jobs(n_jobs)`` torch threads, then restore the old count.

    The count is restored on exceptions too, so a lifter never changes the caller's torch
    settings. Torch's thread count is global to the process: two lifters running at the same
    time in threads of one process share it.
    """
    previous = torch.get_num_threads()
    wanted = resolve_n_jobs(n_jobs)
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def renamed_unlabeled(X2d_unlabeled, X_unlabeled):
    """``fit``'s third argument, also when given by its old keyword ``X_unlabeled``."""
    if X_unlabeled is None:
        return X2d_unlabeled
    if X2d_unlabeled is not None:
        raise TypeError("fit got both X2d_unlabeled and X_unlabeled (its old name): give one")
    warnings.warn(
        "fit's X_unlabeled was renamed X2d_unlabeled; the old name will be removed in a "
        "future version (in cross-validation: params={'X2d_unlabeled': ...})",
        FutureWarning,
        stacklevel=3,
    )
    return X_unlabeled
