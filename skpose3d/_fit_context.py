"""What one ``fit`` call of a lifter builds and shares: its networks, their step and validation.

Internal API of :mod:`skpose3d.lifters` and :mod:`skpose3d.semi_supervised`: building (or, with
``warm_start``, reusing) the pose and trajectory networks, the supervised training step, the
validation error for early stopping, and the checks of absolute targets.
"""

from __future__ import annotations

import copy
import warnings
from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils import check_random_state

from ._lifter_params import resolve_device, torch_threads
from ._sequences import ClipBank, batch_indices
from ._training import recompute_bn_statistics, run_epochs
from .camera import flip_keypoints, flip_poses
from .metrics import mpjpe
from .nn.inference import predict_sequence, sequence_padding
from .nn.losses import mpjpe_loss, weighted_mpjpe_loss
from .nn.temporal import TemporalConvNet


class FitContext:
    """State one ``fit`` call shares between its training step and validation.

    Parameters
    ----------
    lifter : TemporalPoseLifter
        Read for ``flip_augmentation`` only.
    module, trajectory : TemporalConvNet
        The pose network and the trajectory network (None without one).
    skel_in, skel_out : Skeleton
        Input and output skeletons: flips use each one's left/right joints, root-relative
        poses are centred on ``skel_out.root``.
    device : torch.device
    rng : numpy.random.Generator
        Draws the batches and the flips.
    """

    def __init__(self, lifter, module, skel_in, skel_out, device, rng, trajectory=None):
        self.lifter, self.module, self.trajectory = lifter, module, trajectory
        self.skel_in, self.skel_out = skel_in, skel_out
        self.root = skel_out.root
        self.device, self.rng = device, rng
        self.unlabeled = None  # (videos, normalised camera vectors) for semi-supervised fits
        self.seed = 0  # of the fit, for the random streams of the BatchNorm re-estimation
        # What the epoch loop trains: one module, or both under one optimizer and BN schedule.
        self.networks = module if trajectory is None else Networks(module, trajectory)

    def draw_flips(self, n: int) -> torch.Tensor:
        """Which of ``n`` samples to mirror: each with probability 1/2 (bool tensor)."""
        return torch.from_numpy(self.rng.random(n) < 0.5).to(self.device)

    def flip_half(self, x, y):
        """Mirror a random half of a batch: keypoints, poses and left/right joints."""
        flip = self.draw_flips(len(x)).to(x.device)
        x = torch.where(flip[:, None, None, None], flip_keypoints(x, self.skel_in), x)
        y = torch.where(flip[:, None, None], flip_poses(y, self.skel_out), y)
        return x, y

    def relative(self, poses):
        """``poses`` (..., n_joints, 3) centred on the output skeleton's root joint."""
        return poses - poses[..., self.root : self.root + 1, :]

    def trained_pose(self, pred):
        """What the pose losses compare: the raw prediction, or with ``pose_loss="recentred"``
        the prediction re-centred on its own root."""
        return self.relative(pred) if self.lifter.pose_loss == "recentred" else pred

    def supervised_step(self, batch, epoch):
        """Loss terms of a labeled batch ``(clips, absolute or relative poses)``."""
        x, y = batch
        if self.lifter.flip_augmentation and not isinstance(batch, MirroredBatch):
            x, y = self.flip_half(x, y)
        pred = self.module.forward_strided(x)[:, 0]
        loss = mpjpe_loss(self.trained_pose(pred), self.relative(y))
        if self.trajectory is None:
            return {"loss": loss}
        root = y[:, self.root : self.root + 1]
        traj = self.trajectory.forward_strided(x)[:, 0]
        traj_loss = weighted_mpjpe_loss(traj, root, 1 / root[..., 2])
        return {"loss": loss + traj_loss, "pose": loss, "trajectory": traj_loss}

    def validation_error(self, videos, targets) -> float:
        """Frame-weighted root-relative MPJPE of the pose network over whole videos."""
        self.module.eval()
        errors, frames = 0.0, 0
        for video, target in zip(videos, targets):
            pose = predict_sequence(self.module, torch.from_numpy(video).to(self.device))
            errors += mpjpe(target, self.relative(pose).cpu().numpy(), root=self.root) * len(video)
            frames += len(video)
        self.module.train()
        return errors / frames


class MirroredBatch(NamedTuple):
    """A labeled batch whose random half was already mirrored where it was gathered (the
    clip bank's mirrored copy), with the same draws as :meth:`FitContext.flip_half`: the
    step does not flip it again."""

    clips: torch.Tensor
    poses: torch.Tensor


