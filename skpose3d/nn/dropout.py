"""Cheaper inverted dropout for the training form of :class:`~skpose3d.nn.temporal.TemporalConvNet`.

:func:`dropout_mask`, :func:`cheap_dropout` and :func:`bn_relu_dropout` draw the mask from random
64-bit words split into 8 or 16-bit lanes (one generator call per 8 or 4 values instead of one per
value), apply it as one multiply by a 0/1 mask, and fold the ``1 / (1 - p)`` scale into the
BatchNorm affine parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable


def _lane_bits(p: float) -> int:
    """8-bit lanes when ``p`` is a multiple of 1/256 (exact, e.g. the paper's 0.25), else 16."""
    return 8 if float(p * 256).is_integer() else 16


def dropout_keep_probability(p: float) -> float:
    """Probability that :func:`dropout_mask` keeps a value (``1 - p`` rounded to 1/65536 at most).

    Parameters
    ----------
    p : float
        Dropout probability in ``[0, 1)``.

    Returns
    -------
    float
        Exactly ``1 - p`` when ``p`` is a multiple of 1/256; otherwise ``1 - p`` rounded to a
        multiple of 1/65536 (off by at most 7.7e-6). The dropout scale is its inverse, so the
        expected output still equals the input.
    """
    levels = 1 << _lane_bits(p)
    drop = min(round(p * levels), levels - 1)
    return 1.0 - drop / levels


def dropout_mask(shape, p: float, device=None) -> torch.Tensor:
    """Keep mask for inverted dropout: uint8, 1 where a value is kept (probability ~``1 - p``).

    One call of the global torch generator fills a 64-bit word that serves 8 (or 4) values, and
    applying it is a plain multiply; on CPU this is an order of magnitude cheaper than
    ``torch.bernoulli`` (the sampler behind :class:`torch.nn.Dropout`). Seeding
    with ``torch.manual_seed`` makes it reproducible, as with :class:`torch.nn.Dropout`.

    Parameters
    ----------
    shape : tuple of int
    p : float
        Dropout probability in ``[0, 1)`` (see :func:`dropout_keep_probability` for rounding).
    device : torch.device, optional

    Returns
    -------
    Tensor of uint8 (0 or 1) with the given shape.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> mask = dropout_mask((1000, 100), 0.25)
    >>> round(mask.float().mean().item(), 2)
    0.75
    """
    return _keep_mask(shape, p, device).view(torch.uint8)


def _keep_mask(shape, p: float, device=None) -> torch.Tensor:
    """:func:`dropout_mask` as a bool tensor (the one the training layers multiply by)."""
    bits = _lane_bits(p)
    lane = torch.int8 if bits == 8 else torch.int16
    per_word = 64 // bits
    n = 1
    for size in shape:
        n *= int(size)
    words = torch.empty((n + per_word - 1) // per_word, dtype=torch.int64, device=device)
    # The full 64-bit range: plain random_() leaves the sign bit 0, i.e. one lane never dropped.
    words.random_(-(1 << 63), None)
    lanes = words.view(lane)[:n].view(shape)
    # Lanes are uniform over [-2^(bits-1), 2^(bits-1)); the lowest `drop` values are dropped.
    drop = round((1.0 - dropout_keep_probability(p)) * (1 << bits))
    return lanes >= drop - (1 << (bits - 1))


def cheap_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout with :func:`dropout_mask`: zero a fraction ``p``, scale the rest.

    Parameters
    ----------
    x : Tensor
    p : float
        Dropout probability in ``[0, 1)``.
    training : bool, default=True
        When False (or ``p == 0``) ``x`` is returned unchanged.

    Returns
    -------
    Tensor like ``x``: kept values are multiplied by ``1 / dropout_keep_probability(p)``.

    Examples
    --------
    >>> import torch
    >>> x = torch.ones(4, 1000)
    >>> y = cheap_dropout(x, 0.25)
    >>> sorted({round(v, 4) for v in y.flatten().tolist()})  # dropped, or scaled by 1 / 0.75
    [0.0, 1.3333]
    >>> cheap_dropout(x, 0.25, training=False) is x
    True
    """
    if not training or p == 0:
        return x
    scale = 1.0 / dropout_keep_probability(p)
    return (x * dropout_mask(x.shape, p, x.device).to(x.dtype)).mul_(scale)


def bn_relu_dropout(x: torch.Tensor, bn: nn.BatchNorm1d, p: float, training: bool) -> torch.Tensor:
    """``dropout(relu(bn(x)))`` with :func:`dropout_mask`, in fewer passes over memory.

    As ``relu(s * z) = s * relu(z)`` for ``s > 0``, the dropout scale is multiplied into the
    BatchNorm weight and bias (C values) instead of into every activation; ReLU and the mask are
    applied in place on the BatchNorm output, and the backward pass is ReLU's own (the gradient
    passes where the output is positive), so no mask is kept for it. Running statistics are updated
    exactly as ``bn`` would. In eval mode (or ``p == 0``) this is ``relu(bn(x))``: no dropout call.

    Parameters
    ----------
    x : Tensor of shape (batch, channels, frames)
    bn : torch.nn.BatchNorm1d
    p : float
        Dropout probability in ``[0, 1)``.
    training : bool
        Whether dropout is active (the network's mode; ``bn`` follows its own ``training``).

    Returns
    -------
    Tensor like ``x``
    """
    if not training or p == 0:
        return F.relu(bn(x))
    if not bn.affine or not bn.training:
        return cheap_dropout(F.relu(bn(x)), p)
    scale = 1.0 / dropout_keep_probability(p)
    momentum = bn.momentum
    if bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        if momentum is None:  # cumulative moving average, as nn.BatchNorm1d does
            momentum = 1.0 / float(bn.num_batches_tracked)
    z = F.batch_norm(
        x, bn.running_mean, bn.running_var, bn.weight * scale, bn.bias * scale,
        True, 0.0 if momentum is None else momentum, bn.eps,
    )  # fmt: skip
    return _ReluDropout.apply(z, _keep_mask(z.shape, p, z.device))


class _ReluDropout(torch.autograd.Function):
    """``relu(z) * keep`` (``keep`` a 0/1 mask), in place on ``z``, which nothing else saves.

    The gradient, ``grad * keep * (z > 0)``, is ``grad`` where the output is positive: one
    ``threshold_backward`` on the saved output, as ReLU's own backward, so neither the mask
    nor a float copy of it is kept for the backward pass.
    """

    @staticmethod
    def forward(ctx, z, keep):
        out = z.relu_().mul_(keep)
        ctx.mark_dirty(z)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return torch.ops.aten.threshold_backward(grad, out, 0), None
