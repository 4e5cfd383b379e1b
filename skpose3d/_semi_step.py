"""One training step of :class:`~skpose3d.SemiSupervisedLifter`: the labeled and the unlabeled
half of a batch through both networks at once, and the loss terms (§4 of the paper, plus the
optional multi-view term)."""

from __future__ import annotations

import torch

from .camera import flip_intrinsics, flip_keypoints, flip_poses
from .nn.losses import bone_length_loss, mpjpe_loss, multi_view_loss, weighted_mpjpe_loss
from .nn.projection import ProjectionLayer


class _SemiSupervisedStep:
    """One training step: labeled and unlabeled halves through both networks at once."""

    def __init__(self, lifter, ctx, target_offset: int):
        self.lifter, self.ctx = lifter, ctx
        self.target_offset = target_offset  # the predicted frame's position in its clip
        self.project = ProjectionLayer(distortion=lifter.projection == "distorted")
        self.parents = ctx.skel_out.parents
        self.root = ctx.skel_out.root

    def _flip_unlabeled(self, x, cams):
        """Mirror a random half of the unlabeled clips and their cameras; also return which."""
        flip = torch.from_numpy(self.ctx.rng.random(len(x)) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], flip_keypoints(x, self.ctx.skel_in), x)
        return x, torch.where(flip[:, None], flip_intrinsics(cams), cams), flip

    def _forward(self, x_lab, x_unl):
        """Poses (as the losses see them) and trajectories of both halves, labeled first."""
        x = torch.cat([x_lab, x_unl])  # one pass: both halves share BatchNorm statistics
        pose = self.ctx.trained_pose(self.ctx.module.forward_strided(x)[:, 0])
        return pose, self.ctx.trajectory.forward_strided(x)[:, 0]

    def __call__(self, batch, epoch):
        if len(batch) == 2:  # warm-up: labeled data only
            return self.ctx.supervised_step(batch, epoch)
        x_lab, y_lab, x_unl, cams, *views = batch  # views: rotations and instants, or none
        flipped = None
        if self.lifter.flip_augmentation:
            x_lab, y_lab = self.ctx.flip_half(x_lab, y_lab)
            x_unl, cams, flipped = self._flip_unlabeled(x_unl, cams)
        n = len(x_lab)
        pose, traj = self._forward(x_lab, x_unl)
        root = y_lab[:, self.root : self.root + 1]
        keypoints = x_unl[:, self.target_offset]
        projected = self.project(pose[n:] + traj[n:], cams)
        if self.lifter.projection_confidence and keypoints.shape[-1] == 3:
            # The floor keeps the loss defined when every joint of the batch is missing.
            confidence = keypoints[..., 2] + 1e-6
            projection = weighted_mpjpe_loss(projected, keypoints[..., :2], confidence)
        else:
            projection = mpjpe_loss(projected, keypoints[..., :2])
        terms = {
            "pose": mpjpe_loss(pose[:n], y_lab - root),
            "trajectory": weighted_mpjpe_loss(traj[:n], root, 1 / root[..., 2]),
            "projection": projection,
            "bone_length": bone_length_loss(
                pose[n:], pose[:n], self.parents, norm=self.lifter.bone_length_norm
            ),
        }
        terms["loss"] = (
            terms["pose"]
            + terms["trajectory"]
            + self.lifter.projection_weight * terms["projection"]
            + self.lifter.bone_length_weight * terms["bone_length"]
        )
        if views:
            terms["multi_view"] = self._multi_view(pose[n:], flipped, *views)
            terms["loss"] = terms["loss"] + self.lifter.multi_view_weight * terms["multi_view"]
        return terms

    def _multi_view(self, pose, flipped, rotations, instants):
        """The multi-view term of the unlabeled poses (in their cameras' frames)."""
        if flipped is not None:  # a mirrored clip predicts the mirrored body: mirror it back
            pose = torch.where(flipped[:, None, None], flip_poses(pose, self.ctx.skel_out), pose)
        _, groups = torch.unique(instants, return_inverse=True)
        return multi_view_loss(pose, rotations.to(pose.dtype), groups)
