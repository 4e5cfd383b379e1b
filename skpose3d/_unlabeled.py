"""Unlabeled input of the semi-supervised lifter: videos, their cameras, and ``y``'s None entries.

Internal API of :mod:`skpose3d.semi_supervised` (which exports :class:`UnlabeledVideos`):
splitting ``y`` into labeled and unlabeled videos, gathering the unlabeled videos with one camera
each, the checks that name the argument, the video and the camera that is wrong, and the
endless shuffled stream that draws unlabeled clips.
"""

from __future__ import annotations

import numpy as np

from ._fit_context import check_root_depth
from ._sequences import as_video_list, check_videos, warn_if_pixels
from .camera import Intrinsics


class UnlabeledVideos:
    """Unlabeled videos (and their cameras) that scikit-learn passes to every fold whole.

    scikit-learn slices **every** fit parameter whose length equals the number of samples:
    ``GridSearchCV(...).fit(X, y, X2d_unlabeled=videos)`` with a plain list of as many unlabeled
    videos as labeled ones silently gives each fold a subset of the unlabeled videos, and a
    list of per-video intrinsics can be cut the same way. This wrapper has no ``len`` (nor
    ``shape``), so it always reaches ``fit`` whole.

    Parameters
    ----------
    videos : list of ndarray (n_frames, n_joints, C)
        2D keypoint videos in the same units and layout as the lifter's ``X``.
    intrinsics : Intrinsics or list of Intrinsics, optional
        The camera of all videos, or one per video (pixel units, see
        :class:`SemiSupervisedLifter`). None means ``fit``'s ``intrinsics`` are used.
    rotations : array-like of shape (n_videos, 3, 3), optional
        World-to-camera rotation ``R`` of each video's camera (``X_cam = R @ (X_world - T)``,
        as in :func:`~skpose3d.camera.world_to_camera`; e.g. ``make_views(...).rotations`` or
        a rig's calibration). Used only by ``multi_view_weight > 0``.
    recordings : sequence of hashable, optional
        Which recording each video is a view of: videos with the same label are synchronised
        views (one frame per instant, the same number of frames), e.g. ``views.video_ids``.
        Used only by ``multi_view_weight > 0``.

    Notes
    -----
    In a :class:`~sklearn.pipeline.Pipeline`, fit parameters go to the lifter step directly:
    unlabeled videos passed this way skip the steps before the lifter, so give them in the form
    the lifter sees (or use ``None`` entries of ``y``, which travel with ``X`` through the
    pipeline).

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d import Intrinsics, UnlabeledVideos
    >>> cam = Intrinsics(1145.0, 1144.0, 512.0, 515.0, width=1000, height=1000)
    >>> unlabeled = UnlabeledVideos([np.zeros((50, 17, 2))] * 3, intrinsics=cam)
    >>> unlabeled.n_videos, hasattr(unlabeled, "__len__")
    (3, False)
    """

    def __init__(self, videos, intrinsics=None, *, rotations=None, recordings=None):
        if isinstance(videos, UnlabeledVideos) or videos is None:
            raise TypeError("videos must be a list of arrays (n_frames, n_joints, C)")
        self.videos = list(videos) if isinstance(videos, list | tuple) else videos
        self.intrinsics = intrinsics
        self.rotations, self.recordings = rotations, recordings

    @property
    def n_videos(self) -> int:
        """int : Number of videos (deliberately not ``len``, which scikit-learn would slice)."""
        return len(as_video_list(self.videos, "X2d_unlabeled")[0])

    def __repr__(self) -> str:
        cams = "None" if self.intrinsics is None else type(self.intrinsics).__name__
        try:
            videos = f"<{self.n_videos} videos>"
        except (TypeError, ValueError):  # a repr must not fail on input that fit will reject
            videos = "<invalid videos>"
        views = "" if self.recordings is None else ", with recordings"
        return f"UnlabeledVideos({videos}, intrinsics={cams}{views})"


def is_missing(target) -> bool:
    """Whether an entry of ``y`` marks an unlabeled video."""
    return target is None


def split_labels(y, n_videos: int):
    """Indices of labeled and unlabeled (``None``) entries of ``y``, and ``y`` as a list."""
    if y is None:
        raise ValueError("y is None: give 3D poses per video (None for unlabeled videos)")
    if isinstance(y, np.ndarray) and y.dtype != object:
        y_list = [y] if y.ndim == 3 else list(y)
    elif isinstance(y, list | tuple | np.ndarray):
        y_list = list(y)
    else:
        raise TypeError(f"y must be a list of arrays (None for unlabeled), got {type(y).__name__}")
    if len(y_list) != n_videos:
        raise ValueError(f"y has {len(y_list)} videos but X has {n_videos}")
    unlabeled = [i for i, t in enumerate(y_list) if is_missing(t)]
    labeled = [i for i, t in enumerate(y_list) if not is_missing(t)]
    if not labeled:
        raise ValueError(
            f"y has no labeled video: all {n_videos} entries are None. The pose and trajectory "
            "networks need 3D poses for at least one video"
        )
    return labeled, unlabeled, y_list


def check_labeled(y_list, videos, labeled, n_joints, root):
    """The labeled targets, checked against their videos and for a root in front of the camera."""
    targets = []
    for i in labeled:
        where = f"y[{i}]"
        (target,), _ = check_videos(np.asarray(y_list[i]), where, n_joints=n_joints, channels=(3,))
        if len(target) != len(videos[i]):
            raise ValueError(f"{where} has {len(target)} frames but X[{i}] has {len(videos[i])}")
        targets.append(target)
    check_root_depth(targets, "y", root=root, indices=labeled)
    return targets