def labeled_batches(ctx, bank, poses, batch_size: int):
    """``batches(epoch)``: shuffled labeled clips and their poses, one predicted frame each.

    With flip augmentation the bank gets a mirrored copy (videos and poses) once per fit and
    each batch is gathered already half mirrored (a :class:`MirroredBatch`), instead of
    mirroring whole batches and choosing with ``torch.where`` at every step; the random draws
    and the values are those of :meth:`FitContext.flip_half`.
    """
    mirror = bool(ctx.lifter.flip_augmentation)
    if mirror:
        bank.add_mirror(lambda data: flip_keypoints(data, ctx.skel_in))
        poses = torch.cat([poses, flip_poses(poses, ctx.skel_out)])
    n = len(bank)

    def batches(epoch):
        order = torch.from_numpy(ctx.rng.permutation(n)).to(ctx.device)
        for ids in batch_indices(order, batch_size):
            if not mirror:
                yield bank.clips(ids), poses[ids]
                continue
            flips = ctx.draw_flips(len(ids))
            yield MirroredBatch(bank.clips(ids, flips), poses[ids + flips * n])

    return batches


class Networks(torch.nn.ModuleDict):
    """Pose and trajectory networks trained together (one optimizer, one BatchNorm schedule)."""

    def __init__(self, pose, trajectory):
        super().__init__({"pose": pose, "trajectory": trajectory})

    def set_bn_momentum(self, momentum) -> None:
        """Set the momentum of every BatchNorm layer of both networks."""
        for net in self.values():
            net.set_bn_momentum(momentum)


# Batches of the final weights that re-estimate the BatchNorm statistics (``precise_bn``): the
# probe of issue 12 used 150; more costs time for little change in an average of batch means.
PRECISE_BN_BATCHES = 150


def fit_networks(lifter, videos, targets, widths, skel_in, skel_out, unlabeled=None):
    """Build (or reuse) and train a lifter's networks on normalised videos and their targets.

    Returns ``(module, trajectory, history, error)``: the trained networks, the history rows
    and the FloatingPointError that stopped training, if any (the caller commits and raises).
    Runs with the lifter's ``n_jobs`` threads and forks torch's RNG (the caller's is untouched).
    """
    seed = check_random_state(lifter.random_state).randint(np.iinfo(np.int32).max)
    device = resolve_device(lifter.device)
    n_channels = videos[0].shape[2]
    module, trajectory = initial_networks(
        lifter, widths, skel_in, skel_out, n_channels, seed, targets
    )
    module.to(device)
    if trajectory is not None:
        trajectory.to(device)
    rng = np.random.default_rng(seed)
    train_idx, val_idx = split_validation(
        len(videos), lifter.early_stopping, lifter.validation_fraction, rng
    )
    ctx = FitContext(lifter, module, skel_in, skel_out, device, rng, trajectory)
    ctx.unlabeled, ctx.seed = unlabeled, seed
    history: list[dict] = []
    error = None
    cuda = [device] if device.type == "cuda" else []
    with torch_threads(lifter.n_jobs), torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        try:
            lifter._run_training(ctx, videos, targets, train_idx, val_idx, history)
        except FloatingPointError as exc:
            error = exc
    return module, trajectory, history, error


