"""Ablation probes of the semi-supervised step (issue 10): each changes one thing that the public
parameters cannot, by overriding one method of the lifter's step. Benchmark-only code.

- ``"no unlabeled flip"``: labeled clips are still mirrored, unlabeled clips and their cameras
  never are.
- ``"separate BN"``: the labeled and the unlabeled halves run through the networks in two
  passes, so each BatchNorm normalises each half with its own batch statistics.
- ``"true trajectory"``: the 2D loss projects the predicted pose plus the **true** root position
  (an oracle trajectory; the trajectory network is still trained on the labeled half). Set
  ``lifter.unlabeled_roots`` (one (n_frames, 1, 3) array per unlabeled video, in camera space)
  before ``fit``.
"""

from __future__ import annotations

import numpy as np
import torch

from skpose3d import SemiSupervisedLifter
from skpose3d.camera import flip_intrinsics, flip_keypoints
from skpose3d.semi_supervised import _SemiSupervisedStep


class _NoUnlabeledFlipStep(_SemiSupervisedStep):
    def _flip_unlabeled(self, x, cams):
        return x, cams


class _SeparateBatchNormStep(_SemiSupervisedStep):
    def _forward(self, x_lab, x_unl):
        nets = (self.ctx.module, self.ctx.trajectory)
        (pose_lab, traj_lab), (pose_unl, traj_unl) = (
            [net.forward_strided(x)[:, 0] for net in nets] for x in (x_lab, x_unl)
        )
        pose = self.ctx.trained_pose(torch.cat([pose_lab, pose_unl]))
        return pose, torch.cat([traj_lab, traj_unl])


class _TrueTrajectoryStep(_SemiSupervisedStep):
    """The batch's camera rows carry the true root (last 3 columns) of each unlabeled frame."""

    def __call__(self, batch, epoch):
        if len(batch) == 2:
            return super().__call__(batch, epoch)
        x_lab, y_lab, x_unl, cams_roots = batch
        self._roots = cams_roots[:, 9:]
        return super().__call__((x_lab, y_lab, x_unl, cams_roots[:, :9]), epoch)

    def _flip_unlabeled(self, x, cams):
        flip = torch.from_numpy(self.ctx.rng.random(len(x)) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], flip_keypoints(x, self.ctx.skel_in), x)
        mirrored = self._roots * torch.tensor([-1.0, 1.0, 1.0], dtype=self._roots.dtype)
        self._roots = torch.where(flip[:, None], mirrored, self._roots)
        return x, torch.where(flip[:, None], flip_intrinsics(cams), cams)

    def _forward(self, x_lab, x_unl):
        pose, traj = super()._forward(x_lab, x_unl)
        n = len(x_lab)
        return pose, torch.cat([traj[:n], self._roots[:, None].to(traj.dtype)])


def _probe(step_class, name):
    class Probe(SemiSupervisedLifter):
        def _training_plan(self, ctx, bank, poses):
            batches, step = super()._training_plan(ctx, bank, poses)
            if isinstance(step, _SemiSupervisedStep):
                step.__class__ = step_class
            return batches, step

    Probe.__name__ = Probe.__qualname__ = name
    return Probe


class _TrueTrajectoryLifter(_probe(_TrueTrajectoryStep, "_TrueTrajectoryBase")):
    unlabeled_roots = None

    def _frame_cameras(self, pool, vectors):
        cams = super()._frame_cameras(pool, vectors)
        roots = np.concatenate([r.reshape(-1, 3) for r in self.unlabeled_roots])
        return np.hstack([cams, roots.astype(cams.dtype)])


PROBES = {
    "no unlabeled flip": _probe(_NoUnlabeledFlipStep, "NoUnlabeledFlipLifter"),
    "separate BN": _probe(_SeparateBatchNormStep, "SeparateBatchNormLifter"),
    "true trajectory": _TrueTrajectoryLifter,
}
