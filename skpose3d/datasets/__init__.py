"""Data: bundled CMU motion capture, virtual camera views with detector-like noise, Human3.6M.

- :func:`~skpose3d.datasets.load_cmu_mocap`: 49 real motion-capture clips (5.7 min, 6
  subjects) in the Human3.6M 17-joint layout, bundled with the package (3D only; see its
  ``DESCR`` for source and licence).
- :func:`~skpose3d.datasets.make_views`: films 3D world videos with virtual cameras (Human3.6M
  intrinsics, lens distortion) and adds a seeded 2D detector noise model
  (:class:`~skpose3d.datasets.DetectorNoise`), giving ``(keypoints, poses_3d)`` training pairs
  like a real capture setup.
- :func:`~skpose3d.datasets.load_h36m`: reads the community's Human3.6M files in the
  VideoPose3D npz layout.

Every name is importable from here; by concern they live in :mod:`~skpose3d.datasets.bundled`
(bundled motion), :mod:`~skpose3d.datasets.views` (virtual cameras, bone lengths, filming),
:mod:`~skpose3d.datasets.noise` (detector noise) and :mod:`~skpose3d.datasets.h36m`.
"""

from .bundled import CMU_TEST_SUBJECTS, CMU_TRAIN_SUBJECTS, load_cmu_mocap
from .h36m import H36M_TEST_SUBJECTS, H36M_TRAIN_SUBJECTS, load_h36m
from .noise import DetectorNoise
from .views import VirtualCamera, default_cameras, make_views, scale_bones

__all__ = [
    "CMU_TEST_SUBJECTS",
    "CMU_TRAIN_SUBJECTS",
    "H36M_TEST_SUBJECTS",
    "H36M_TRAIN_SUBJECTS",
    "DetectorNoise",
    "VirtualCamera",
    "default_cameras",
    "load_cmu_mocap",
    "load_h36m",
    "make_views",
    "scale_bones",
]
