"""Read what 2D keypoint detectors write; write the lifted 3D poses.

:func:`read_keypoints` reads COCO keypoint results, OpenPose JSON folders, MediaPipe Pose
landmarks (CSV or JSON) and AlphaPose results into keypoint videos in pixels, ready for::

    GapFiller() -> KeypointMapper(found.skeleton, "h36m") -> ScreenNormalizer(size) -> lifter

:func:`write_poses` saves 3D poses to ``.npz`` or ``.csv``; :func:`read_poses` reads them back.
"""

from ._common import KeypointFile, KeypointFileError
from ._poses import PoseFile, read_poses, write_poses
from ._read import FORMATS, detect_format, read_keypoints

__all__ = [
    "FORMATS",
    "KeypointFile",
    "KeypointFileError",
    "PoseFile",
    "detect_format",
    "read_keypoints",
    "read_poses",
    "write_poses",
]

# Documented and pickled as skpose3d.io.<name>, where users import them from.
_PUBLIC = (KeypointFile, KeypointFileError, PoseFile, detect_format, read_keypoints)
for _obj in (*_PUBLIC, read_poses, write_poses):
    _obj.__module__ = __name__
del _obj, _PUBLIC
