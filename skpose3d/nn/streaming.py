"""Frame-by-frame evaluation of a causal :class:`TemporalConvNet` with per-layer caches.

The dilated form computes every layer's output at frame ``t`` from that layer's inputs at frames
``t - (W_i - 1) * D_i, ..., t - D_i, t`` (causal mode). Keeping, per layer, a ring buffer of its
last ``(W_i - 1) * D_i + 1`` inputs therefore gives the output for a new frame with one
matrix-vector product per layer: the cost per frame is constant, independent of the receptive
field's position in the video.

Start-up matches :func:`skpose3d.nn.inference.predict_sequence`, which pads a video on the left by
replicating its first frame ``receptive_field - 1`` times: every layer's activations over that
padding equal its activation at the first real frame (its window sees only copies of the same
input), so each buffer starts filled with copies of the first activation that reaches it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .fused import fold_batchnorm
from .temporal import TemporalConvNet


class _CachedLayer:
    """One convolution (+ BatchNorm + ReLU, eval mode) with a ring buffer of its inputs."""

    def __init__(self, conv, bn, dilation: int, device):
        if bn is None:
            weight = conv.weight.detach()
            bias = None if conv.bias is None else conv.bias.detach()
        else:  # eval-mode BatchNorm is an affine map per channel: fold it into the weights
            weight, bias = fold_batchnorm(conv.weight.detach(), bn)
        self.relu = bn is not None
        out_channels, in_channels, width = weight.shape
        # Frames-major layout so that a gathered window (batch, width, in) flattens to match.
        weight = weight.permute(0, 2, 1).reshape(out_channels, width * in_channels)
        self.weight = weight.to(device=device, dtype=torch.float32)
        self.bias = None if bias is None else bias.to(device=device, dtype=torch.float32)
        self.width, self.in_channels = width, in_channels
        self.span = (width - 1) * dilation + 1
        # Window of the frame just written at ring position p: p - (W-1)D, ..., p - D, p.
        taps = torch.arange(width, device=device) * dilation - (width - 1) * dilation
        self.windows = [(taps + p) % self.span for p in range(self.span)]
        self.buffer = None
        self.position = 0

    def reset(self):
        self.buffer = None
        self.position = 0

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """Push ``x`` (batch, in_channels) and return this frame's output (batch, out)."""
        if self.span == 1:
            window = x
        else:
            if self.buffer is None:
                self.buffer = x[:, None].repeat(1, self.span, 1)
                self.position = 0
            else:
                self.position = (self.position + 1) % self.span
                self.buffer[:, self.position] = x
            window = self.buffer[:, self.windows[self.position]].reshape(len(x), -1)
        y = F.linear(window, self.weight, self.bias)
        return torch.relu(y) if self.relu else y


class CausalStreamer:
    """Evaluate a causal :class:`TemporalConvNet` one frame at a time.

    The network's weights are copied (as float32, on ``device``) when the streamer is built:
    later changes to ``module`` are not seen. Several independent streams can run together as
    a batch (e.g. a video and its mirror image for test-time flipping).

    Parameters
    ----------
    module : TemporalConvNet
        A causal network (``causal=True``). BatchNorm uses its running statistics and dropout
        is off, as in ``module.eval()``.
    device : str or torch.device, default="cpu"

    Examples
    --------
    >>> import torch
    >>> net = TemporalConvNet(17, 2, 17, (3, 3), channels=32, causal=True).eval()
    >>> streamer = CausalStreamer(net)
    >>> streamer.step(torch.zeros(1, 17, 2)).shape
    torch.Size([1, 17, 3])
    """

    def __init__(self, module: TemporalConvNet, device="cpu"):
        if not isinstance(module, TemporalConvNet):
            raise TypeError(f"module must be a TemporalConvNet, got {type(module).__name__}")
        if not module.causal:
            raise ValueError(
                "streaming needs a causal network (causal=True): a non-causal network's output "
                "for frame t depends on future frames"
            )
        self.device = torch.device(device)
        self.n_joints_in, self.in_features = module.n_joints_in, module.in_features
        self.n_joints_out, self.out_features = module.n_joints_out, module.out_features
        self.receptive_field = module.receptive_field
        self.expand = _CachedLayer(module.expand_conv, module.expand_bn, 1, self.device)
        self.blocks = []
        for i in range(len(module.filter_widths) - 1):
            dilated = _CachedLayer(
                module.block_convs[2 * i], module.block_bns[2 * i], module.dilations[i + 1],
                self.device,
            )  # fmt: skip
            pointwise = _CachedLayer(
                module.block_convs[2 * i + 1], module.block_bns[2 * i + 1], 1, self.device
            )
            self.blocks.append((dilated, pointwise))
        self.shrink = _CachedLayer(module.shrink, None, 1, self.device)
        self.n_frames_seen = 0
        self._batch_size = None

    def reset(self) -> None:
        """Forget all past frames: the next frame is treated as the first of a new video."""
        for layer in self._layers():
            layer.reset()
        self.n_frames_seen = 0

    def _layers(self):
        yield self.expand
        for dilated, pointwise in self.blocks:
            yield dilated
            yield pointwise
        yield self.shrink

    @torch.no_grad()
    def step(self, frame: torch.Tensor) -> torch.Tensor:
        """Feed one frame per stream and return the network's output for that frame.

        Parameters
        ----------
        frame : Tensor of shape (batch, n_joints_in, in_features)
            The batch size must stay the same until :meth:`reset`.

        Returns
        -------
        Tensor of shape (batch, n_joints_out, out_features)
            Equal to the last frame of ``predict_sequence`` on all frames fed so far.
        """
        expected = (self.n_joints_in, self.in_features)
        if frame.ndim != 3 or tuple(frame.shape[1:]) != expected:
            raise ValueError(
                f"expected a frame of shape (batch, {expected[0]}, {expected[1]}), "
                f"got {tuple(frame.shape)}"
            )
        if self.n_frames_seen and frame.shape[0] != self._batch_size:
            raise ValueError(
                f"the batch size changed from {self._batch_size} to {frame.shape[0]}; "
                "call reset() before starting streams of another batch size"
            )
        self._batch_size = frame.shape[0]
        x = self.expand.step(frame.to(self.device, torch.float32).flatten(1))
        for dilated, pointwise in self.blocks:
            # Causal residual: the newest input of the block (TemporalConvNet.forward's slice).
            x = x + pointwise.step(dilated.step(x))
        out = self.shrink.step(x)
        self.n_frames_seen += 1
        return out.unflatten(1, (self.n_joints_out, self.out_features))
