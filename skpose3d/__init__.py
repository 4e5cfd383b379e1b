"""skpose3d: 3D human pose estimation in video with temporal convolutions, scikit-learn style.

The most used names are importable from here; they, and the submodules (``skpose3d.metrics``,
``skpose3d.datasets``, ``skpose3d.pretrained``, ...), load on first use (PEP 562), so
``import skpose3d`` stays cheap and ``import skpose3d.nn`` does not pull in scikit-learn.
"""

import importlib as _importlib
import pkgutil as _pkgutil
from typing import TYPE_CHECKING as _TYPE_CHECKING

__version__ = "0.1.0"

# Public name -> submodule that defines it.
_NAMES = {
    "Intrinsics": "camera",
    "TemporalPoseLifter": "lifters",
    "SemiSupervisedLifter": "semi_supervised",
    "UnlabeledVideos": "semi_supervised",
    "Skeleton": "skeleton",
    "get_skeleton": "skeleton",
    "StreamingLifter": "streaming",
    "load": "persistence",
    "load_model": "persistence",
    "save": "persistence",
    "save_model": "persistence",
}

__all__ = [  # the keys of _NAMES, written out so that linters see what is exported
    "Intrinsics",
    "SemiSupervisedLifter",
    "Skeleton",
    "StreamingLifter",
    "TemporalPoseLifter",
    "UnlabeledVideos",
    "get_skeleton",
    "load",
    "load_model",
    "save",
    "save_model",
    "__version__",
]

if _TYPE_CHECKING:  # static analysers and IDEs see the names without the lazy loading
    from .camera import Intrinsics
    from .lifters import TemporalPoseLifter
    from .persistence import load, load_model, save, save_model
    from .semi_supervised import SemiSupervisedLifter, UnlabeledVideos
    from .skeleton import Skeleton, get_skeleton
    from .streaming import StreamingLifter


def _submodules() -> list[str]:
    # Public modules and subpackages; ``__main__`` is left out since importing it runs the CLI.
    return sorted(
        info.name for info in _pkgutil.iter_modules(__path__) if not info.name.startswith("_")
    )


def __getattr__(name):
    if name in _NAMES:
        value = getattr(_importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _submodules():
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    # Tab completion offers the public API, not this module's helpers.
    return sorted(set(__all__ + _submodules()))
