"""Matrix products of the network on oneDNN where the CPU runs them, with their gradients.

* :func:`onednn_linear` — ``x @ weight.T`` with autograd whose forward and backward products run
  on oneDNN's matmul on CPU (about twice the rate of ``torch.mm`` on AVX-512 CPUs); the training
  form of the network is made of such products.
* :func:`window_linear` — one block's window convolution and its residual as one autograd op.
* :func:`onednn_supports` — whether oneDNN's kernels run in a dtype on this CPU (bfloat16 needs
  AVX-512 or AVX-NE-CONVERT).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable


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


def as_2d_kernel(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
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
            w = as_2d_kernel(torch.ones(2, 2, 3), dtype)
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


def linear_relu(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, relu: bool):
    """``rows @ weight.T + bias``, then ReLU in place if ``relu`` (inference; oneDNN on CPU)."""
    if _linear_onednn is not None and _onednn(rows):
        return _linear_onednn(rows, weight, bias, "relu" if relu else "none", [], "")
    out = F.linear(rows, weight, bias)
    return out.relu_() if relu else out


def conv2d_relu(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, dilation: int):
    """Convolution of height 1 + ReLU on ``(batch, channels, 1, frames)`` channels-last input.

    ``weight`` comes from :func:`as_2d_kernel`; oneDNN's fused op runs it on CPU where it can,
    ``F.conv2d`` elsewhere (GPU, other builds, dtypes oneDNN does not run here).
    """
    if _conv_relu_onednn is not None and _onednn(h):
        args = ([0, 0], [1, 1], [1, dilation], 1, "relu", [], "")
        return _conv_relu_onednn(h, weight, bias, *args)
    return F.conv2d(h, weight, bias, dilation=(1, dilation)).relu_()
