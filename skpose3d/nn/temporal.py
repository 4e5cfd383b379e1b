"""The dilated temporal convolution network of Pavllo et al. (CVPR 2019, §3).

One set of parameters serves two forward forms:

* :meth:`TemporalConvNet.forward` — dilated, "valid" convolutions over whole sequences (inference);
* :meth:`TemporalConvNet.forward_strided` — the optimised one-frame form used for training
  (Appendix A.6): convolutions with stride equal to the filter width and no dilation, applied to
  clips exactly one receptive field long.

Both call :func:`torch.nn.functional.conv1d` with the same weight tensors, so no weights are ever
copied between a training and an inference model.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .dropout import bn_relu_dropout
from .products import onednn_linear, window_linear


def check_filter_widths(filter_widths: Sequence[int]) -> tuple[int, ...]:
    """Validate filter widths and return them as a tuple of ints.

    Parameters
    ----------
    filter_widths : sequence of int
        Width of the first convolution followed by the width of each residual block's
        convolution. Each must be a positive odd integer.

    Returns
    -------
    tuple of int
    """
    try:
        widths = tuple(filter_widths)
    except TypeError:
        raise TypeError(
            f"filter_widths must be a sequence of odd positive ints, got {filter_widths!r}"
        ) from None
    if len(widths) == 0:
        raise ValueError("filter_widths must contain at least one width, got an empty sequence")
    for i, w in enumerate(widths):
        if isinstance(w, bool) or not isinstance(w, numbers.Integral):
            raise TypeError(f"filter_widths[{i}] must be an int, got {w!r}")
        if w < 1 or w % 2 == 0:
            raise ValueError(
                f"filter_widths[{i}] = {w}: every filter width must be odd and positive "
                "(the output frame sits at the centre of each window)"
            )
    return tuple(int(w) for w in widths)


def receptive_field(filter_widths: Sequence[int]) -> int:
    """Number of input frames that one output frame depends on (the product of the widths)."""
    return math.prod(check_filter_widths(filter_widths))


class TemporalConvNet(nn.Module):
    """Dilated temporal convolution network lifting 2D keypoint sequences to 3D.

    Parameters
    ----------
    n_joints_in : int
        Number of input keypoints per frame.
    in_features : int
        Values per input keypoint (2 for x, y; 3 with a confidence channel).
    n_joints_out : int
        Number of output joints.
    filter_widths : sequence of int, default=(3, 3, 3)
        Odd widths: the first convolution, then one per residual block. The dilation of block
        ``i`` is the product of the widths before it; the receptive field is their product.
    channels : int, default=1024
        Width (feature channels) of every hidden layer.
    dropout : float, default=0.25
        Dropout probability after every hidden ReLU.
    causal : bool, default=False
        If True, the output for frame ``t`` depends on frames ``<= t`` only.
    out_features : int, default=3
        Values per output joint.

    Attributes
    ----------
    dropout : torch.nn.Dropout
        Holds the dropout probability ``dropout.p`` that every hidden layer applies in train
        mode. The forward passes do not call this module: they apply the same inverted dropout
        with a cheaper mask (:func:`~skpose3d.nn.dropout.bn_relu_dropout`), reading ``dropout.p``
        on every call, so changing it (or :meth:`set_dropout`) takes effect at once.

    Examples
    --------
    >>> import torch
    >>> net = TemporalConvNet(17, 2, 17, filter_widths=(3, 3, 3), channels=64).eval()
    >>> net.receptive_field
    27
    >>> net(torch.zeros(1, 30, 17, 2)).shape
    torch.Size([1, 4, 17, 3])
    """

    def __init__(
        self,
        n_joints_in: int,
        in_features: int,
        n_joints_out: int,
        filter_widths: Sequence[int] = (3, 3, 3),
        channels: int = 1024,
        dropout: float = 0.25,
        causal: bool = False,
        out_features: int = 3,
    ):
        super().__init__()
        self.filter_widths = check_filter_widths(filter_widths)
        self.n_joints_in, self.in_features = int(n_joints_in), int(in_features)
        self.n_joints_out, self.out_features = int(n_joints_out), int(out_features)
        self.causal = bool(causal)
        widths = self.filter_widths
        self.expand_conv = nn.Conv1d(n_joints_in * in_features, channels, widths[0], bias=False)
        self.expand_bn = nn.BatchNorm1d(channels, momentum=0.1)
        self.block_convs = nn.ModuleList()
        self.block_bns = nn.ModuleList()
        for width in widths[1:]:
            self.block_convs.append(nn.Conv1d(channels, channels, width, bias=False))
            self.block_convs.append(nn.Conv1d(channels, channels, 1, bias=False))
            self.block_bns.append(nn.BatchNorm1d(channels, momentum=0.1))
            self.block_bns.append(nn.BatchNorm1d(channels, momentum=0.1))
        self.shrink = nn.Conv1d(channels, n_joints_out * out_features, 1)
        self.dropout = nn.Dropout(dropout)
        # Dilation of block i is the product of all widths before it (paper, Fig. 2).
        self.dilations = tuple(math.prod(widths[:i]) for i in range(len(widths)))

    @property
    def receptive_field(self) -> int:
        """Input frames needed for one output frame."""
        return math.prod(self.filter_widths)

    @property
    def pad(self) -> int:
        """Frames consumed on each side by the non-causal dilated form (``(rf - 1) // 2``)."""
        return (self.receptive_field - 1) // 2

    def set_bn_momentum(self, momentum: float) -> None:
        """Set the momentum of every BatchNorm layer (the paper decays it each epoch)."""
        for module in self.modules():
            if isinstance(module, nn.BatchNorm1d):
                module.momentum = momentum

    def set_dropout(self, p: float) -> TemporalConvNet:
        """Set the dropout probability of every hidden layer; returns the network."""
        if not 0 <= p < 1:
            raise ValueError(f"dropout must be in [0, 1), got {p!r}")
        self.dropout.p = float(p)
        return self

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[2:] != (self.n_joints_in, self.in_features):
            raise ValueError(
                f"expected input of shape (batch, frames, {self.n_joints_in}, "
                f"{self.in_features}), got {tuple(x.shape)}"
            )

    def _to_channels(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return x.flatten(2).transpose(1, 2)

    def _to_joints(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).unflatten(2, (self.n_joints_out, self.out_features))

    def _activate(self, bn, x):
        # The semantics of nn.Dropout(self.dropout.p) (inverted dropout), but a cheaper mask:
        # nn.Dropout's Bernoulli sampling took ~30% of a training step on CPU.
        return bn_relu_dropout(x, bn, self.dropout.p, self.training)

    def _layer(self, conv, bn, x, dilation=1):
        """Dilated convolution on ``(batch, channels, frames)``, BatchNorm, ReLU, dropout."""
        return self._activate(bn, F.conv1d(x, conv.weight, None, dilation=dilation))

    def _window_layer(self, conv, bn, rows, width):
        """Convolution with stride ``width`` on frame rows ``(batch * frames, channels)``.

        The rows of each window of ``width`` consecutive frames are contiguous, so the whole
        layer is one matrix product with the kernel laid out as ``(C_out, width * C_in)``: no
        im2col copy, and the product runs on oneDNN's matmul (:func:`onednn_linear`), which on
        CPU trains about twice as fast as the equivalent strided ``conv1d``.
        """
        weight = conv.weight
        kernel = weight.permute(0, 2, 1).reshape(weight.shape[0], -1)
        return self._activate(bn, onednn_linear(rows.reshape(-1, kernel.shape[1]), kernel))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Dilated form over whole sequences.

        Parameters
        ----------
        x : Tensor of shape (batch, frames, n_joints_in, in_features)
            ``frames >= receptive_field``.

        Returns
        -------
        Tensor of shape (batch, frames - receptive_field + 1, n_joints_out, out_features)
            Output ``k`` belongs to input frame ``k + pad`` (centre of its window), or to
            input frame ``k + receptive_field - 1`` when ``causal``.
        """
        x = self._layer(self.expand_conv, self.expand_bn, self._to_channels(x))
        for i, width in enumerate(self.filter_widths[1:]):
            dilation = self.dilations[i + 1]
            pad = (width - 1) * dilation // 2
            shift = pad if self.causal else 0
            res = x[:, :, pad + shift : x.shape[2] - pad + shift]
            x = self._layer(self.block_convs[2 * i], self.block_bns[2 * i], x, dilation=dilation)
            x = res + self._layer(self.block_convs[2 * i + 1], self.block_bns[2 * i + 1], x)
        return self._to_joints(self.shrink(x))

    def forward_strided(self, x: torch.Tensor) -> torch.Tensor:
        """One-frame training form on clips of exactly ``receptive_field`` frames.

        Parameters
        ----------
        x : Tensor of shape (batch, receptive_field, n_joints_in, in_features)

        Returns
        -------
        Tensor of shape (batch, 1, n_joints_out, out_features)
            Equal (in eval mode) to :meth:`forward` on the same clip.
        """
        if x.ndim == 4 and x.shape[1] != self.receptive_field:
            raise ValueError(
                f"forward_strided needs clips of {self.receptive_field} frames, got {x.shape[1]}"
            )
        self._check_input(x)
        widths = self.filter_widths
        # Activations are rows (batch * frames, channels), frames of one clip consecutive:
        # a stride-w convolution then maps each run of w rows to one row.
        h = self._window_layer(self.expand_conv, self.expand_bn, x.flatten(2), widths[0])
        for i, width in enumerate(widths[1:]):
            # The residual keeps the frame the window's output belongs to: its centre,
            # or its last frame when causal.
            weight = self.block_convs[2 * i].weight
            kernel = weight.permute(0, 2, 1).reshape(weight.shape[0], -1)
            z, res = window_linear(h, kernel, width, width - 1 if self.causal else width // 2)
            h = self._activate(self.block_bns[2 * i], z)
            h = res + self._window_layer(
                self.block_convs[2 * i + 1], self.block_bns[2 * i + 1], h, 1
            )
        out = F.linear(h, self.shrink.weight[:, :, 0], self.shrink.bias)
        return out.view(len(x), 1, self.n_joints_out, self.out_features)