def run_training(lifter, ctx, videos, targets, train_idx, val_idx, history):
    """The epoch loop over the lifter's training plan, then (``precise_bn``) the BN statistics."""
    bank = ClipBank(
        [videos[i] for i in train_idx], *sequence_padding(ctx.module), device=ctx.device
    )
    # Absolute poses: the step makes them root-relative and the trajectory uses the root.
    poses = torch.from_numpy(np.concatenate([targets[i] for i in train_idx])).to(ctx.device)
    batches, step = lifter._training_plan(ctx, bank, poses)
    validate = None
    if len(val_idx):
        val_x = [videos[i] for i in val_idx]
        val_y = [targets[i] for i in val_idx]
        validate = lambda: ctx.validation_error(val_x, val_y)  # noqa: E731
    optimizer = amsgrad(ctx.networks.parameters(), lifter.learning_rate, ctx.device)
    try:
        run_epochs(
            ctx.networks, optimizer, batches, step,
            n_epochs=lifter.n_epochs, lr_decay=lifter.lr_decay, validate=validate,
            n_iter_no_change=lifter.n_iter_no_change if lifter.early_stopping else None,
            batches_per_epoch=-(-len(bank) // lifter.batch_size),
            verbose=lifter.verbose, history=history,
        )  # fmt: skip
    except FloatingPointError:  # the last good epoch's weights are kept: finish them too
        _precise_bn(lifter, ctx, batches, step, history)
        raise
    _precise_bn(lifter, ctx, batches, step, history)


def amsgrad(parameters, lr: float, device: torch.device) -> torch.optim.Adam:
    """The paper's optimiser, Amsgrad, with torch's fused kernel on CPU and CUDA.

    One kernel per parameter instead of about ten elementwise ops: the for-loop Amsgrad took
    7 ms of a 27 x 256 training step on one thread of an AVX2 EPYC and far more on two busy
    threads (every small op waits for both). Same update up to float rounding.
    """
    fused = torch.device(device).type in ("cpu", "cuda")
    return torch.optim.Adam(parameters, lr=lr, amsgrad=True, fused=fused or None)


def _precise_bn(lifter, ctx, batches, step, history) -> None:
    """Re-estimate the BatchNorm statistics of the final weights (``precise_bn``)."""
    if not (lifter.precise_bn and history):
        return
    # Own random streams: the statistics depend on the final weights and the seed only, not
    # on where in an epoch training stopped.
    ctx.rng = np.random.default_rng(ctx.seed + 2)
    torch.manual_seed(ctx.seed + 2)
    # The last trained epoch's sampling: for the semi-supervised lifter its mixture of labeled
    # and unlabeled clips (labeled only if it never left warm-up).
    epoch = history[-1]["epoch"]
    recompute_bn_statistics(ctx.networks, batches(epoch), step, epoch, PRECISE_BN_BATCHES)


def _architecture(net: TemporalConvNet) -> dict:
    return {
        "filter_widths": net.filter_widths,
        "channels": net.expand_conv.out_channels,
        "causal": net.causal,
        "input joints": net.n_joints_in,
        "input channels": net.in_features,
        "output joints": net.n_joints_out,
    }


def initial_networks(lifter, widths, skel_in, skel_out, n_channels, seed, targets):
    """``(pose, trajectory)`` networks a ``fit`` starts from (trajectory None if not wanted).

    With ``warm_start`` and a fitted lifter of the same architecture, copies of the fitted
    networks (their dropout set to the lifter's current ``dropout``); when the architecture
    differs, a UserWarning names what changed and both networks start afresh.
    """
    wanted = {
        "filter_widths": widths, "channels": int(lifter.channels), "causal": bool(lifter.causal),
        "input joints": skel_in.n_joints, "input channels": n_channels,
        "output joints": skel_out.n_joints,
    }  # fmt: skip
    previous = getattr(lifter, "module_", None) if lifter.warm_start else None
    if previous is not None:
        old = _architecture(previous)
        changed = [f"{k} {old[k]!r} -> {v!r}" for k, v in wanted.items() if old[k] != v]
        if changed:
            warnings.warn(
                "warm_start=True cannot reuse the fitted network (" + ", ".join(changed) + "): "
                "training starts from freshly initialised weights",
                UserWarning,
                stacklevel=4,
            )
            previous = None
    if previous is not None:
        pose = copy.deepcopy(previous).set_dropout(lifter.dropout)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            pose = TemporalConvNet(
                skel_in.n_joints, n_channels, skel_out.n_joints, widths,
                lifter.channels, lifter.dropout, lifter.causal,
            )  # fmt: skip
    if not lifter.trajectory:
        return pose, None
    old_traj = getattr(lifter, "trajectory_module_", None)
    if previous is not None and old_traj is not None:
        return pose, copy.deepcopy(old_traj).set_dropout(lifter.dropout)
    return pose, _new_trajectory(pose, lifter.dropout, seed, targets, skel_out.root)


def _new_trajectory(pose, dropout, seed, targets, root):
    """The trajectory network: the pose network's architecture with one output joint."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)  # its own initial weights, not a copy of the pose net's
        net = TemporalConvNet(
            pose.n_joints_in, pose.in_features, 1, pose.filter_widths,
            pose.expand_conv.out_channels, dropout, pose.causal,
        )  # fmt: skip
    # Start from the mean root position: metres away from a zero output, the network would
    # otherwise spend its first epochs learning the offset.
    mean_root = np.concatenate([t[:, root] for t in targets]).mean(axis=0)
    with torch.no_grad():
        net.shrink.bias.copy_(torch.from_numpy(mean_root.astype(np.float32)))
    return net


def split_validation(n_videos, early_stopping, fraction, rng):
    """Indices of the training and the validation videos (whole videos, none without
    ``early_stopping``)."""
    order = np.arange(n_videos)
    if not early_stopping:
        return order, order[:0]
    if n_videos < 2:
        raise ValueError(
            "early_stopping holds out whole videos for validation and needs at least 2 "
            f"videos, got {n_videos}"
        )
    order = rng.permutation(n_videos)
    n_val = min(max(1, round(fraction * n_videos)), n_videos - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def check_root_depth(targets, name="y", root=0, indices=None) -> None:
    """Raise if a ground-truth root is at or behind the camera (WMPJPE weights by ``1 / z``).

    ``root`` is the output skeleton's root joint; ``indices`` are the positions of ``targets``
    in the caller's ``y`` (for the message).
    """
    for i, target in zip(range(len(targets)) if indices is None else indices, targets):
        depth = target[:, root, 2]
        bad = np.flatnonzero(~(depth > 0))
        if len(bad):
            raise ValueError(
                f"{name}[{i}] has its root joint (joint {root}) at z = {depth[bad[0]]:.4g} at "
                f"frame {bad[0]} ({len(bad)} such frames): the trajectory needs absolute "
                "camera-space poses in front of the camera (z > 0), since its loss weights "
                "each frame by 1 / z"
            )
