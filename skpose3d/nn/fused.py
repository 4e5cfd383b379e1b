"""Speed-ups for :class:`~skpose3d.nn.temporal.TemporalConvNet` that keep its results.

* :class:`FusedTemporalConvNet` — an inference-only copy of a trained network with every
  BatchNorm folded into the convolution before it (exact in eval mode, up to float rounding), run
  as channels-last convolutions (oneDNN's fast layout on CPU) with no dropout calls and ReLU and
  residual applied in place. Its weights can be stored once in bfloat16/float16 instead of
  autocasting every operation.
* :func:`dropout_mask`, :func:`cheap_dropout` and :func:`bn_relu_dropout` — inverted dropout whose
  mask comes from random 64-bit words split into 8 or 16-bit lanes (one generator call per 8 or 4
  values instead of one per value), applied as one multiply by a 0/1 mask, with the
  ``1 / (1 - p)`` scale folded into the BatchNorm affine parameters.
* :func:`onednn_linear` — ``x @ weight.T`` with autograd whose forward and backward products run
  on oneDNN's matmul on CPU (about twice the rate of ``torch.mm`` on this project's CPUs); the
  training form of the network is made of such products.
"""

from __future__ import annotations

import functools

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


def _find_onednn_op(name: str):
    """A oneDNN op with fused activation (ops torch.compile uses on CPU) if this build has it."""
    try:
        op = getattr(torch.ops.mkldnn, name)
    except (AttributeError, RuntimeError):
        return None
    return op if torch.backends.mkldnn.is_available() else None


# On this project's CPU (AVX-512, bf16) oneDNN runs the dilated convolutions ~2x faster than the
# same FLOPs as torch.mm, and its matmul runs the 1x1 layers ~2x faster than torch.mm (fp32) or
# than its own 1x1 convolution; fusing ReLU saves one pass over memory.
_conv_relu_onednn = _find_onednn_op("_convolution_pointwise")
_linear_onednn = _find_onednn_op("_linear_pointwise")
_ONEDNN_DTYPES = (torch.float32, torch.bfloat16)
# The weight gradient ``grad.T @ x`` through oneDNN's ``a @ b.T`` needs transposed copies of both
# activations. On an AVX2-only AMD EPYC (2 threads, load ~5) those copies and oneDNN's product
# took 115 ms per 27 x 256 training step (batch 1024) against 71 ms for ``torch.mm`` on the
# transposed views; on AVX-512 CPUs, where oneDNN's products run about twice torch.mm's rate,
# the oneDNN path is kept (not re-measured there). Both give the product up to float rounding.
_GRAD_WEIGHT_BY_MM = torch.backends.cpu.get_cpu_capability() not in ("AVX512",)


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


