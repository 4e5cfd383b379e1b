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


def bone_lengths(poses: torch.Tensor, parents) -> torch.Tensor:
    """Length of every bone (joint to parent) of 3D poses.

    Parameters
    ----------
    poses : Tensor of shape (..., n_joints, 3)
    parents : sequence of int
        Parent of each joint, ``-1`` for the root (e.g. ``Skeleton.parents``).

    Returns
    -------
    Tensor of shape (..., n_joints - 1)
        One length per non-root joint, in joint order.
    """
    children = [j for j, p in enumerate(parents) if p >= 0]
    parent_of = [parents[j] for j in children]
    return torch.linalg.vector_norm(poses[..., children, :] - poses[..., parent_of, :], dim=-1)


def bone_length_loss(
    pred_a: torch.Tensor, pred_b: torch.Tensor, parents, norm: str = "l1"
) -> torch.Tensor:
    """Difference between the batch-mean bone lengths of two sets of poses.

    The paper's soft constraint (§4): bone lengths are first averaged over each batch, so the
    unlabeled predictions only have to match the labeled subjects' lengths *on average*. The
    per-bone differences of those means are then combined over bones: ``norm="l1"`` (default,
    as in the authors' code) averages their absolute values; ``norm="l2"`` averages their
    squares (the paper's figure calls the term L2). Not an L2 distance over joints.

    Parameters
    ----------
    pred_a, pred_b : Tensor of shape (N_a, n_joints, 3) and (N_b, n_joints, 3)
        E.g. the unlabeled and the labeled half of a batch (gradients flow into both).
    parents : sequence of int
    norm : {"l1", "l2"}, default="l1"

    Returns
    -------
    Tensor
        Scalar loss: ``mean_k |d_k|`` or ``mean_k d_k**2`` with ``d_k`` the difference of the
        mean lengths of bone ``k``.
    """
    mean_a = bone_lengths(pred_a, parents).flatten(0, -2).mean(0)
    mean_b = bone_lengths(pred_b, parents).flatten(0, -2).mean(0)
    diff = mean_a - mean_b
    if norm == "l1":
        return diff.abs().mean()
    if norm == "l2":
        return diff.square().mean()
    raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")


def multi_view_loss(poses: torch.Tensor, rotations: torch.Tensor, groups: torch.Tensor):
    """Disagreement of synchronised views about one 3D pose (beyond the paper).

    Each pose is rotated from its camera into the common world frame (``X_world = R.T @ X_cam``
    up to the camera's position, which a root-relative pose does not carry) and the views of one
    group (one instant of one recording) are pulled towards their mean: the mean Euclidean
    distance of every view's joints to that consensus. A rotation shared by all views leaves it
    unchanged, so any world frame will do. A group of one view adds zero.

    Parameters
    ----------
    poses : Tensor of shape (B, n_joints, 3)
        Root-relative poses in each view's camera frame.
    rotations : Tensor of shape (B, 3, 3)
        World-to-camera rotation ``R`` of each pose's camera (``X_cam = R @ (X_world - T)``).
    groups : LongTensor of shape (B,)
        Group of each pose, numbered ``0 .. n_groups - 1``.

    Returns
    -------
    Tensor
        Scalar loss, averaged over all poses and joints.
    """
    world = poses @ rotations  # row vectors: x_world = x_cam @ R
    n_groups = int(groups.max()) + 1
    sums = world.new_zeros((n_groups, *world.shape[1:])).index_add(0, groups, world)
    counts = torch.bincount(groups, minlength=n_groups).to(world.dtype)
    consensus = sums / counts[:, None, None]
    return torch.linalg.vector_norm(world - consensus[groups], dim=-1).mean()
