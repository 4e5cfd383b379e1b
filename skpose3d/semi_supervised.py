"""Semi-supervised training by back-projection on unlabeled video (Pavllo et al. 2019, §4).

:class:`SemiSupervisedLifter` is a :class:`~skpose3d.TemporalPoseLifter` with a trajectory
network that also learns from videos without 3D labels: their predicted camera-space poses
(pose + trajectory) are projected back to the screen and compared with the input keypoints, and
the mean bone lengths of their predictions are pulled towards those of the labeled predictions.
:class:`UnlabeledVideos` passes unlabeled videos through scikit-learn's cross-validation whole.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ._lifter_params import renamed_unlabeled
from ._multi_view import SynchronisedFrames, check_views, frame_views
from ._semi_step import _SemiSupervisedStep
from ._sequences import ClipBank, batch_indices, check_videos, normalised_videos, warn_if_pixels
from ._unlabeled import (
    EndlessIndices,
    UnlabeledVideos,
    check_labeled,
    is_missing,
    normalised_cameras,
    split_labels,
    unlabeled_inputs,
)  # fmt: skip
from .lifters import TemporalPoseLifter
from .nn.inference import sequence_padding

__all__ = ["SemiSupervisedLifter", "UnlabeledVideos", "WARMUP_STEPS"]

WARMUP_STEPS = 200
"""int : Labeled-only optimizer steps that ``warmup_epochs="auto"`` asks for at least."""


class SemiSupervisedLifter(TemporalPoseLifter):
    """Temporal pose lifter that also learns from unlabeled 2D video by back-projection.

    Two networks of the same architecture are trained jointly: the pose network (root-relative
    3D poses) and a trajectory network (the root's camera-space position, one output joint).
    Each batch holds ``batch_size`` labeled and ``batch_size`` unlabeled clips in **one**
    forward pass (shared BatchNorm statistics) and minimises

    - MPJPE of the labeled root-relative poses;
    - WMPJPE of the labeled trajectories, each frame weighted by ``1 / z`` of its root;
    - ``projection_weight`` × the 2D MPJPE between the projection of (pose + trajectory) of
      each unlabeled clip and its input keypoints of the predicted frame (the clip's centre
      frame, or its last frame when ``causal``);
    - ``bone_length_weight`` × the difference between the mean bone lengths of the unlabeled
      and of the labeled predictions (lengths averaged over each half of the batch first, then
      the absolute difference per bone averaged over bones: an **L1** difference, as in the
      authors' code, although the paper's figure says L2; ``bone_length_norm="l2"`` takes the
      mean squared difference instead). It keeps the unlabeled poses from collapsing into
      whatever projects right;
    - ``multi_view_weight`` × the disagreement of synchronised views (beyond the paper; off by
      default, see the parameter).

    An epoch is one pass over the labeled frames; unlabeled clips are drawn in an endless
    shuffled stream. The first epochs (``warmup_epochs``) use labeled data only. ``predict``
    returns **absolute** camera-space poses (pose + trajectory); ``score`` is the negative
    root-relative MPJPE over the labeled videos of ``y``.

    Parameters
    ----------
    filter_widths, channels, dropout, causal, input_skeleton, output_skeleton, image_size, \
n_epochs, batch_size, learning_rate, lr_decay, flip_augmentation, test_time_flip, \
early_stopping, validation_fraction, n_iter_no_change, precision, chunk_frames, device, \
random_state, verbose, warm_start, precise_bn, n_jobs, pose_loss
        As in :class:`~skpose3d.TemporalPoseLifter`. ``precise_bn`` re-estimates the BatchNorm
        statistics on the batches of the last epoch's kind: labeled and unlabeled halves
        together after warm-up (the mixture the networks trained on). The output skeleton
        must equal the input skeleton (projected joints are compared with the keypoints). Flip
        augmentation mirrors unlabeled clips too, and their cameras (normalised ``c_x`` and
        ``p_1`` negated). ``pose_loss`` also decides which pose the 2D projection adds the
        trajectory to: the raw one (``"raw"``, as the authors' code) or the re-centred one.
    projection_weight : float, default=1.0
        Weight of the 2D reprojection loss (normalised screen units).
    bone_length_weight : float, default=1.0
        Weight of the bone-length term (0 removes it: the paper's ablation).
    warmup_epochs : int or "auto", default="auto"
        Epochs over labeled data only before the unlabeled half joins. ``"auto"``: the fewest
        epochs that make at least :data:`WARMUP_STEPS` (200) labeled-only optimizer steps
        (at least 1, at most ``n_epochs``), resolved in ``warmup_epochs_``. Every warm-up of
        the paper is that long or longer (1 epoch of subject S1 at batch 1024, 5 epochs of
        10% of S1 at batch 64, 20 epochs for tiny subsets); a fixed 1 epoch of a small
        labeled set (11 steps) made the lifter 82% worse than its supervised baseline in the
        benchmark (``benchmarks/semi_supervised_paper.py``). When the warm-up fills the whole
        schedule the unlabeled videos are not used and a UserWarning says so.
    projection : {"distorted", "linear"}, default="distorted"
        Lens model of the projection layer: radial k1-k3 and tangential p1, p2, or pinhole.
    projection_confidence : bool, default=False
        Weight each joint's 2D reprojection error by the detector confidence of its keypoint
        (the third input channel; ignored for 2-channel input), normalised by the batch's
        total confidence. Missing joints (confidence 0) then exert no pull, and likely
        outliers (low confidence) less. Not in the paper, whose 2D loss is unweighted.
    bone_length_norm : {"l1", "l2"}, default="l1"
        How the per-bone differences of the mean bone lengths are combined: ``"l1"`` their
        mean absolute value (the authors' code), ``"l2"`` their mean square (closer to the
        paper's figure). Both are then multiplied by ``bone_length_weight``.
    multi_view_weight : float, default=0.0
        Weight of the multi-view consistency term (beyond the paper; 0 = the paper's method).
        For unlabeled videos that are synchronised views of one recording by calibrated
        cameras (``UnlabeledVideos(..., rotations=..., recordings=...)``): the unlabeled half
        of each batch then holds one instant of a recording in all its views, and each view's
        predicted pose, rotated into the world frame, is pulled towards the views' mean
        (:func:`~skpose3d.nn.losses.multi_view_loss`), so one camera's depth is checked by
        another's image plane. On the benchmark's low-label protocol 0.3 (chosen by
        cross-validation on the labels) lowered MPJPE by 12% (held-out subject: 10%); 1.0 made
        it 9% worse (it outweighs the 2D loss).

    Attributes
    ----------
    module_, trajectory_module_ : TemporalConvNet
        The fitted pose and trajectory networks.
    history_ : list of dict
        Per epoch: ``loss`` (the weighted total), ``pose``, ``trajectory``, ``projection`` and
        ``bone_length`` and ``multi_view`` (unweighted terms; None in warm-up epochs, and
        ``multi_view`` None without the term), ``val_mpjpe``, ``seconds`` and ``lr``.
    n_unlabeled_videos_ : int
        Unlabeled videos given to the last ``fit``.
    warmup_epochs_ : int
        The warm-up epochs of the last ``fit`` (``warmup_epochs`` resolved).
    n_iter_, receptive_field_, input_skeleton_, output_skeleton_, n_joints_in_, n_channels_in_
        As in :class:`~skpose3d.TemporalPoseLifter`.

    Notes
    -----
    **Cameras.** ``intrinsics`` are in pixels. With ``image_size`` set, every camera must be
    for images of that size; with ``image_size=None`` (keypoints already normalised) each
    camera is normalised with its own width and height, so the keypoints of its video must
    have been normalised with that size too
    (:func:`~skpose3d.camera.normalize_screen_coordinates` with ``cam.width, cam.height``).

    **Cross-validation.** scikit-learn slices every fit parameter as long as ``X``. Pass
    unlabeled videos as :class:`UnlabeledVideos` (every fold gets all of them) or as entries
    of ``X`` whose ``y`` is None (each fold then uses those of its training part; ``score``
    skips them, other scorers need labeled test videos). A single ``Intrinsics`` is never
    sliced; a list of them is, when its length happens to equal the number of samples.

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d import Intrinsics, SemiSupervisedLifter, UnlabeledVideos
    >>> from skpose3d.camera import normalize_screen_coordinates, project
    >>> cam = Intrinsics(1000.0, 1000.0, 500.0, 500.0, width=1000, height=1000)
    >>> rng = np.random.default_rng(0)
    >>> poses = [rng.normal(scale=0.3, size=(40, 17, 3)) + [0, 0, 5] for _ in range(4)]
    >>> X = [normalize_screen_coordinates(project(p, cam), 1000, 1000) for p in poses]
    >>> lifter = SemiSupervisedLifter(channels=32, n_epochs=2, warmup_epochs=1, random_state=0)
    >>> _ = lifter.fit(X[:2], poses[:2], X2d_unlabeled=UnlabeledVideos(X[2:], intrinsics=cam))
    >>> lifter.predict(X[2:])[0].shape, sorted(lifter.history_[-1])[:3]
    ((40, 17, 3), ['bone_length', 'epoch', 'loss'])
    """

    trajectory = True  # not a parameter: back-projection needs the trajectory network

    _parameter_constraints = {
        **{k: v for k, v in TemporalPoseLifter._parameter_constraints.items() if k != "trajectory"},
        "projection_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "bone_length_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "warmup_epochs": [Interval(numbers.Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "projection": [StrOptions({"distorted", "linear"})],
        "projection_confidence": ["boolean"],
        "bone_length_norm": [StrOptions({"l1", "l2"})],
        "multi_view_weight": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        filter_widths=(3, 3, 3),
        channels=256,
        dropout=0.25,
        causal=False,
        input_skeleton="h36m",
        output_skeleton=None,
        image_size=None,
        n_epochs=20,
        batch_size=256,
        learning_rate=1e-3,
        lr_decay=0.95,
        flip_augmentation=True,
        test_time_flip=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        precision="float32",
        chunk_frames=10000,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        precise_bn=True,
        n_jobs=None,
        pose_loss="raw",
        projection_weight=1.0,
        bone_length_weight=1.0,
        warmup_epochs="auto",
        projection="distorted",
        projection_confidence=False,
        bone_length_norm="l1",
        multi_view_weight=0.0,
    ):
        # scikit-learn's get_params reads the explicit signature above; the base class stores
        # its parameters. Its ``trajectory`` is no parameter here: the class attribute fixes it
        # to True, so the instance copy the base just stored goes.
        super().__init__(
            filter_widths, channels, dropout, causal, input_skeleton, output_skeleton,
            image_size, n_epochs, batch_size, learning_rate, lr_decay, flip_augmentation,
            test_time_flip, early_stopping, validation_fraction, n_iter_no_change, precision,
            chunk_frames, device, random_state, verbose, warm_start,
            precise_bn=precise_bn, n_jobs=n_jobs, pose_loss=pose_loss,
        )  # fmt: skip
        del self.trajectory
        self.projection_weight = projection_weight
        self.bone_length_weight = bone_length_weight
        self.warmup_epochs = warmup_epochs
        self.projection = projection
        self.projection_confidence = projection_confidence
        self.bone_length_norm = bone_length_norm
        self.multi_view_weight = multi_view_weight

    def fit(self, X, y, X2d_unlabeled=None, intrinsics=None, *, X_unlabeled=None):
        """Fit on labeled videos and learn from unlabeled ones by back-projection.

        Parameters
        ----------
        X : list of ndarray (n_frames, n_joints, 2 or 3)
            2D keypoint videos, labeled and (where ``y`` is None) unlabeled.
        y : list of ndarray (n_frames, n_joints, 3) or None
            **Absolute** camera-space poses (metres, root at z > 0) of each video of ``X``, or
            None for an unlabeled video.
        X2d_unlabeled : UnlabeledVideos or list of ndarray, optional
            More unlabeled 2D videos. Wrap them in :class:`UnlabeledVideos` when
            cross-validating (``params={"X2d_unlabeled": UnlabeledVideos(...)}``). They reach
            the lifter directly, skipping a Pipeline's steps: a UserWarning is issued when they
            look like pixels while ``image_size`` is None.
        intrinsics : Intrinsics or list of Intrinsics, optional
            Pixel cameras of the unlabeled videos: one for all, or one per unlabeled video in
            the order (None entries of ``y``, then ``X2d_unlabeled``). If ``X2d_unlabeled``
            carries its own intrinsics, these cover the None entries of ``y`` only.
        X_unlabeled : optional
            Deprecated name of ``X2d_unlabeled`` (FutureWarning).

        Returns
        -------
        self
        """
        X2d_unlabeled = renamed_unlabeled(X2d_unlabeled, X_unlabeled)
        widths, skel_in, skel_out, image_size = self._check_config()
        if skel_in.n_joints != skel_out.n_joints or skel_in.parents != skel_out.parents:
            raise ValueError(
                f"SemiSupervisedLifter needs output_skeleton == input_skeleton (got "
                f"{skel_out.name!r} and {skel_in.name!r}): the projected 3D joints are "
                "compared with the 2D keypoints"
            )
        videos, _ = check_videos(X, "X", n_joints=skel_in.n_joints)
        labeled, unlabeled, y_list = split_labels(y, len(videos))
        targets = check_labeled(y_list, videos, labeled, skel_out.n_joints, skel_out.root)
        pool, cams = unlabeled_inputs(
            videos, unlabeled, X2d_unlabeled, intrinsics, skel_in.n_joints, image_size
        )
        vectors = normalised_cameras(cams, image_size)
        views = None
        if pool and self.multi_view_weight > 0:
            views = check_views(X2d_unlabeled, [len(v) for v in pool], n_own=len(unlabeled))
        if not pool:
            warnings.warn(
                "SemiSupervisedLifter got no unlabeled video: training is supervised only",
                UserWarning,
                stacklevel=2,
            )
        if image_size is None:
            warn_if_pixels(videos, "X", stacklevel=3)
        normalise = lambda vs: normalised_videos(vs, image_size, "X", warn=False)  # noqa: E731
        labeled_videos = normalise([videos[i] for i in labeled])
        warmup = self._resolved_warmup(sum(map(len, labeled_videos))) if pool else self.n_epochs
        extra = (normalise(pool), vectors, warmup, views) if pool else None
        try:
            self._fit_networks(labeled_videos, targets, widths, skel_in, skel_out, unlabeled=extra)
        except FloatingPointError:  # the last good epoch was committed: describe it
            self.n_unlabeled_videos_, self.warmup_epochs_ = len(pool), warmup
            raise
        self.n_unlabeled_videos_, self.warmup_epochs_ = len(pool), warmup
        return self

    def _run_training(self, ctx, videos, targets, train_idx, val_idx, history):
        try:
            super()._run_training(ctx, videos, targets, train_idx, val_idx, history)
        finally:  # every row lists every term, also when training stopped early
            if ctx.unlabeled is not None:
                for row in history:
                    for key in ("pose", "trajectory", "projection", "bone_length", "multi_view"):
                        row.setdefault(key, None)

    def _training_plan(self, ctx, bank, poses):
        """Labeled clips alone during warm-up, then each with an unlabeled clip and its camera."""
        if ctx.unlabeled is None:
            return super()._training_plan(ctx, bank, poses)
        padding = sequence_padding(ctx.module)
        pool, vectors, warmup, views = ctx.unlabeled
        pool_bank = ClipBank(pool, *padding, device=ctx.device)
        cams = torch.from_numpy(self._frame_cameras(pool, vectors)).to(ctx.device)
        stream = self._unlabeled_frames(pool, ctx.rng, views)
        if views is not None:  # each frame's camera rotation and recording instant
            lengths = [len(v) for v in pool]
            views = [torch.from_numpy(a).to(ctx.device) for a in frame_views(lengths, *views)]

        def batches(epoch):
            order = torch.from_numpy(ctx.rng.permutation(len(bank))).to(ctx.device)
            for ids in batch_indices(order, self.batch_size):
                if epoch < warmup:
                    yield bank.clips(ids), poses[ids]
                else:
                    other = torch.from_numpy(stream.take(len(ids))).to(ctx.device)
                    extra = [] if views is None else [a[other] for a in views]
                    yield bank.clips(ids), poses[ids], pool_bank.clips(other), cams[other], *extra

        return batches, _SemiSupervisedStep(self, ctx, target_offset=padding[0])

    def _resolved_warmup(self, n_clips: int) -> int:
        """``warmup_epochs`` as a number of epochs for ``n_clips`` labeled clips (frames)."""
        warmup = self.warmup_epochs
        if warmup == "auto":
            steps_per_epoch = -(-n_clips // self.batch_size)
            warmup = min(max(1, -(-WARMUP_STEPS // steps_per_epoch)), self.n_epochs)
        if warmup >= self.n_epochs:
            warnings.warn(
                f"SemiSupervisedLifter: the warm-up ({warmup} epochs) covers all "
                f"n_epochs={self.n_epochs}, so the unlabeled videos are not used; raise "
                "n_epochs, or set warmup_epochs (auto: at least "
                f"{WARMUP_STEPS} labeled-only steps of batch_size={self.batch_size})",
                UserWarning,
                stacklevel=3,
            )
        return warmup

    def _unlabeled_frames(self, pool, rng, views=None):
        """The endless stream (``take(n)``) of frame indices into the concatenated ``pool``:
        shuffled frames, or with ``views`` (the multi-view term) whole groups of views."""
        if views is not None:
            return SynchronisedFrames([len(v) for v in pool], views[1], rng)
        return EndlessIndices(sum(map(len, pool)), rng)

    def _frame_cameras(self, pool, vectors) -> np.ndarray:
        """The normalised camera of every frame of the unlabeled ``pool`` (one row each)."""
        return np.repeat(vectors, [len(v) for v in pool], axis=0)

    def score(self, X, y, sample_weight=None):
        """Negative root-relative MPJPE (metres) over the labeled videos (``y`` not None).

        Greater is better. Entries of ``y`` that are None (unlabeled videos inside
        cross-validation) are skipped together with their ``X`` and ``sample_weight``.
        """
        if isinstance(y, list | tuple) or (isinstance(y, np.ndarray) and y.dtype == object):
            keep = [i for i, t in enumerate(y) if not is_missing(t)]
            if not keep:
                raise ValueError("y has no labeled video to score: all entries are None")
            if len(keep) < len(y):
                X = [X[i] for i in keep]
                y = [y[i] for i in keep]
                if sample_weight is not None:
                    sample_weight = np.asarray(sample_weight)[keep]
        return super().score(X, y, sample_weight=sample_weight)
