"""skpose3d: 3D human pose estimation in video with temporal convolutions, scikit-learn style."""

from .camera import Intrinsics
from .lifters import TemporalPoseLifter
from .persistence import load_model
from .semi_supervised import SemiSupervisedLifter, UnlabeledVideos
from .skeleton import Skeleton, get_skeleton
from .streaming import StreamingLifter

__version__ = "0.1.0"

__all__ = [
    "Intrinsics",
    "SemiSupervisedLifter",
    "Skeleton",
    "StreamingLifter",
    "TemporalPoseLifter",
    "UnlabeledVideos",
    "get_skeleton",
    "load_model",
    "__version__",
]
