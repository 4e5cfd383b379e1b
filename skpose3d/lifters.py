"""scikit-learn estimators lifting 2D keypoint videos to 3D poses, thin over :mod:`skpose3d.nn`.

The estimator layer only: what one ``fit`` builds and shares lives in :mod:`._fit_context`, the
epoch loop in :mod:`._training`, whole-video prediction in :mod:`._prediction`, and the checks
of the run-time parameters (device, threads, presets) in :mod:`._lifter_params`.
"""

from __future__ import annotations

import warnings

from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ._fit_context import check_root_depth, fit_networks, labeled_batches, run_training
from ._lifter_files import StoredLifterMixin
from ._lifter_params import (
    LIFTER_CONSTRAINTS,
    PAPER_CONFIGS,
    renamed_unlabeled,
    resolve_device,
    resolve_n_jobs,
    torch_threads,
)  # fmt: skip
from ._prediction import predict_poses, predict_trajectories
from ._sequences import check_targets, check_videos, normalised_videos
from .camera import check_image_size
from .metrics import mpjpe
from .nn.temporal import check_filter_widths
from .skeleton import get_skeleton

__all__ = ["TemporalPoseLifter", "check_root_depth", "resolve_device"]


class TemporalPoseLifter(StoredLifterMixin, RegressorMixin, BaseEstimator):
    """Lift 2D keypoint videos to root-relative 3D poses with a dilated temporal conv network.

    The model of Pavllo et al. (CVPR 2019): training draws one-receptive-field clips from many
    videos per batch and predicts their centre frame (the strided form); ``predict`` runs the
    dilated form over whole videos, edge-padded so that every frame gets a pose.

    Parameters
    ----------
    filter_widths : tuple of int, default=(3, 3, 3)
        Odd convolution widths; the receptive field is their product (27 frames by default;
        the paper's best model uses ``(3, 3, 3, 3, 3)``, 243 frames; ``(1, 1, 1)`` is a
        single-frame model).
    channels : int, default=256
        Hidden channels (the paper uses 1024).
    dropout : float, default=0.25
        Dropout probability.
    causal : bool, default=False
        Use past frames only (real-time use).
    input_skeleton : str or Skeleton, default="h36m"
        Layout of the 2D keypoints (``"h36m"``, ``"coco"``, ``"mpii"`` or a ``Skeleton``).
    output_skeleton : str, Skeleton or None, default=None
        Layout of the 3D poses; None means the same as ``input_skeleton``. Predictions are
        relative to its root joint (``Skeleton.root``: the pelvis of h36m and mpii).
    image_size : (width, height) or None, default=None
        Pixel size of the images the keypoints come from; the lifter then normalises them to the
        paper's screen coordinates. None means the keypoints are already normalised (a
        UserWarning is issued at ``fit`` and ``predict`` when they look like pixels: some
        ``|x|`` or ``|y|`` above 10).
    n_epochs : int, default=20
        Training epochs (the paper uses 80).
    batch_size : int, default=256
        Clips (predicted frames) per batch (the paper uses 1024).
    learning_rate : float, default=1e-3
        Initial Amsgrad learning rate.
    lr_decay : float, default=0.95
        Learning-rate factor applied after each epoch.
    flip_augmentation : bool, default=True
        Mirror half of each training batch horizontally (left and right joints of the input
        skeleton swapped in ``X``, of the output skeleton in ``y``).
    test_time_flip : bool, default=True
        Average each prediction with the un-mirrored prediction of the mirrored input.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training *videos* (whole videos) and keep the
        epoch with the lowest validation MPJPE; stop after ``n_iter_no_change`` epochs without
        improvement.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        Number format of ``predict`` (training is float32). Not autocast: ``predict`` folds
        BatchNorm into the convolutions, casts those weights **once** to this format, rounds
        each input video to it and runs every hidden layer in it; the last layer and the outputs
        stay float32. bfloat16 is fast on CPUs with AVX-512 bf16; float16 is for GPUs.
    chunk_frames : int, default=10000
        ``predict`` processes long videos in chunks of this many output frames; the result equals
        one pass over the whole video while memory stays bounded.
    device : str or torch.device, default="auto"
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a
        ``torch.device``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order, augmentation and dropout.
    verbose : int, default=0
        1 shows a progress bar over epochs (tqdm if installed, else one line per epoch).
    warm_start : bool, default=False
        Continue from the fitted networks on the next ``fit`` (with the current ``dropout``)
        instead of starting afresh. The learning-rate and BatchNorm-momentum schedules and the
        optimizer state restart with every ``fit``. If the architecture changed (filter widths,
        channels, causal, joints or input channels) the networks cannot be reused: a
        UserWarning says what changed and training starts from fresh weights.
    trajectory : bool, default=False
        Also fit a trajectory network (same architecture, separate weights, one output joint:
        the root's camera-space position) with the paper's WMPJPE loss, each frame weighted by
        ``1 / z`` of its ground-truth root; ``predict`` then returns **absolute** camera-space
        poses (root-relative pose + trajectory). ``y`` must then be absolute camera-space poses
        with the root (``output_skeleton``'s) in front of the camera (z > 0).
    precise_bn : bool, default=True
        At the end of ``fit``, re-estimate every BatchNorm's running statistics for the final
        weights: reset them and average over up to 150 training batches drawn as in training
        (train mode with flips and dropout, no gradients, no weight update). Without it the
        statistics are a moving average over batches of earlier weights.
    n_jobs : int or None, default=None
        Torch threads used inside ``fit`` and ``predict`` (``torch.set_num_threads``, restored
        when the call returns or raises). None means 1; -1 means every core torch saw at
        import; -2 all but one.
    pose_loss : {"raw", "recentred"}, default="raw"
        What the training MPJPE compares with the root-relative target poses. ``"raw"``: the
        network's output as it is, so that its root output learns to be zero (the authors'
        code). ``"recentred"``: the output re-centred on its own predicted root first, which
        leaves a common translation of all joints untrained (the earlier default; on the large
        CMU set 2.5 mm worse at 20 epochs and 4.8 mm at 3, mean of 3 seeds each).
        ``predict`` re-centres either way.

    Attributes
    ----------
    module_ : TemporalConvNet
        The fitted network.
    trajectory_module_ : TemporalConvNet or None
        The fitted trajectory network (one output joint) when ``trajectory=True``, else None.
    history_ : list of dict
        Per epoch: ``loss`` (training MPJPE, metres), ``val_mpjpe`` (or None), ``seconds``, ``lr``.
        With ``trajectory=True`` ``loss`` is the sum of ``pose`` (MPJPE) and ``trajectory``
        (WMPJPE).
    n_iter_ : int
        Epochs run by the last ``fit``.
    receptive_field_ : int
        Input frames that one output frame depends on.
    input_skeleton_, output_skeleton_ : Skeleton
    n_joints_in_, n_channels_in_ : int
        Keypoints per frame and values per keypoint seen during ``fit``.

    Notes
    -----
    The defaults train in minutes on a laptop CPU. :meth:`paper_config` gives the paper's
    Human3.6M and HumanEva configurations. BatchNorm momentum decays from 0.1 to 0.001 over the
    epochs, but never below one over the number of batches per epoch.

    **Threads and reproducibility.** ``n_jobs=None`` is one thread: on a loaded 2-core machine
    it fitted 4.7-6x and predicted 17x faster than two (training guide); idle, a second thread
    can at best halve the time. CPU ``fit`` at a fixed ``random_state`` repeats bit for bit with
    the same thread count, torch build and CPU type; another thread count or CPU changes the
    rounding of sums and, slowly over the epochs, the result. CUDA training does not repeat.

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d import TemporalPoseLifter
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(40, 17, 2)) for _ in range(3)]
    >>> y = [rng.normal(size=(40, 17, 3)) for _ in range(3)]
    >>> lifter = TemporalPoseLifter(channels=32, n_epochs=1, random_state=0).fit(X, y)
    >>> lifter.predict(X)[0].shape
    (40, 17, 3)
    """

    _parameter_constraints = dict(LIFTER_CONSTRAINTS)

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
        trajectory=False,
        precise_bn=True,
        n_jobs=None,
        pose_loss="raw",
    ):
        self.filter_widths = filter_widths
        self.channels = channels
        self.dropout = dropout
        self.causal = causal
        self.input_skeleton = input_skeleton
        self.output_skeleton = output_skeleton
        self.image_size = image_size
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_decay = lr_decay
        self.flip_augmentation = flip_augmentation
        self.test_time_flip = test_time_flip
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.precision = precision
        self.chunk_frames = chunk_frames
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.trajectory = trajectory
        self.precise_bn = precise_bn
        self.n_jobs = n_jobs
        self.pose_loss = pose_loss

    @classmethod
    def paper_config(cls, dataset="h36m", **params):
        """A lifter with the paper's training configuration for ``dataset``.

        Parameters
        ----------
        dataset : {"h36m", "humaneva"}, default="h36m"
            ``"h36m"``: 243 frames ``(3, 3, 3, 3, 3)``, 1024 channels, dropout 0.25, 80 epochs,
            batch 1024, learning rate 1e-3, decay 0.95. ``"humaneva"``: 27 frames ``(3, 3, 3)``,
            1024 channels, dropout 0.25, 1000 epochs, batch 128, learning rate 1e-3, decay
            0.996 (skeletons stay the caller's: HumanEva's 15 joints are not bundled).
        **params
            Other constructor parameters; they may override the preset.

        Examples
        --------
        >>> from skpose3d import TemporalPoseLifter
        >>> lifter = TemporalPoseLifter.paper_config("h36m", device="cpu")
        >>> lifter.channels, lifter.filter_widths
        (1024, (3, 3, 3, 3, 3))
        """
        if dataset not in PAPER_CONFIGS:
            raise ValueError(f"dataset must be one of {sorted(PAPER_CONFIGS)}, got {dataset!r}")
        return cls(**{**PAPER_CONFIGS[dataset], **params})

    # -- scikit-learn protocol ---------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        try:
            tags.non_deterministic = resolve_device(self.device).type == "cuda"
        except ValueError:  # an invalid device fails at fit, with its own message
            tags.non_deterministic = False
        return tags

    # -- input handling ----------------------------------------------------------------------

    def _check_config(self):
        """Validate hyper-parameters; return (widths, input skeleton, output skeleton, size)."""
        self._validate_params()
        resolve_device(self.device)
        resolve_n_jobs(self.n_jobs)
        widths = check_filter_widths(self.filter_widths)
        skel_in = get_skeleton(self.input_skeleton)
        skel_out = skel_in if self.output_skeleton is None else get_skeleton(self.output_skeleton)
        return widths, skel_in, skel_out, check_image_size(self.image_size)

    def _validated_X(self, X, name="X"):
        """Validate ``X`` for a fitted lifter; return normalised videos and their structure."""
        check_is_fitted(self, "module_")
        resolve_device(self.device)
        videos, structure = check_videos(X, name, n_joints=self.n_joints_in_)
        if videos[0].shape[2] != self.n_channels_in_:
            raise ValueError(
                f"{name} has {videos[0].shape[2]} channels per joint but the lifter was fitted "
                f"on {self.n_channels_in_}"
            )
        size = check_image_size(self.image_size)
        return normalised_videos(videos, size, name, stacklevel=4), structure

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, X, y, X2d_unlabeled=None, intrinsics=None, *, X_unlabeled=None):
        """Fit the lifter on 2D keypoint videos and their 3D poses.

        Parameters
        ----------
        X : list of ndarray (n_frames, n_joints, 2 or 3)
            2D keypoints per video (x, y and optionally a confidence value), in pixels when
            ``image_size`` is set, otherwise in normalised screen coordinates.
        y : list of ndarray (n_frames, n_joints_out, 3)
            3D poses in camera space (metres), one per video, as long as its ``X`` video.
        X2d_unlabeled : ignored
            Accepted so that this lifter and :class:`SemiSupervisedLifter` are interchangeable;
            a warning is issued when given.
        intrinsics : ignored
            Idem.
        X_unlabeled : ignored
            Deprecated name of ``X2d_unlabeled`` (FutureWarning).

        Returns
        -------
        self
        """
        X2d_unlabeled = renamed_unlabeled(X2d_unlabeled, X_unlabeled)
        if X2d_unlabeled is not None or intrinsics is not None:
            warnings.warn(
                "TemporalPoseLifter is supervised and ignores X2d_unlabeled and intrinsics; use "
                "SemiSupervisedLifter to learn from unlabeled video",
                UserWarning,
                stacklevel=2,
            )
        widths, skel_in, skel_out, image_size = self._check_config()
        videos, _ = check_videos(X, "X", n_joints=skel_in.n_joints)
        targets = check_targets(y, videos, "y", n_joints=skel_out.n_joints)
        if self.trajectory:
            check_root_depth(targets, "y", root=skel_out.root)
        videos = normalised_videos(videos, image_size, "X", stacklevel=3)
        self._fit_networks(videos, targets, widths, skel_in, skel_out)
        return self

    def _fit_networks(self, videos, targets, widths, skel_in, skel_out, unlabeled=None):
        """Build or reuse the networks, train them, then commit every fitted attribute at once."""
        module, trajectory, history, error = fit_networks(
            self, videos, targets, widths, skel_in, skel_out, unlabeled
        )
        if history:
            self._commit(module, history, skel_in, skel_out, videos[0].shape[2], trajectory)
        if error is not None:
            raise error

    def _run_training(self, ctx, videos, targets, train_idx, val_idx, history):  # a hook
        run_training(self, ctx, videos, targets, train_idx, val_idx, history)

    def _training_plan(self, ctx, bank, poses):
        """``(batches, step)``: an epoch's batches (a function of the epoch) and the step that
        trains on one batch. Here: shuffled labeled clips, one predicted frame each."""

        return labeled_batches(ctx, bank, poses, self.batch_size), ctx.supervised_step

    def _commit(self, module, history, skel_in, skel_out, n_channels, trajectory=None):
        module.eval()
        self.module_ = module
        self.trajectory_module_ = None if trajectory is None else trajectory.eval()
        self.history_ = history
        self.n_iter_ = len(history)
        self.receptive_field_ = module.receptive_field
        self.input_skeleton_ = skel_in
        self.output_skeleton_ = skel_out
        self.n_joints_in_ = skel_in.n_joints
        self.n_channels_in_ = n_channels

    # -- prediction --------------------------------------------------------------------------

    def predict(self, X):
        """Predict 3D poses (metres, camera axes) for every frame of every video.

        Root-relative (zero at ``output_skeleton_.root``), or absolute camera-space poses when
        the lifter has a trajectory network.

        Parameters
        ----------
        X : list of ndarray (n_frames, n_joints, C) or ndarray
            Videos of any length >= 1 frame.

        Returns
        -------
        y_pred : ndarray
            A 1-D object array of ``(n_frames_i, n_joints_out, 3)`` arrays when ``X`` is a list;
            an array of the same structure when ``X`` is an ndarray.
        """
        videos, structure = self._validated_X(X)
        with torch_threads(self.n_jobs):
            poses = predict_poses(self, videos)
            if getattr(self, "trajectory_module_", None) is not None:
                poses = [p + t for p, t in zip(poses, predict_trajectories(self, videos))]
        return structure.restore(poses)

    def score(self, X, y, sample_weight=None):
        """Negative MPJPE (metres) of ``predict(X)`` against ``y``, both centred on the root.

        The root is the output skeleton's (``output_skeleton_.root``). Greater is better, as
        scikit-learn's model selection expects.
        """
        pred = self.predict(X)
        return -mpjpe(y, pred, root=self.output_skeleton_.root, sample_weight=sample_weight)