def _as_2d_kernel(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(C_out, C_in, W) → (C_out, C_in, 1, W) in channels-last memory (oneDNN's fast layout)."""
    return weight[:, :, None, :].to(dtype).contiguous(memory_format=torch.channels_last)


@functools.cache
def onednn_supports(dtype: torch.dtype) -> bool:
    """Whether this CPU runs oneDNN's kernels in ``dtype``, probed once on tiny inputs.

    oneDNN's bfloat16 kernels need AVX-512 (BW/VL/DQ) or AVX-NE-CONVERT and raise a
    ``RuntimeError`` elsewhere (e.g. on AVX2-only CPUs); torch's own kernels then run bfloat16
    (slowly, but with the same rounding of weights and activations).
    """
    try:
        x = torch.ones(1, 2, 1, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
        if _conv_relu_onednn is not None:
            w = _as_2d_kernel(torch.ones(2, 2, 3), dtype)
            _conv_relu_onednn(x, w, None, [0, 0], [1, 1], [1, 1], 1, "relu", [], "")
        if _linear_onednn is not None:
            _linear_onednn(torch.ones(2, 2, dtype=dtype), torch.ones(2, 2, dtype=dtype), None,
                           "none", [], "")  # fmt: skip
    except RuntimeError:
        return False
    return True


def _onednn(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype in _ONEDNN_DTYPES and onednn_supports(x.dtype)


def _matmul_onednn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b.T`` by oneDNN (both contiguous)."""
    return _linear_onednn(a, b, None, "none", [], "")


def _product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b.T`` (both contiguous): oneDNN where it runs, else ``torch.mm``."""
    if _linear_onednn is not None and _onednn(a):
        return _matmul_onednn(a, b)
    return torch.mm(a, b.t())


def _grad_weight(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``grad.T @ x``, the weight gradient of ``x @ weight.T``."""
    if _GRAD_WEIGHT_BY_MM or _linear_onednn is None or not _onednn(x):
        return torch.mm(grad.t(), x)  # BLAS reads the transposes in place: no copies
    return _matmul_onednn(grad.t().contiguous(), x.t().contiguous())


class _OneDNNLinear(torch.autograd.Function):
    """``x @ weight.T`` with every product (forward, both gradients) run by oneDNN."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return _matmul_onednn(x, weight)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_x = _matmul_onednn(grad, weight.t().contiguous())
        if ctx.needs_input_grad[1]:
            grad_weight = _grad_weight(grad, x)
        return grad_x, grad_weight


class _WindowLinear(torch.autograd.Function):
    """A stride-``width`` convolution on frame rows and the rows its residual keeps, as one op.

    Forward: ``rows.view(-1, width * C) @ weight.T`` and a copy of ``rows.view(-1, width,
    C)[:, pick]``. Autograd would give ``rows`` two gradients, one a zero-filled tensor of its
    size with the kept rows copied in, and add them; here the kept rows' gradient is added in
    place into the product's input gradient (the same sums, ``a + 0`` terms left out).
    """

    @staticmethod
    def forward(ctx, rows, weight, width, pick):
        ctx.set_materialize_grads(False)
        windows = rows.reshape(-1, weight.shape[1])
        ctx.save_for_backward(windows, weight)
        ctx.width, ctx.pick = width, pick
        kept = rows.view(len(windows), width, rows.shape[1])[:, pick].clone()
        return _product(windows, weight), kept

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, grad_kept):
        windows, weight = ctx.saved_tensors
        grad_rows = grad_weight = None
        if grad is None:  # only the kept rows were used
            grad = torch.zeros(len(windows), len(weight), dtype=weight.dtype, device=weight.device)
        grad = grad.contiguous()
        if ctx.needs_input_grad[0]:
            grad_windows = _product(grad, weight.t().contiguous())
            if grad_kept is not None:
                grad_windows.view(len(windows), ctx.width, -1)[:, ctx.pick] += grad_kept
            grad_rows = grad_windows.view(len(windows) * ctx.width, -1)
        if ctx.needs_input_grad[1]:
            grad_weight = _grad_weight(grad, windows)
        return grad_rows, grad_weight, None, None


def window_linear(rows: torch.Tensor, weight: torch.Tensor, width: int, pick: int):
    """A stride-``width`` convolution on frame rows, and the rows a residual keeps.

    Parameters
    ----------
    rows : Tensor of shape (n_windows * width, C_in)
        Frame rows, the ``width`` rows of each window consecutive.
    weight : Tensor of shape (C_out, width * C_in)
        The kernel laid out window-major (``conv.weight.permute(0, 2, 1)`` flattened).
    width, pick : int
        Window width and the row of each window that is kept (``0 <= pick < width``).

    Returns
    -------
    out : Tensor of shape (n_windows, C_out)
        ``rows.view(n_windows, width * C_in) @ weight.T`` (oneDNN's matmul where it runs).
    kept : Tensor of shape (n_windows, C_in)
        ``rows.view(n_windows, width, C_in)[:, pick]``.

    Both are differentiable; ``rows`` gets one gradient tensor, the kept rows' gradient added
    in place, instead of autograd's zero-filled copy and sum.

    Examples
    --------
    >>> import torch
    >>> rows, w = torch.randn(6, 4), torch.randn(5, 12)
    >>> out, kept = window_linear(rows, w, 3, 1)
    >>> torch.allclose(out, rows.view(2, 12) @ w.T, atol=1e-5), torch.equal(kept, rows[1::3])
    (True, True)
    """
    return _WindowLinear.apply(rows.contiguous(), weight.contiguous(), int(width), int(pick))


def onednn_linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x @ weight.T`` (no bias), differentiable, computed by oneDNN where it can be.

    On CPU tensors of float32 or bfloat16 with a torch build that has oneDNN, the forward
    product and both gradient products use oneDNN's matmul, which on this project's CPUs runs
    at about twice the rate of ``torch.mm`` (and of ``F.linear``); elsewhere (CUDA, float64,
    other builds) this is ``F.linear(x, weight)``. Higher-order gradients are not supported
    on the oneDNN path.

    Parameters
    ----------
    x : Tensor of shape (rows, in_features)
    weight : Tensor of shape (out_features, in_features)

    Returns
    -------
    Tensor of shape (rows, out_features)

    Examples
    --------
    >>> import torch
    >>> x, w = torch.randn(5, 4), torch.randn(3, 4)
    >>> torch.allclose(onednn_linear(x, w), x @ w.T, atol=1e-5)
    True
    """
    if (
        _linear_onednn is not None
        and _onednn(x)
        and x.ndim == 2
        and weight.dtype == x.dtype
        and weight.device == x.device
    ):
        return _OneDNNLinear.apply(x.contiguous(), weight.contiguous())
    return F.linear(x, weight)


def _linear(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, relu: bool):
    """``rows @ weight.T + bias``, then ReLU in place if ``relu``."""
    if _linear_onednn is not None and _onednn(rows):
        return _linear_onednn(rows, weight, bias, "relu" if relu else "none", [], "")
    out = F.linear(rows, weight, bias)
    return out.relu_() if relu else out


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
                weight[:, :, 0].to(dtype) if weight.shape[2] == 1 else _as_2d_kernel(weight, dtype)
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
            out = _linear(rows, weight, bias, relu=True)
            return out.view(h.shape[0], 1, h.shape[3], -1).permute(0, 3, 1, 2)
        if _conv_relu_onednn is not None and _onednn(h):
            args = ([0, 0], [1, 1], [1, dilation], 1, "relu", [], "")
            return _conv_relu_onednn(h, weight, bias, *args)
        return F.conv2d(h, weight, bias, dilation=(1, dilation)).relu_()

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
        poses = _linear(rows, self.shrink_weight, self.shrink_bias, relu=False)
        return poses.view(h.shape[0], h.shape[3], self.n_joints_out, self.out_features)
