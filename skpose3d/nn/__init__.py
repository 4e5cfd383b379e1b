"""Torch modules and tensor functions of skpose3d; they need torch only (no scikit-learn).

The temporal convolution network (:mod:`~skpose3d.nn.temporal`), its fused inference form
(:mod:`~skpose3d.nn.fused`, :mod:`~skpose3d.nn.inference`), the training form's cheaper
dropout and matrix products (:mod:`~skpose3d.nn.dropout`, :mod:`~skpose3d.nn.products`),
causal streaming (:mod:`~skpose3d.nn.streaming`), the projection layer and lens model
(:mod:`~skpose3d.nn.projection`, :mod:`~skpose3d.nn.lens`) and the losses
(:mod:`~skpose3d.nn.losses`). Nothing in this package imports the rest of skpose3d.

Names load on first use (PEP 562), so ``import skpose3d.nn`` alone imports neither torch nor any
submodule; :mod:`skpose3d.camera` relies on that to use the torch-free lens model.
"""

import importlib as _importlib

# Public name -> submodule that defines it.
_NAMES = {
    "TemporalConvNet": "temporal",
    "check_filter_widths": "temporal",
    "receptive_field": "temporal",
    "FusedTemporalConvNet": "fused",
    "predict_sequence": "inference",
    "CausalStreamer": "streaming",
    "ProjectionLayer": "projection",
    "project_to_screen": "projection",
    "apply_intrinsics": "lens",
    "mpjpe_loss": "losses",
    "weighted_mpjpe_loss": "losses",
    "bone_lengths": "losses",
    "bone_length_loss": "losses",
    "multi_view_loss": "losses",
}
_SUBMODULES = (
    "dropout", "fused", "inference", "lens", "losses", "products", "projection", "streaming",
    "temporal",
)  # fmt: skip

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        value = getattr(_importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    # Tab completion offers the public API, not this module's helpers.
    return sorted(set(__all__ + list(_SUBMODULES)))
