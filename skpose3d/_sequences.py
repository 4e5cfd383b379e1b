"""Validation of video input and clip sampling for training.

A *video* is an array ``(n_frames, n_joints, C)``. Users pass a list of videos (one sample per
video, so scikit-learn's splitters never cut one), a single 3-D array (one continuous video) or a
4-D array ``(n_videos, n_frames, n_joints, C)``. :func:`check_videos` turns all of these into a
list of float32 arrays and remembers the structure so that outputs can be given back in it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from .camera import normalize_screen_coordinates
from .nn.inference import pad_edges


@dataclass(frozen=True)
class VideoStructure:
    """How the caller passed the videos: ``"list"``, ``"array3"`` (one video) or ``"array4"``."""

    kind: str

    def restore(self, videos: list[np.ndarray]):
        """Return per-video outputs in the structure the input had."""
        if self.kind == "array3":
            return videos[0]
        if self.kind == "array4":
            return np.stack(videos)
        out = np.empty(len(videos), dtype=object)
        out[:] = videos
        return out


def as_video_list(X, name: str) -> tuple[list, VideoStructure]:
    """The videos of ``X`` as a list (entries unchecked) and the structure ``X`` had.

    Accepts a list/tuple/1-D object array of videos, a 3-D array (one video), a 4-D array
    (a batch of equal videos) or a tensor; raises a ValueError or TypeError naming ``name``.
    """
    if X is None:
        raise ValueError(f"{name} is None: expected a list of videos (n_frames, n_joints, C)")
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 3:
            return [X], VideoStructure("array3")
        if X.ndim == 4:
            return list(X), VideoStructure("array4")
        raise ValueError(
            f"{name} has shape {X.shape}: expected one video (n_frames, n_joints, C), "
            "a batch (n_videos, n_frames, n_joints, C) or a list of videos"
        )
    if isinstance(X, np.ndarray) and X.ndim != 1:
        raise ValueError(f"{name} is an object array of shape {X.shape}: expected 1-D")
    if isinstance(X, list | tuple | np.ndarray):
        return list(X), VideoStructure("list")
    if torch.is_tensor(X):
        return as_video_list(X.detach().cpu().numpy(), name)
    raise TypeError(
        f"{name} must be a list of arrays (n_frames, n_joints, C) or an ndarray, "
        f"got {type(X).__name__}"
    )


def check_video(
    video, where: str, n_joints: int | None, channels, *, dtype=np.float32, finite=True,
    joints_note: str = "",
) -> np.ndarray:  # fmt: skip
    """One video as an array ``(n_frames, n_joints, C)``, or a ValueError naming ``where``.

    ``dtype=None`` keeps a floating dtype (other input becomes float64); ``finite=False`` lets
    NaN and inf through (the preprocessing transformers handle them); ``joints_note`` is
    appended to the wrong-joint-count message.
    """
    try:
        arr = np.asarray(video, dtype=dtype)
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} cannot be read as a numeric array: {exc}") from None
    if arr.ndim != 3:
        raise ValueError(
            f"{where} has {arr.ndim} dimensions (shape {arr.shape}): "
            "expected 3, (n_frames, n_joints, C)"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{where} has no frames")
    if arr.shape[2] not in channels:
        expected = (
            "2 (x, y) or 3 (x, y, confidence)"
            if tuple(channels) == (2, 3)
            else " or ".join(map(str, channels))
        )
        raise ValueError(
            f"{where} has {arr.shape[2]} channels per joint (shape {arr.shape}): "
            f"expected {expected}"
        )
    if n_joints is not None and arr.shape[1] != n_joints:
        raise ValueError(
            f"{where} has {arr.shape[1]} joints (shape {arr.shape}): "
            f"expected {n_joints}{joints_note}"
        )
    bad = ~np.isfinite(arr) if finite else None
    if bad is not None and bad.any():
        frame, joint, _ = np.argwhere(bad)[0]
        raise ValueError(
            f"{where} contains NaN or inf at frame {frame}, joint {joint} "
            f"({int(bad.any(axis=(1, 2)).sum())} bad frames in all)"
        )
    return arr


def check_videos(
    X, name: str = "X", *, n_joints: int | None = None, channels=(2, 3)
) -> tuple[list[np.ndarray], VideoStructure]:
    """Validate videos and return them as a list of float32 arrays plus their structure.

    Parameters
    ----------
    X : list of array-like, or ndarray of 3 or 4 dimensions
        The videos.
    name : str
        Argument name used in error messages.
    n_joints : int, optional
        Required number of joints.
    channels : tuple of int
        Allowed values per joint.

    Raises
    ------
    ValueError
        Naming the video (and frame, for non-finite values) that is wrong.
    """
    videos, structure = as_video_list(X, name)
    if len(videos) == 0:
        raise ValueError(f"{name} is empty: expected at least one video")
    checked = [
        check_video(v, f"{name}[{i}]" if structure.kind != "array3" else name, n_joints, channels)
        for i, v in enumerate(videos)
    ]
    if len({v.shape[2] for v in checked}) > 1:
        raise ValueError(f"the videos of {name} mix 2 and 3 channels per joint; use one format")
    return checked, structure


# Normalised screen coordinates lie in about [-1, 1] (x) and [-h/w, h/w] (y); keypoints a little
# outside the image stay within a few units. Pixel coordinates of any real image exceed 10 for
# almost every keypoint (a 10-pixel margin of a 1000-pixel image), so a maximum |x|, |y| above
# 10 means pixels with no image_size, not normalised keypoints.
PIXEL_THRESHOLD = 10.0


def warn_if_pixels(videos, name: str, *, stacklevel: int = 3) -> None:
    """Warn when 2D keypoints look like pixels although they should be normalised.

    Parameters
    ----------
    videos : list of ndarray (n_frames, n_joints, C)
        Checked videos; only the finite x, y values (the first two channels) are looked at.
    name : str
        Argument name for the message (e.g. ``"X"``, ``"X2d_unlabeled"``).
    """
    for i, video in enumerate(videos):
        xy = np.abs(video[..., :2])
        xy = xy[np.isfinite(xy)]
        if len(xy) and xy.max() > PIXEL_THRESHOLD:
            frame = int(np.argwhere(np.abs(video[..., :2]) > PIXEL_THRESHOLD)[0][0])
            warnings.warn(
                f"{name}[{i}] has 2D keypoints up to {xy.max():.4g} (first at frame {frame}), "
                f"but normalised screen coordinates lie in about [-1, 1]: these look like "
                "pixels. Set image_size=(width, height) on the lifter, or put "
                "skpose3d.preprocessing.ScreenNormalizer before it (unlabeled videos given "
                "to fit skip a Pipeline's steps: normalise them yourself)",
                UserWarning,
                stacklevel=stacklevel,
            )
            return


def normalised_videos(
    videos, image_size, name: str, *, stacklevel: int = 3, warn: bool = True
) -> list[np.ndarray]:
    """Videos in normalised screen units: divided by ``image_size`` (pixels), or as given.

    With ``image_size=None`` the videos should already be normalised: :func:`warn_if_pixels`
    warns (unless ``warn=False``) when they look like pixels; ``stacklevel`` points the warning
    at the user's call.
    """
    if image_size is None:
        if warn:
            warn_if_pixels(videos, name, stacklevel=stacklevel + 1)
        return videos
    return [normalize_screen_coordinates(v, *image_size).astype(np.float32) for v in videos]


def check_targets(y, videos: list[np.ndarray], name: str = "y", *, n_joints: int | None = None):
    """Validate 3D targets against their 2D input videos (one target video per input video).

    Returns
    -------
    list of ndarray (float32)
    """
    targets, _ = check_videos(y, name, n_joints=n_joints, channels=(3,))
    if len(targets) != len(videos):
        raise ValueError(f"{name} has {len(targets)} videos but X has {len(videos)}")
    for i, (t, v) in enumerate(zip(targets, videos)):
        if t.shape[0] != v.shape[0]:
            raise ValueError(f"{name}[{i}] has {t.shape[0]} frames but X[{i}] has {v.shape[0]}")
    return targets


def batch_indices(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """``order`` split into batches of ``batch_size``; a last batch of one joins the one before.

    BatchNorm cannot train on one value per channel, and the strided form's last layers have one
    row per clip: a lone last clip (e.g. 1025 frames at batch size 1024) would stop ``fit``.
    """
    parts = list(order.split(batch_size))
    if len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2:] = [torch.cat(parts[-2:])]
    return parts


class ClipBank:
    """All videos edge-padded and concatenated, to gather training clips by frame index.

    Parameters
    ----------
    videos : list of ndarray (n_frames, n_joints, C)
    pad_left, pad_right : int
        Edge-replicated frames added to each video; ``pad_left + pad_right + 1`` is the clip
        length and frame ``t`` of a video is predicted from its padded frames
        ``[t, t + clip_length)``.
    device : torch.device
    """

    def __init__(self, videos, pad_left: int, pad_right: int, device="cpu"):
        lengths = np.array([len(v) for v in videos])
        padded = [pad_edges(torch.from_numpy(v), pad_left, pad_right) for v in videos]
        self.data = torch.cat(padded).to(device)
        self.clip_length = pad_left + pad_right + 1
        padded_starts = np.concatenate([[0], np.cumsum(lengths + pad_left + pad_right)[:-1]])
        # Start of each frame's clip in ``data``: a frame's clip starts at its own padded index.
        self.clip_starts = torch.from_numpy(
            np.concatenate([s + np.arange(n) for s, n in zip(padded_starts, lengths)])
        ).to(device)
        self._offsets = torch.arange(self.clip_length, device=device)
        self._mirror_offset = None  # where the mirrored copy of ``data`` starts, once added

    def __len__(self) -> int:
        return len(self.clip_starts)

    def add_mirror(self, mirror) -> ClipBank:
        """Keep ``mirror(data)`` beside the data, so :meth:`clips` can gather mirrored clips.

        Mirroring (negate x, swap left/right joints) is exact and frame by frame, so a clip
        gathered from the mirrored copy equals the mirrored clip, at no cost per batch.
        """
        if self._mirror_offset is None:
            self._mirror_offset = len(self.data)
            self.data = torch.cat([self.data, mirror(self.data)])
        return self

    def clips(self, frame_ids: torch.Tensor, mirrored: torch.Tensor | None = None) -> torch.Tensor:
        """Clips ``(len(frame_ids), clip_length, n_joints, C)`` centred (or ending) on frames.

        ``mirrored`` (bool, one per frame id; needs :meth:`add_mirror`) picks mirrored clips.
        """
        starts = self.clip_starts[frame_ids]
        if mirrored is not None:
            starts = starts + mirrored * self._mirror_offset
        # One row gather over frames (index_select copies whole frames), not per element.
        rows = (starts[:, None] + self._offsets).view(-1)
        out = self.data.view(len(self.data), -1).index_select(0, rows)
        return out.view(len(frame_ids), self.clip_length, *self.data.shape[1:])
