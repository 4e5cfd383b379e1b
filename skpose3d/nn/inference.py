"""Whole-sequence inference with the dilated form: edge padding, bounded-memory chunking."""

from __future__ import annotations

import torch

from .temporal import TemporalConvNet


def pad_edges(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Pad a sequence (frames first) by replicating its first and last frames.

    Parameters
    ----------
    x : Tensor of shape (frames, ...)
    left, right : int
        Frames to add before and after.
    """
    parts = [x[:1].expand(left, *x.shape[1:]), x, x[-1:].expand(right, *x.shape[1:])]
    return torch.cat(parts)


def sequence_padding(module: TemporalConvNet) -> tuple[int, int]:
    """Edge padding (left, right) that makes the dilated output one frame per input frame."""
    rf = module.receptive_field
    if module.causal:
        return rf - 1, 0
    return (rf - 1) // 2, (rf - 1) // 2


@torch.no_grad()
def predict_sequence(
    module: TemporalConvNet, x: torch.Tensor, chunk_frames: int = 20000
) -> torch.Tensor:
    """Run the dilated form over one whole video, one output per input frame.

    The video is edge-padded so that any length ``>= 1`` works. Long videos are processed in
    chunks of ``chunk_frames`` output frames, each read with the ``receptive_field - 1`` frames
    of context it needs, so the result equals a single pass while memory stays bounded.

    Parameters
    ----------
    module : TemporalConvNet or FusedTemporalConvNet
        In eval mode. A :class:`~skpose3d.nn.fused.FusedTemporalConvNet` copy gives the same
        result faster (BatchNorm folded in; optionally bfloat16).
    x : Tensor of shape (frames, n_joints_in, in_features)
    chunk_frames : int, default=20000
        Output frames per chunk. Peak memory grows with it (about
        ``4 * channels * (chunk_frames + receptive_field)`` bytes per live activation, three
        alive at once); on CPU larger chunks are slightly faster (fewer weight reorders).

    Returns
    -------
    Tensor of shape (frames, n_joints_out, out_features)
    """
    left, right = sequence_padding(module)
    padded = pad_edges(x, left, right)
    context = module.receptive_field - 1
    n_frames = x.shape[0]
    outputs = []
    for start in range(0, n_frames, chunk_frames):
        stop = min(start + chunk_frames, n_frames)
        outputs.append(module(padded[start : stop + context].unsqueeze(0))[0])
    return torch.cat(outputs)
