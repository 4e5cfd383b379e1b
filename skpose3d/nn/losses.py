"""Training losses (torch). Distances are Euclidean over the last dimension."""

from __future__ import annotations

import torch


def mpjpe_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-joint position error: mean Euclidean distance over all leading dims.

    Parameters
    ----------
    pred, target : Tensor of shape (..., n_joints, D)

    Returns
    -------
    Tensor
        Scalar loss.
    """
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


def weighted_mpjpe_loss(
    pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """MPJPE with per-sample weights (the paper's WMPJPE; the trajectory uses ``1 / z``).

    Parameters
    ----------
    pred, target : Tensor of shape (..., n_joints, D)
    weights : Tensor broadcastable to ``pred.shape[:-1]``
        Non-negative weights; the result is ``sum(w * d) / sum(w)``.
    """
    dist = torch.linalg.vector_norm(pred - target, dim=-1)
    weights = torch.broadcast_to(weights, dist.shape)
    return (weights * dist).sum() / weights.sum()
