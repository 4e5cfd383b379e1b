"""Inference-only network with BatchNorm folded into the convolutions: the results, faster.

:class:`FusedTemporalConvNet` is an inference-only copy of a trained
:class:`~skpose3d.nn.temporal.TemporalConvNet` with every BatchNorm folded into the convolution
before it (:func:`fold_batchnorm`; exact in eval mode, up to float rounding), run as
channels-last convolutions (oneDNN's fast layout on CPU) with no dropout calls and ReLU and
residual applied in place. Its weights can be stored once in bfloat16/float16 instead of
autocasting every operation.
"""

from __future__ import annotations

import torch
from torch import nn

from .products import as_2d_kernel, conv2d_relu, linear_relu


def fold_batchnorm(weight: torch.Tensor, bn: nn.BatchNorm1d):
    """Fold an eval-mode BatchNorm into the bias-free convolution before it.

    The one folding used by the fused inference network and the streaming layers.

    Parameters
    ----------
    weight : Tensor of shape (C_out, C_in, W)
        Weight of the convolution (no bias) whose output ``bn`` normalises.
    bn : torch.nn.BatchNorm1d
        Its running statistics and (if ``affine``) weight and bias are used.

    Returns
    -------
    weight, bias : Tensor (float64)
        ``conv(x, weight) + bias[:, None]`` equals ``bn.eval()(conv(x, original weight))``.
    """
    inv_std = torch.rsqrt(bn.running_var.double() + bn.eps)
    gamma = bn.weight.double() if bn.affine else torch.ones_like(inv_std)
    beta = bn.bias.double() if bn.affine else torch.zeros_like(inv_std)
    scale = gamma * inv_std
    return weight.double() * scale[:, None, None], beta - bn.running_mean.double() * scale


class FusedTemporalConvNet(nn.Module):
    """Inference-only copy of a :class:`TemporalConvNet` with BatchNorm folded into its convs.

    The forward pass has the contract of ``TemporalConvNet.forward`` (same input and output
    shapes, dilated "valid" form, causal or not), so :func:`~skpose3d.nn.inference.predict_sequence`
    accepts either. Each convolution is a 2D convolution of height 1 on channels-last tensors
    (memory order frames × channels), the layout in which oneDNN runs dilated convolutions
    fastest on CPU without reordering activations; ReLU and the residual are applied in place.

    Parameters
    ----------
    module : TemporalConvNet
        The trained network; its BatchNorm running statistics are used (eval-mode semantics)
        whatever its current mode. It is not modified, and later changes to it are not seen.
    dtype : torch.dtype, default=torch.float32
        Storage and arithmetic type of the hidden layers (``torch.bfloat16`` is several times
        faster on CPUs with AVX-512 bf16). The last layer always runs in float32 so that poses
        are not rounded to bfloat16's 3 significant digits; outputs are float32.

    Examples
    --------
    >>> import torch
    >>> from skpose3d.nn.temporal import TemporalConvNet
    >>> net = TemporalConvNet(17, 2, 17, filter_widths=(3, 3), channels=32).eval()
    >>> fused = FusedTemporalConvNet(net)
    >>> x = torch.randn(1, 20, 17, 2)
    >>> torch.allclose(fused(x), net(x), atol=1e-5)
    True
    """

    def __init__(self, module: nn.Module, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.filter_widths = tuple(module.filter_widths)
        self.dilations = tuple(module.dilations)
        self.causal = bool(module.causal)
        self.n_joints_in, self.in_features = module.n_joints_in, module.in_features
        self.n_joints_out, self.out_features = module.n_joints_out, module.out_features
        self.dtype = dtype
        convs = [module.expand_conv, *module.block_convs]
        bns = [module.expand_bn, *module.block_bns]
        for i, (conv, bn) in enumerate(zip(convs, bns)):
            weight, bias = fold_batchnorm(conv.weight.detach(), bn)
            # 1x1 layers are matrix multiplies on (frames, channels) rows: keep them 2D.
            weight = (
                weight[:, :, 0].to(dtype) if weight.shape[2] == 1 else as_2d_kernel(weight, dtype)
            )
            self.register_buffer(f"weight{i}", weight)
            self.register_buffer(f"bias{i}", bias.to(dtype))
        shrink = module.shrink
        self.register_buffer("shrink_weight", shrink.weight.detach()[:, :, 0].float())
        bias = shrink.bias if shrink.bias is not None else torch.zeros(shrink.out_channels)
        self.register_buffer("shrink_bias", bias.detach().float())

    @property
    def receptive_field(self) -> int:
        """Input frames needed for one output frame."""
        rf = 1
        for width in self.filter_widths:
            rf *= width
        return rf

    @property
    def pad(self) -> int:
        """Frames consumed on each side by the non-causal form (``(rf - 1) // 2``)."""
        return (self.receptive_field - 1) // 2

    def _conv_relu(self, h: torch.Tensor, i: int, dilation: int = 1) -> torch.Tensor:
        """Convolution + ReLU on ``(batch, channels, 1, frames)`` channels-last activations."""
        weight, bias = getattr(self, f"weight{i}"), getattr(self, f"bias{i}")
        if weight.ndim == 2:
            rows = h.permute(0, 2, 3, 1).reshape(-1, h.shape[1])  # a view: memory is frames-major
            out = linear_relu(rows, weight, bias, relu=True)
            return out.view(h.shape[0], 1, h.shape[3], -1).permute(0, 3, 1, 2)
        return conv2d_relu(h, weight, bias, dilation)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Dilated form, as :meth:`TemporalConvNet.forward`.

        Parameters
        ----------
        x : Tensor of shape (batch, frames, n_joints_in, in_features)
            ``frames >= receptive_field``.

        Returns
        -------
        Tensor of shape (batch, frames - receptive_field + 1, n_joints_out, out_features), float32
        """
        expected = (self.n_joints_in, self.in_features)
        if x.ndim != 4 or tuple(x.shape[2:]) != expected or x.shape[1] < self.receptive_field:
            raise ValueError(
                f"expected input of shape (batch, frames >= {self.receptive_field}, "
                f"{self.n_joints_in}, {self.in_features}), got {tuple(x.shape)}"
            )
        # (batch, frames, features) memory read as (batch, features, 1, frames) channels-last.
        h = x.flatten(2).to(self.dtype).transpose(1, 2).unsqueeze(2)
        h = self._conv_relu(h.contiguous(memory_format=torch.channels_last), 0)
        for b, width in enumerate(self.filter_widths[1:]):
            dilation = self.dilations[b + 1]
            out = self._conv_relu(h, 2 * b + 1, dilation)
            pad = (width - 1) * dilation // 2
            start = 2 * pad if self.causal else pad
            res = h[..., start : start + out.shape[-1]]
            h = self._conv_relu(out, 2 * b + 2).add_(res)
        rows = h.float().permute(0, 2, 3, 1).reshape(-1, h.shape[1])
        poses = linear_relu(rows, self.shrink_weight, self.shrink_bias, relu=False)
        return poses.view(h.shape[0], h.shape[3], self.n_joints_out, self.out_features)
