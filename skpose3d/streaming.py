"""Real-time use of a causal lifter: one 2D frame in, that frame's 3D pose out.

:class:`StreamingLifter` wraps a fitted causal :class:`~skpose3d.TemporalPoseLifter` and keeps
each layer's past activations (:class:`skpose3d.nn.streaming.CausalStreamer`), so every new frame
costs one small matrix-vector product per layer instead of a pass over the receptive field.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._lifter_params import resolve_device
from .camera import check_image_size, flip_keypoints, flip_poses, normalize_screen_coordinates
from .lifters import TemporalPoseLifter
from .nn.streaming import CausalStreamer

__all__ = ["StreamingLifter", "benchmark_latency"]


class StreamingLifter:
    """Lift a live stream of 2D keypoint frames to 3D, one frame at a time.

    The pose returned for frame ``t`` equals ``lifter.predict`` on frames ``0..t`` of the same
    video (last frame), within float32 rounding: the first frames see the same edge padding
    (the first frame replicated ``receptive_field - 1`` times), keypoints in pixels are
    normalised with the lifter's ``image_size``, the output is root-relative, and with
    ``test_time_flip=True`` a mirrored stream runs beside the original and the two are averaged.
    Computation is float32 whatever the lifter's ``precision``.

    Parameters
    ----------
    lifter : TemporalPoseLifter
        A fitted lifter with ``causal=True`` (a non-causal lifter needs future frames).
        Its network is copied when the streamer is built; refitting the lifter later does not
        change the streamer.
    device : str, torch.device or None, default=None
        Where to compute; None follows the lifter's ``device`` parameter. For a single stream,
        the CPU often has lower latency than a GPU.

    Attributes
    ----------
    n_frames_seen : int
        Frames fed since construction or the last :meth:`reset`.
    receptive_field : int
        Frames of history each output depends on.

    Notes
    -----
    Per frame, each layer does one matrix-vector product over its cached window, so the cost
    does not grow with the receptive field's position in the video. Matrix-vector products
    gain little from several threads: on a busy CPU, ``torch.set_num_threads(1)`` often gives
    lower and steadier latency (``benchmarks/streaming_latency.py --threads 1``). Lifters
    with a trajectory network are not supported yet (``NotImplementedError``).

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d import TemporalPoseLifter
    >>> from skpose3d.streaming import StreamingLifter
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(40, 17, 2))]
    >>> y = [rng.normal(size=(40, 17, 3))]
    >>> lifter = TemporalPoseLifter(channels=16, n_epochs=1, causal=True, random_state=0)
    >>> stream = StreamingLifter(lifter.fit(X, y), device="cpu")
    >>> poses = [stream.step(frame) for frame in X[0][:5]]
    >>> np.allclose(poses, lifter.predict(X[0][:5]), atol=1e-5)
    True
    """

    def __init__(self, lifter: TemporalPoseLifter, device=None):
        if not isinstance(lifter, TemporalPoseLifter):
            raise TypeError(f"lifter must be a TemporalPoseLifter, got {type(lifter).__name__}")
        check_is_fitted(lifter, "module_")
        if not lifter.module_.causal:
            raise ValueError(
                "StreamingLifter needs a lifter fitted with causal=True: a non-causal lifter's "
                "pose for frame t depends on later frames; refit with causal=True"
            )
        if getattr(lifter, "trajectory_module_", None) is not None:
            raise NotImplementedError(
                "streaming a lifter with a trajectory network is not supported yet"
            )
        self.image_size = check_image_size(lifter.image_size)
        self.test_time_flip = bool(lifter.test_time_flip)
        self.input_skeleton = lifter.input_skeleton_
        self.output_skeleton = lifter.output_skeleton_
        self.n_joints_in, self.n_channels_in = lifter.n_joints_in_, lifter.n_channels_in_
        device = resolve_device(lifter.device if device is None else device)
        self._streamer = CausalStreamer(lifter.module_, device=device)
        self.receptive_field = self._streamer.receptive_field

    @property
    def n_frames_seen(self) -> int:
        return self._streamer.n_frames_seen

    def reset(self) -> None:
        """Start a new video: forget every cached frame."""
        self._streamer.reset()

    def _check_frame(self, frame) -> np.ndarray:
        where = f"frame {self.n_frames_seen}"
        try:
            arr = np.asarray(frame, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where} cannot be read as a numeric array: {exc}") from None
        expected = (self.n_joints_in, self.n_channels_in)
        if arr.shape != expected:
            raise ValueError(
                f"{where} has shape {arr.shape}: expected {expected} (n_joints, channels) as "
                "seen during fit"
            )
        if not np.isfinite(arr).all():
            joint = int(np.argwhere(~np.isfinite(arr))[0, 0])
            raise ValueError(f"{where} contains NaN or inf at joint {joint}")
        if self.image_size is not None:
            arr = normalize_screen_coordinates(arr, *self.image_size).astype(np.float32)
        return arr

    def step(self, frame) -> np.ndarray:
        """Feed the next frame and return its root-relative 3D pose.

        Parameters
        ----------
        frame : array-like of shape (n_joints, C)
            2D keypoints of one frame, in the units the lifter was fitted on (pixels when
            ``image_size`` is set).

        Returns
        -------
        ndarray of shape (n_joints_out, 3)
        """
        x = torch.from_numpy(self._check_frame(frame))[None]
        if self.test_time_flip:
            x = torch.cat([x, flip_keypoints(x, self.input_skeleton)])
        out = self._streamer.step(x)
        pose = out[0]
        if self.test_time_flip:
            pose = (pose + flip_poses(out[1], self.output_skeleton)) / 2
        return (pose - pose[:1]).cpu().numpy()

    def process(self, frames) -> np.ndarray:
        """Feed several frames in order (continuing the stream); return their poses.

        Parameters
        ----------
        frames : array-like of shape (n_frames, n_joints, C)

        Returns
        -------
        ndarray of shape (n_frames, n_joints_out, 3)
        """
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 3:
            raise ValueError(f"frames has shape {frames.shape}: expected (n_frames, n_joints, C)")
        poses = [self.step(frame) for frame in frames]
        if not poses:
            return np.zeros((0, self.output_skeleton.n_joints, 3), dtype=np.float32)
        return np.stack(poses)


def benchmark_latency(
    filter_widths=(3, 3, 3),
    channels=256,
    n_frames=500,
    warmup=50,
    test_time_flip=False,
    device="cpu",
    seed=0,
) -> dict:
    """Measure :meth:`StreamingLifter.step` latency on a randomly initialised causal lifter.

    Parameters
    ----------
    filter_widths : tuple of int, default=(3, 3, 3)
    channels : int, default=256
    n_frames : int, default=500
        Timed frames (after ``warmup`` untimed ones).
    warmup : int, default=50
    test_time_flip : bool, default=False
    device : str, default="cpu"
    seed : int, default=0

    Returns
    -------
    dict
        ``median_ms``, ``p99_ms``, ``mean_ms`` per frame, ``receptive_field`` and the settings.

    Examples
    --------
    >>> r = benchmark_latency((3, 3), channels=16, n_frames=20, warmup=2)
    >>> sorted(r)[:3]
    ['channels', 'device', 'filter_widths']
    """
    rng = np.random.default_rng(seed)
    # One short training epoch just to obtain a fitted lifter; the weights do not matter here.
    lifter = TemporalPoseLifter(
        filter_widths=tuple(filter_widths), channels=channels, causal=True, n_epochs=1,
        batch_size=64, test_time_flip=test_time_flip, device=device, random_state=seed,
    )  # fmt: skip
    lifter.fit([rng.normal(size=(32, 17, 2))], [rng.normal(size=(32, 17, 3))])
    stream = StreamingLifter(lifter, device=device)
    frames = rng.normal(size=(warmup + n_frames, 17, 2)).astype(np.float32)
    times = []
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    for i, frame in enumerate(frames):
        start = time.perf_counter()
        stream.step(frame)
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    times_ms = np.array(times) * 1e3
    return {
        "filter_widths": tuple(filter_widths),
        "channels": int(channels),
        "receptive_field": stream.receptive_field,
        "test_time_flip": bool(test_time_flip),
        "device": str(device),
        "n_frames": int(n_frames),
        "median_ms": float(np.median(times_ms)),
        "p99_ms": float(np.percentile(times_ms, 99)),
        "mean_ms": float(times_ms.mean()),
    }
