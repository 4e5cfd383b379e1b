"""Data that ships with skpose3d: the CMU motion capture clips, and where bundled files live.

The files are in ``skpose3d/data/`` (installed with the package, see ``setup.cfg``
``package_data``); ``bundled_file`` finds them whether the package is a source checkout,
an installed wheel or a zip.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from ..skeleton import H36M

__all__ = ["CMU_TEST_SUBJECTS", "CMU_TRAIN_SUBJECTS", "load_cmu_mocap"]

CMU_TRAIN_SUBJECTS = (1, 2, 3, 5)
"""tuple of int : CMU subjects the demo and the accuracy benchmark train on (13,990 frames)."""
CMU_TEST_SUBJECTS = (6, 7)
"""tuple of int : Held-out CMU subjects (walks, basketball dribbling; 6,498 frames)."""


def bundled_file(name: str):
    """The bundled data file ``name`` (e.g. ``"cmu_mocap17.npz"``) as an importlib resource.

    Use ``.open("rb")`` or ``.read_text()`` on it; it need not be a file on disk (zipped
    installs), so do not pass it where a path string is required.
    """
    return resources.files("skpose3d").joinpath("data", name)


def load_cmu_mocap(*, subjects=None) -> Bunch:
    """Load the bundled CMU motion capture (49 clips, 20,488 frames at 60 fps, 17 joints).

    Parameters
    ----------
    subjects : sequence of int, optional
        Keep only the clips of these CMU subjects (1, 2, 3, 5, 6, 7); default all.

    Returns
    -------
    Bunch
        ``videos`` (list of float32 ``(T, 17, 3)``: world coordinates, metres, z up, each clip's
        pelvis starting at x = y = 0), ``subjects`` and ``trials`` (int arrays, one per clip),
        ``names`` (``"SSS_TT"``), ``fps`` (60.0), ``skeleton`` (:data:`skpose3d.skeleton.H36M`)
        and ``DESCR`` (the datasheet: source, licence, caveats). All clips share one retargeted
        body; see :func:`~skpose3d.datasets.make_views` ``bone_scale`` for per-subject proportions.

    Examples
    --------
    >>> from skpose3d.datasets import load_cmu_mocap
    >>> data = load_cmu_mocap(subjects=[7])
    >>> len(data.videos), data.videos[0].shape, data.names[0], data.fps
    (12, (157, 17, 3), '007_01', 60.0)
    """
    with bundled_file("cmu_mocap17.npz").open("rb") as fh, np.load(fh) as data:
        positions = data["positions"]
        bounds = np.cumsum(data["lengths"])[:-1]
        all_subjects, all_trials = data["subjects"].copy(), data["trials"].copy()
        fps = float(data["fps"])
    videos = np.split(positions, bounds)
    keep = np.ones(len(videos), dtype=bool)
    if subjects is not None:
        wanted = np.atleast_1d(np.asarray(subjects)).astype(int)
        unknown = sorted(set(wanted.tolist()) - set(all_subjects.tolist()))
        if unknown:
            raise ValueError(
                f"subjects={unknown} are not in the CMU data; valid subjects are "
                f"{sorted(set(all_subjects.tolist()))}"
            )
        keep = np.isin(all_subjects, wanted)
    return Bunch(
        videos=[np.ascontiguousarray(v) for v, k in zip(videos, keep) if k],
        subjects=all_subjects[keep],
        trials=all_trials[keep],
        names=[f"{s:03d}_{t:02d}" for s, t in zip(all_subjects[keep], all_trials[keep])],
        fps=fps,
        skeleton=H36M,
        DESCR=bundled_file("cmu_mocap17.md").read_text(encoding="utf-8"),
    )
