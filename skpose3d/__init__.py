"""skpose3d: 3D human pose estimation in video with temporal convolutions, scikit-learn style."""

from .camera import Intrinsics
from .lifters import TemporalPoseLifter
from .skeleton import Skeleton, get_skeleton

__version__ = "0.1.0"

__all__ = ["Intrinsics", "Skeleton", "TemporalPoseLifter", "get_skeleton", "__version__"]
