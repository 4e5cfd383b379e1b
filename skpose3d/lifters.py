"""scikit-learn estimators lifting 2D keypoint videos to 3D poses, thin over :mod:`skpose3d.nn`."""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._sequences import ClipBank, check_targets, check_videos
from ._training import run_epochs
from .camera import flip_keypoints, flip_poses, normalize_screen_coordinates
from .metrics import mpjpe
from .nn.fused import FusedTemporalConvNet
from .nn.inference import predict_sequence, sequence_padding
from .nn.losses import mpjpe_loss, weighted_mpjpe_loss
from .nn.temporal import TemporalConvNet, check_filter_widths
from .skeleton import get_skeleton

_PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; anything else is passed to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _check_image_size(image_size):
    if image_size is None:
        return None
    try:
        width, height = (float(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_size must be None or (width, height) in pixels, got {image_size!r}"
        ) from None
    if not (width > 0 and height > 0 and np.isfinite(width) and np.isfinite(height)):
        raise ValueError(f"image_size must be positive (width, height), got {image_size!r}")
    return width, height


class TemporalPoseLifter(RegressorMixin, BaseEstimator):
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
        Layout of the 3D poses; None means the same as ``input_skeleton``.
    image_size : (width, height) or None, default=None
        Pixel size of the images the keypoints come from; the lifter then normalises them to the
        paper's screen coordinates. None means the keypoints are already normalised.
    n_epochs : int, default=20
        Training epochs (the paper uses 80).
    batch_size : int, default=256
        Clips (predicted frames) per batch (the paper uses 1024).
    learning_rate : float, default=1e-3
        Initial Amsgrad learning rate.
    lr_decay : float, default=0.95
        Learning-rate factor applied after each epoch.
    flip_augmentation : bool, default=True
        Mirror half of each training batch horizontally (left and right joints swapped).
    test_time_flip : bool, default=True
        Average each prediction with the un-mirrored prediction of the mirrored input.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training *videos* (whole videos) and keep the
        epoch with the lowest validation MPJPE; stop after ``n_iter_no_change`` epochs without
        improvement.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        Arithmetic used by ``predict`` (autocast). bfloat16 is fast on CPUs with AVX-512 bf16 and
        on GPUs; float16 is for GPUs.
    chunk_frames : int, default=10000
        ``predict`` processes long videos in chunks of this many output frames; the result equals
        one pass over the whole video while memory stays bounded.
    device : str, default="auto"
        ``"auto"`` picks CUDA when available, else CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order, augmentation and dropout.
    verbose : int, default=0
        1 shows a progress bar over epochs (tqdm if installed, else one line per epoch).
    warm_start : bool, default=False
        Continue from the fitted network on the next ``fit`` instead of starting afresh.
    trajectory : bool, default=False
        Also fit a trajectory network (same architecture, separate weights, one output joint:
        the root's camera-space position) with the paper's WMPJPE loss, each frame weighted by
        ``1 / z`` of its ground-truth root; ``predict`` then returns **absolute** camera-space
        poses (root-relative pose + trajectory). ``y`` must then be absolute camera-space poses
        with the root in front of the camera (z > 0).

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
    The defaults train in minutes on a laptop CPU. The paper's Human3.6M configuration is
    ``filter_widths=(3, 3, 3, 3, 3), channels=1024, dropout=0.25, n_epochs=80,
    batch_size=1024, learning_rate=1e-3, lr_decay=0.95`` (16.95 M parameters, 243 frames); for
    HumanEva it uses ``filter_widths=(3, 3, 3), batch_size=128, lr_decay=0.996,
    n_epochs=1000``. BatchNorm momentum decays from 0.1 to 0.001 over the epochs, but never
    below one over the number of batches per epoch, so that small data sets keep updating it.

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

    _parameter_constraints = {
        "filter_widths": ["array-like"],
        "channels": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "causal": ["boolean"],
        "input_skeleton": [str, object],
        "output_skeleton": [str, object, None],
        "image_size": ["array-like", None],
        "n_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "lr_decay": [Interval(numbers.Real, 0, 1, closed="right")],
        "flip_augmentation": ["boolean"],
        "test_time_flip": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "precision": [StrOptions(set(_PRECISIONS))],
        "chunk_frames": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "trajectory": ["boolean"],
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
        trajectory=False,
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

    # -- scikit-learn protocol ---------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.non_deterministic = self.device != "cpu" and torch.cuda.is_available()
        return tags

    def __getstate__(self):
        # Keep pickles loadable on CPU-only machines.
        state = self.__dict__.copy()
        for key in ("module_", "trajectory_module_"):
            if state.get(key) is not None:
                state[key] = copy.deepcopy(state[key]).cpu()
        return state

    # -- input handling ----------------------------------------------------------------------

    def _check_config(self):
        """Validate hyper-parameters; return (widths, input skeleton, output skeleton, size)."""
        self._validate_params()
        widths = check_filter_widths(self.filter_widths)
        skel_in = get_skeleton(self.input_skeleton)
        skel_out = skel_in if self.output_skeleton is None else get_skeleton(self.output_skeleton)
        return widths, skel_in, skel_out, _check_image_size(self.image_size)

    def _prepare_inputs(self, videos, image_size) -> list[np.ndarray]:
        if image_size is None:
            return videos
        return [normalize_screen_coordinates(v, *image_size).astype(np.float32) for v in videos]

    def _validated_X(self, X, name="X"):
        """Validate ``X`` for a fitted lifter; return normalised videos and their structure."""
        check_is_fitted(self, "module_")
        videos, structure = check_videos(X, name, n_joints=self.n_joints_in_)
        if videos[0].shape[2] != self.n_channels_in_:
            raise ValueError(
                f"{name} has {videos[0].shape[2]} channels per joint but the lifter was fitted "
                f"on {self.n_channels_in_}"
            )
        return self._prepare_inputs(videos, _check_image_size(self.image_size)), structure

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, X, y, X_unlabeled=None, intrinsics=None):
        """Fit the lifter on 2D keypoint videos and their 3D poses.

        Parameters
        ----------
        X : list of ndarray (n_frames, n_joints, 2 or 3)
            2D keypoints per video (x, y and optionally a confidence value), in pixels when
            ``image_size`` is set, otherwise in normalised screen coordinates.
        y : list of ndarray (n_frames, n_joints_out, 3)
            3D poses in camera space (metres), one per video, as long as its ``X`` video.
        X_unlabeled : ignored
            Accepted so that this lifter and :class:`SemiSupervisedLifter` are interchangeable;
            a warning is issued when given.
        intrinsics : ignored
            Idem.

        Returns
        -------
        self
        """
        if X_unlabeled is not None or intrinsics is not None:
            warnings.warn(
                "TemporalPoseLifter is supervised and ignores X_unlabeled and intrinsics; use "
                "SemiSupervisedLifter to learn from unlabeled video",
                UserWarning,
                stacklevel=2,
            )
        widths, skel_in, skel_out, image_size = self._check_config()
        videos, _ = check_videos(X, "X", n_joints=skel_in.n_joints)
        targets = check_targets(y, videos, "y", n_joints=skel_out.n_joints)
        if self.trajectory:
            check_root_depth(targets, "y")
        videos = self._prepare_inputs(videos, image_size)
        self._fit_networks(videos, targets, widths, skel_in, skel_out)
        return self

    def _fit_networks(self, videos, targets, widths, skel_in, skel_out, unlabeled=None):
        """Build or reuse the network, train it, then commit every fitted attribute at once."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        device = resolve_device(self.device)
        module = self._initial_module(widths, skel_in, skel_out, videos[0].shape[2], seed)
        module.to(device)
        trajectory = None
        if self.trajectory:
            trajectory = self._initial_trajectory(module, seed, targets).to(device)
        rng = np.random.default_rng(seed)
        train_idx, val_idx = self._split_validation(len(videos), rng)
        ctx = _FitContext(self, module, skel_in, skel_out, device, rng, trajectory)
        ctx.unlabeled = unlabeled
        history: list[dict] = []
        error = None
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            try:
                self._run_training(ctx, videos, targets, train_idx, val_idx, history)
            except FloatingPointError as exc:
                error = exc
        if history:
            self._commit(module, history, skel_in, skel_out, videos[0].shape[2], trajectory)
        if error is not None:
            raise error

    def _initial_module(self, widths, skel_in, skel_out, n_channels, seed):
        if self.warm_start and hasattr(self, "module_"):
            same = (
                self.module_.filter_widths == widths
                and self.module_.n_joints_in == skel_in.n_joints
                and self.module_.n_joints_out == skel_out.n_joints
                and self.module_.in_features == n_channels
                and self.module_.causal == bool(self.causal)
                and self.module_.expand_conv.out_channels == self.channels
            )
            if same:
                return copy.deepcopy(self.module_)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return TemporalConvNet(
                skel_in.n_joints, n_channels, skel_out.n_joints, widths,
                self.channels, self.dropout, self.causal,
            )  # fmt: skip

    def _initial_trajectory(self, module, seed, targets):
        """The trajectory network: the pose network's architecture with one output joint."""
        previous = getattr(self, "trajectory_module_", None)
        if self.warm_start and previous is not None:
            keys = ("filter_widths", "n_joints_in", "in_features", "causal")
            same = all(getattr(previous, k) == getattr(module, k) for k in keys)
            if same and previous.expand_conv.out_channels == module.expand_conv.out_channels:
                return copy.deepcopy(previous)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)  # its own initial weights, not a copy of the pose net's
            net = TemporalConvNet(
                module.n_joints_in, module.in_features, 1, module.filter_widths,
                module.expand_conv.out_channels, self.dropout, module.causal,
            )  # fmt: skip
        # Start from the mean root position: metres away from a zero output, the network
        # would otherwise spend its first epochs learning the offset.
        mean_root = np.concatenate([t[:, 0] for t in targets]).mean(axis=0)
        with torch.no_grad():
            net.shrink.bias.copy_(torch.from_numpy(mean_root.astype(np.float32)))
        return net

    def _split_validation(self, n_videos, rng):
        order = np.arange(n_videos)
        if not self.early_stopping:
            return order, order[:0]
        if n_videos < 2:
            raise ValueError(
                "early_stopping holds out whole videos for validation and needs at least 2 "
                f"videos, got {n_videos}"
            )
        order = rng.permutation(n_videos)
        n_val = min(max(1, round(self.validation_fraction * n_videos)), n_videos - 1)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _run_training(self, ctx, videos, targets, train_idx, val_idx, history):
        bank = ClipBank(
            [videos[i] for i in train_idx], *sequence_padding(ctx.module), device=ctx.device
        )
        # Absolute poses: the step makes them root-relative and the trajectory uses the root.
        poses = torch.from_numpy(np.concatenate([targets[i] for i in train_idx])).to(ctx.device)
        batches, step = self._training_plan(ctx, bank, poses)
        validate = None
        if len(val_idx):
            val_x = [videos[i] for i in val_idx]
            val_y = [targets[i] for i in val_idx]
            validate = lambda: ctx.validation_error(val_x, val_y)  # noqa: E731
        optimizer = torch.optim.Adam(ctx.networks.parameters(), lr=self.learning_rate, amsgrad=True)
        run_epochs(
            ctx.networks, optimizer, batches, step,
            n_epochs=self.n_epochs, lr_decay=self.lr_decay, validate=validate,
            n_iter_no_change=self.n_iter_no_change if self.early_stopping else None,
            batches_per_epoch=-(-len(bank) // self.batch_size),
            verbose=self.verbose, history=history,
        )  # fmt: skip

    def _training_plan(self, ctx, bank, poses):
        """``(batches, step)``: an epoch's batches (a function of the epoch) and the step that
        trains on one batch. Here: shuffled labeled clips, one predicted frame each."""

        def batches(epoch):
            order = torch.from_numpy(ctx.rng.permutation(len(bank))).to(ctx.device)
            for ids in order.split(self.batch_size):
                yield bank.clips(ids), poses[ids]

        return batches, ctx.supervised_step

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
        """Predict root-relative 3D poses (metres, camera axes) for every frame of every video.

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
        poses = self._predict_videos(videos)
        if getattr(self, "trajectory_module_", None) is not None:
            poses = [p + t for p, t in zip(poses, self._predict_trajectories(videos))]
        return structure.restore(poses)

    def _predict_trajectories(self, videos) -> list[np.ndarray]:
        """Camera-space root positions (n_frames, 1, 3) per video from the trajectory network."""
        mirror = torch.tensor([-1.0, 1.0, 1.0])  # a flipped root is mirrored in x only
        roots = self._run_network(self.trajectory_module_, videos, lambda r: r * mirror.to(r))
        return [root.cpu().numpy() for root in roots]

    def _predict_videos(self, videos) -> list[np.ndarray]:
        """Root-relative poses per video from the pose network."""
        unflip = lambda p: flip_poses(p, self.output_skeleton_)  # noqa: E731
        return [
            (p - p[:, :1]).cpu().numpy() for p in self._run_network(self.module_, videos, unflip)
        ]

    def _run_network(self, network, videos, unflip) -> list[torch.Tensor]:
        """``network`` over every video (float32 outputs), averaged with its flipped input.

        BatchNorm is folded into the convolutions and the weights are cast once to the
        requested precision (faster than autocasting every op); the last layer stays float32.
        ``unflip`` maps the output for the mirrored video back to the original's frame.
        """
        device = resolve_device(self.device)
        module = FusedTemporalConvNet(network.to(device).eval(), _PRECISIONS[self.precision])
        outputs = []
        for video in videos:
            x = torch.from_numpy(video).to(device)
            out = predict_sequence(module, x, self.chunk_frames)
            if self.test_time_flip:
                x_flipped = flip_keypoints(x, self.input_skeleton_)
                out = (out + unflip(predict_sequence(module, x_flipped, self.chunk_frames))) / 2
            outputs.append(out.float())
        return outputs

    def score(self, X, y, sample_weight=None):
        """Negative MPJPE (root-relative, metres) of ``predict(X)`` against ``y``.

        Greater is better, as scikit-learn's model selection expects.
        """
        return -mpjpe(y, self.predict(X), sample_weight=sample_weight)

    # -- persistence (format and checks in skpose3d/persistence.py) ----------------------------

    def save(self, path):
        """Write the lifter to ``path`` in a format that runs no code when loaded.

        JSON parameters and fitted attributes plus tensor-only weights in one zip file; see
        :mod:`skpose3d.persistence`. Returns the path.
        """
        from .persistence import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Load a lifter written by :meth:`save`; ``device`` overrides the saved device.

        Raises ``ValueError`` naming the file if it is truncated, corrupted, not a skpose3d
        model, or holds an estimator that is not a ``cls``.
        """
        from .persistence import load_model

        model = load_model(path, device=device)
        if not isinstance(model, cls):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


class _FitContext:
    """State one ``fit`` call shares between its training step and validation."""

    def __init__(self, lifter, module, skel_in, skel_out, device, rng, trajectory=None):
        self.lifter, self.module, self.trajectory = lifter, module, trajectory
        self.skel_in, self.skel_out = skel_in, skel_out
        self.device, self.rng = device, rng
        # What the epoch loop trains: one module, or both under one optimizer and BN schedule.
        self.networks = module if trajectory is None else _Networks(module, trajectory)

    def flip_half(self, x, y):
        """Mirror a random half of a batch: keypoints, poses and left/right joints."""
        flip = torch.from_numpy(self.rng.random(len(x)) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], flip_keypoints(x, self.skel_in), x)
        y = torch.where(flip[:, None, None], flip_poses(y, self.skel_out), y)
        return x, y

    def supervised_step(self, batch, epoch):
        x, y = batch
        if self.lifter.flip_augmentation:
            x, y = self.flip_half(x, y)
        pred = self.module.forward_strided(x)[:, 0]
        loss = mpjpe_loss(pred - pred[:, :1], y - y[:, :1])
        if self.trajectory is None:
            return {"loss": loss}
        root = y[:, :1]
        traj = self.trajectory.forward_strided(x)[:, 0]
        traj_loss = weighted_mpjpe_loss(traj, root, 1 / root[..., 2])
        return {"loss": loss + traj_loss, "pose": loss, "trajectory": traj_loss}

    def validation_error(self, videos, targets) -> float:
        self.module.eval()
        errors, frames = 0.0, 0
        for video, target in zip(videos, targets):
            pose = predict_sequence(self.module, torch.from_numpy(video).to(self.device))
            pose = (pose - pose[:, :1]).cpu().numpy()
            errors += mpjpe(target, pose) * len(video)
            frames += len(video)
        self.module.train()
        return errors / frames


class _Networks(torch.nn.ModuleDict):
    """Pose and trajectory networks trained together (one optimizer, one BatchNorm schedule)."""

    def __init__(self, pose, trajectory):
        super().__init__({"pose": pose, "trajectory": trajectory})

    def set_bn_momentum(self, momentum: float) -> None:
        for net in self.values():
            net.set_bn_momentum(momentum)


def check_root_depth(targets, name="y", root=0, indices=None) -> None:
    """Raise if a ground-truth root is at or behind the camera (WMPJPE weights by ``1 / z``).

    ``indices`` are the positions of ``targets`` in the caller's ``y`` (for the message).
    """
    for i, target in zip(range(len(targets)) if indices is None else indices, targets):
        depth = target[:, root, 2]
        bad = np.flatnonzero(~(depth > 0))
        if len(bad):
            raise ValueError(
                f"{name}[{i}] has its root joint at z = {depth[bad[0]]:.4g} at frame {bad[0]} "
                f"({len(bad)} such frames): the trajectory needs absolute camera-space poses "
                "in front of the camera (z > 0), since its loss weights each frame by 1 / z"
            )