def camera_list(intrinsics, n_videos: int, name: str, what: str) -> list:
    """``intrinsics`` (None, one Intrinsics or a list of 1 or ``n_videos``) as one per video."""
    if intrinsics is None:
        return [None] * n_videos
    if isinstance(intrinsics, Intrinsics):
        return [intrinsics] * n_videos
    if isinstance(intrinsics, np.ndarray) and intrinsics.dtype != object:
        raise TypeError(
            f"{name} must be Intrinsics objects (pixel units and image size), got an array of "
            f"shape {intrinsics.shape}; build them with Intrinsics.from_vector(v, width, height)"
        )
    if not isinstance(intrinsics, list | tuple | np.ndarray):
        raise TypeError(
            f"{name} must be an Intrinsics or a list of them, got {type(intrinsics).__name__}"
        )
    cams = list(intrinsics)
    if len(cams) not in (1, n_videos):
        raise ValueError(
            f"{name} has {len(cams)} entries but there are {n_videos} {what}: give one "
            "Intrinsics for all or one per video (in cross-validation a list as long as X is "
            "sliced per fold; put the cameras in UnlabeledVideos(videos, intrinsics=...))"
        )
    return cams * n_videos if len(cams) == 1 else cams


def normalised_cameras(cams, image_size) -> np.ndarray:
    """Check ``(camera, where)`` pairs; return vectors in normalised screen units, (n, 9)."""
    vectors = []
    for cam, where in cams:
        if not isinstance(cam, Intrinsics):
            raise TypeError(
                f"{where} must be an Intrinsics (pixel units and image size), got {cam!r}; "
                "build one with Intrinsics.from_vector(v, width, height)"
            )
        if not (cam.fx > 0 and cam.fy > 0):
            raise ValueError(f"{where} has focal lengths ({cam.fx}, {cam.fy}); both must be > 0")
        if image_size is not None and (cam.width, cam.height) != image_size:
            raise ValueError(
                f"{where} is for a {cam.width}x{cam.height} image but the lifter's image_size is "
                f"{image_size[0]:g}x{image_size[1]:g}: the keypoints and the camera must be "
                "normalised with the same image size"
            )
        vectors.append(cam.normalized())
    return np.asarray(vectors, dtype=np.float32).reshape(-1, 9)


def unlabeled_inputs(videos, unlabeled, X2d_unlabeled, intrinsics, n_joints, image_size=None):
    """Gather the unlabeled videos (``None`` entries of y first) and one camera for each.

    ``X2d_unlabeled`` skips a Pipeline's steps: with ``image_size=None`` a warning says so when
    its videos look like pixels (e.g. behind a ScreenNormalizer).
    """
    own = [videos[i] for i in unlabeled]
    extra, extra_cams = [], None
    if isinstance(X2d_unlabeled, UnlabeledVideos):
        extra_cams = X2d_unlabeled.intrinsics
        X2d_unlabeled = X2d_unlabeled.videos
    if X2d_unlabeled is not None:
        extra, _ = check_videos(X2d_unlabeled, "X2d_unlabeled", n_joints=n_joints)
        if extra[0].shape[2] != videos[0].shape[2]:
            raise ValueError(
                f"X2d_unlabeled has {extra[0].shape[2]} channels per joint but X has "
                f"{videos[0].shape[2]}"
            )
        if image_size is None:
            warn_if_pixels(extra, "X2d_unlabeled", stacklevel=4)
    if not own and not extra:
        return [], []
    if extra_cams is None:  # fit's intrinsics cover every unlabeled video
        what = f"unlabeled videos ({len(own)} None entries of y + {len(extra)} in X2d_unlabeled)"
        cams = camera_list(intrinsics, len(own) + len(extra), "intrinsics", what)
        wheres = [f"intrinsics[{k}]" for k in range(len(cams))]
    else:  # the wrapper's cameras cover its videos, fit's those of the None entries of y
        cams = camera_list(intrinsics if own else None, len(own), "intrinsics", "None in y")
        cams += camera_list(extra_cams, len(extra), "X2d_unlabeled.intrinsics", "videos in it")
        wheres = [f"intrinsics[{k}]" for k in range(len(own))]
        wheres += [f"X2d_unlabeled.intrinsics[{k}]" for k in range(len(extra))]
    names = [f"X[{i}]" for i in unlabeled] + [f"X2d_unlabeled[{k}]" for k in range(len(extra))]
    if any(cam is None for cam in cams):
        missing = names[[cam is None for cam in cams].index(True)]
        raise ValueError(
            f"unlabeled video {missing} has no camera: the projection loss needs intrinsics. "
            "Pass intrinsics=Intrinsics(...) (one for all, or one per unlabeled video) or "
            "X2d_unlabeled=UnlabeledVideos(videos, intrinsics=...)"
        )
    wheres = [f"{w} (camera of {n})" for w, n in zip(wheres, names)]
    return own + extra, list(zip(cams, wheres))


class EndlessIndices:
    """Shuffled frame indices of the unlabeled pool, reshuffled each time it runs out."""

    def __init__(self, n: int, rng):
        self.n, self.rng = n, rng
        self.order, self.pos = rng.permutation(n), 0

    def take(self, count: int) -> np.ndarray:
        parts = []
        while count > 0:
            if self.pos == self.n:
                self.order, self.pos = self.rng.permutation(self.n), 0
            part = self.order[self.pos : self.pos + count]
            self.pos += len(part)
            count -= len(part)
            parts.append(part)
        return np.concatenate(parts)
