"""Export a fitted lifter's inference (TorchScript, ``torch.export`` or ONNX) to run it elsewhere.

The exported model takes ``keypoints``, a float32 tensor ``(batch, frames, n_joints, C)`` — a
batch of equally long videos of any length >= 1, in the units ``predict`` takes (pixels when
the lifter has an ``image_size``) — and returns root-relative poses
``(batch, frames, n_joints_out, 3)`` equal to ``predict`` with ``precision="float32"``. Screen
normalisation, edge padding (the dilated network needs ``receptive_field - 1`` extra frames),
test-time flip (when the lifter uses it) and root centring are built into the graph, so the
caller passes raw keypoints. Whole videos go through in one pass (no chunking): split very long
videos into pieces overlapping by ``receptive_field - 1`` frames to bound memory.
"""

from __future__ import annotations

import copy
import importlib
import warnings
from pathlib import Path

import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .camera import check_image_size as _check_image_size
from .nn.inference import sequence_padding

__all__ = ["InferenceGraph", "export_onnx", "export_program", "export_torchscript"]


class InferenceGraph(nn.Module):
    """``predict`` of a fitted lifter on one batch of equally long videos, as a torch module.

    Parameters
    ----------
    lifter : TemporalPoseLifter
        Fitted. Its network is copied (float32, CPU, eval mode).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skpose3d import TemporalPoseLifter
    >>> X, y = [np.zeros((9, 17, 2))], [np.zeros((9, 17, 3))]
    >>> lifter = TemporalPoseLifter(channels=8, n_epochs=1, random_state=0).fit(X, y)
    >>> InferenceGraph(lifter)(torch.zeros(2, 5, 17, 2)).shape
    torch.Size([2, 5, 17, 3])
    """

    def __init__(self, lifter):
        super().__init__()
        check_is_fitted(lifter, "module_")
        if getattr(lifter, "trajectory_module_", None) is not None:
            raise NotImplementedError(
                "exporting a lifter with a trajectory network is not supported"
            )
        self.net = copy.deepcopy(lifter.module_).cpu().float().eval()
        self.left, self.right = sequence_padding(self.net)
        channels = lifter.n_channels_in_
        scale, offset = torch.ones(channels), torch.zeros(channels)
        size = _check_image_size(lifter.image_size)
        if size is not None:
            width, height = size
            scale[:2] = 2 / width
            offset[:2] = torch.tensor([-1.0, -height / width])
        self.register_buffer("scale", scale)
        self.register_buffer("offset", offset)
        self.flip = bool(lifter.test_time_flip)
        sign_in = torch.ones(channels)
        sign_in[0] = -1
        self.register_buffer("sign_in", sign_in)
        self.register_buffer("sign_out", torch.tensor([-1.0, 1.0, 1.0]))
        self.register_buffer("perm_in", torch.as_tensor(lifter.input_skeleton_.flip_permutation))
        self.register_buffer("perm_out", torch.as_tensor(lifter.output_skeleton_.flip_permutation))
        self.eval()

    def _padded(self, x):
        # Edge padding as a clamped gather: traces to one graph valid for every length.
        frames = x.shape[1]
        index = torch.arange(-self.left, frames + self.right, device=x.device)
        return self.net(x[:, index.clamp(0, frames - 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Poses ``(batch, frames, n_joints_out, 3)`` of keypoints ``(batch, frames, J, C)``."""
        x = x * self.scale + self.offset
        pose = self._padded(x)
        if self.flip:
            flipped = self._padded(x[:, :, self.perm_in] * self.sign_in)
            pose = (pose + flipped[:, :, self.perm_out] * self.sign_out) / 2
        return pose - pose[:, :, :1]


def _example_input(lifter) -> torch.Tensor:
    check_is_fitted(lifter, "module_")
    frames = lifter.module_.receptive_field + 2
    # Batch 2: torch.export would specialise a dynamic axis seen with size 1.
    return torch.zeros(2, frames, lifter.n_joints_in_, lifter.n_channels_in_)


def export_torchscript(lifter, path) -> Path:
    """Export a fitted lifter's inference as TorchScript, readable by ``torch.jit.load``.

    Input and output layouts are described in :mod:`skpose3d.export`. TorchScript is
    deprecated in recent torch releases (torch 2.13's ``torch.jit`` warns); for new deployments
    prefer
    :func:`export_program` or :func:`export_onnx`.

    Parameters
    ----------
    lifter : TemporalPoseLifter
        Fitted.
    path : str or path-like

    Returns
    -------
    Path

    Examples
    --------
    >>> import numpy as np, os, tempfile, torch
    >>> from skpose3d import TemporalPoseLifter
    >>> X, y = [np.zeros((9, 17, 2))], [np.zeros((9, 17, 3))]
    >>> lifter = TemporalPoseLifter(channels=8, n_epochs=1, random_state=0).fit(X, y)
    >>> path = export_torchscript(lifter, os.path.join(tempfile.mkdtemp(), "lifter.pt"))
    >>> torch.jit.load(path)(torch.zeros(1, 30, 17, 2)).shape
    torch.Size([1, 30, 17, 3])
    """
    graph = InferenceGraph(lifter)
    with torch.no_grad(), warnings.catch_warnings():
        # The network's input-shape check is a constant for the traced graph, as intended; the
        # deprecation of TorchScript is documented above.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(graph, _example_input(lifter), check_trace=False)
        torch.jit.save(traced, str(path))
    return Path(path)


def export_program(lifter, path) -> Path:
    """Export a fitted lifter's inference with :func:`torch.export` (a ``.pt2`` file).

    Read it back with ``torch.export.load(path).module()``; batch and frame axes are dynamic.
    The layouts are described in :mod:`skpose3d.export`.

    Parameters
    ----------
    lifter : TemporalPoseLifter
        Fitted.
    path : str or path-like
        Conventionally ending in ``.pt2``.

    Returns
    -------
    Path
    """
    graph = InferenceGraph(lifter)
    program = torch.export.export(
        graph, (_example_input(lifter),), dynamic_shapes={"x": _dynamic_axes()}
    )
    torch.export.save(program, str(path))
    return Path(path)


def _dynamic_axes() -> dict:
    return {0: torch.export.Dim("batch"), 1: torch.export.Dim("frames")}


def export_onnx(lifter, path, *, opset_version=None) -> Path:
    """Export a fitted lifter's inference as ONNX (needs the ``onnx`` extra).

    The graph has one input ``keypoints`` and one output ``poses_3d`` with dynamic batch and
    frame axes; the layouts are described in :mod:`skpose3d.export`.

    Parameters
    ----------
    lifter : TemporalPoseLifter
        Fitted.
    path : str or path-like
    opset_version : int or None, default=None
        ONNX opset; None lets torch choose.

    Returns
    -------
    Path

    Raises
    ------
    ImportError
        If ``onnx`` or ``onnxscript`` is not installed (``pip install onnx onnxscript``).
    """
    for name in ("onnx", "onnxscript"):
        try:
            importlib.import_module(name)
        except ImportError:
            raise ImportError(
                f"export_onnx needs the {name!r} package: pip install onnx onnxscript"
            ) from None
    graph = InferenceGraph(lifter)
    dims = _dynamic_axes()
    torch.onnx.export(
        graph, (_example_input(lifter),), str(path), input_names=["keypoints"],
        output_names=["poses_3d"], dynamic_shapes={"x": dims}, opset_version=opset_version,
        dynamo=True, verbose=False,
    )  # fmt: skip
    return Path(path)
