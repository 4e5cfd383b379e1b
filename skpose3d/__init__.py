"""skpose3d: 3D human pose estimation in video, scikit-learn style."""

__version__ = "0.1.0"
