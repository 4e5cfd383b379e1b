"""How a fitted lifter runs its networks over whole videos (internal API of the lifters)."""

from __future__ import annotations

import numpy as np
import torch

from ._lifter_params import PRECISIONS, resolve_device
from .camera import flip_keypoints, flip_poses
from .nn.fused import FusedTemporalConvNet
from .nn.inference import predict_sequence


def run_network(lifter, network, videos, unflip) -> list[torch.Tensor]:
    """``network`` over every video (float32 outputs), averaged with its flipped input.

    BatchNorm is folded into the convolutions and the weights are cast once to the lifter's
    ``precision`` (faster than autocasting every op); the last layer stays float32. ``unflip``
    maps the output for the mirrored video back to the original's frame.
    """
    device = resolve_device(lifter.device)
    module = FusedTemporalConvNet(network.to(device).eval(), PRECISIONS[lifter.precision])
    outputs = []
    for video in videos:
        x = torch.from_numpy(video).to(device)
        out = predict_sequence(module, x, lifter.chunk_frames)
        if lifter.test_time_flip:
            x_flipped = flip_keypoints(x, lifter.input_skeleton_)
            out = (out + unflip(predict_sequence(module, x_flipped, lifter.chunk_frames))) / 2
        outputs.append(out.float())
    return outputs


def predict_poses(lifter, videos) -> list[np.ndarray]:
    """Root-relative poses per video from the pose network (zero at the output root)."""
    root = lifter.output_skeleton_.root
    unflip = lambda p: flip_poses(p, lifter.output_skeleton_)  # noqa: E731
    return [
        (p - p[:, root : root + 1]).cpu().numpy()
        for p in run_network(lifter, lifter.module_, videos, unflip)
    ]


def predict_trajectories(lifter, videos) -> list[np.ndarray]:
    """Camera-space root positions (n_frames, 1, 3) per video from the trajectory network."""
    mirror = torch.tensor([-1.0, 1.0, 1.0])  # a flipped root is mirrored in x only
    roots = run_network(lifter, lifter.trajectory_module_, videos, lambda r: r * mirror.to(r))
    return [root.cpu().numpy() for root in roots]
