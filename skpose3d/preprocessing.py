"""Transformers for pipelines: screen normalisation, keypoint-format mapping and gap filling.

Every transformer maps over videos ``(n_frames, n_joints, C)`` and gives the output back in the
structure of its input (a list of videos gives a 1-D object array of videos, one ndarray gives
an ndarray), so it can precede a lifter in a :class:`~sklearn.pipeline.Pipeline` and be searched
over with :class:`~sklearn.model_selection.GridSearchCV`. None of them learns anything from the
data: ``fit`` validates its input and returns ``self``, and ``transform`` works unfitted.

A typical chain for 2D detector output in pixels with missing detections::

    GapFiller() -> KeypointMapper("coco", "h36m") -> ScreenNormalizer((w, h)) -> lifter

Filling gaps *before* mapping keeps a joint derived from several keypoints (e.g. the thorax,
from both shoulders) available when only one of its sources is missing.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval

from ._sequences import as_video_list as _as_list
from ._sequences import check_video as _check_video
from .camera import image_coordinates, normalize_screen_coordinates
from .skeleton import SKELETONS

__all__ = ["GapFiller", "KeypointMapper", "ScreenNormalizer"]


class _VideoTransformer(TransformerMixin, BaseEstimator):
    """Shared protocol: stateless, validating ``fit``, ``transform`` mapped over videos."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _check_config(self):
        """Validate the parameters; return what ``_transform_video`` needs."""
        self._validate_params()

    def _expected_joints(self):
        """(n_joints, description) the input must have; (None, "") for any."""
        return None, ""

    def _check_input(self, X, name="X"):
        videos, structure = _as_list(X, name)
        if len(videos) == 0:
            raise ValueError(f"{name} is empty: expected at least one video")
        n_joints, what = self._expected_joints()
        names = [name if structure.kind == "array3" else f"{name}[{i}]" for i in range(len(videos))]
        checked = [
            _check_video(v, w, n_joints, (2, 3), dtype=None, finite=False, joints_note=what)
            for v, w in zip(videos, names)
        ]
        return checked, names, structure

    def fit(self, X, y=None):
        """Validate the parameters and ``X``; nothing is learned.

        Parameters
        ----------
        X : list of array-like (n_frames, n_joints, C), or ndarray
            Keypoint videos.
        y : ignored
            Accepted for pipeline compatibility.

        Returns
        -------
        self
        """
        self._check_config()
        self._check_input(X)
        return self

    def transform(self, X):
        """Transform every video of ``X``.

        Parameters
        ----------
        X : list of array-like (n_frames, n_joints, C), or ndarray
            Keypoint videos.

        Returns
        -------
        X_new : ndarray
            A 1-D object array of videos when ``X`` is a list, an ndarray when ``X`` is one.
        """
        config = self._check_config()
        videos, names, structure = self._check_input(X)
        out = []
        for video, where in zip(videos, names):  # a loop, not a comprehension: see _fill's warning
            out.append(self._transform_video(video, where, config))
        return structure.restore(out)


class ScreenNormalizer(_VideoTransformer):
    """Map pixel keypoints to the paper's normalised screen coordinates, and back.

    ``x_norm = x / w * 2 - [1, h / w]``: x spans [-1, 1] over the image width and the aspect
    ratio is kept (see :func:`skpose3d.camera.normalize_screen_coordinates`). A confidence
    channel is passed through untouched; NaN stays NaN.

    Parameters
    ----------
    image_size : (width, height)
        Image size in pixels. It has no default because guessing it silently skews every pose;
        leaving it None raises an error in ``fit`` and ``transform``.

    See Also
    --------
    skpose3d.TemporalPoseLifter : Its ``image_size`` parameter does the same inside the lifter.

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d.preprocessing import ScreenNormalizer
    >>> video = np.array([[[0.0, 0.0, 0.9], [1000.0, 500.0, 0.4]]])  # 1 frame, 2 joints
    >>> norm = ScreenNormalizer(image_size=(1000, 500))
    >>> norm.transform(video).tolist()
    [[[-1.0, -0.5, 0.9], [1.0, 0.5, 0.4]]]
    >>> norm.inverse_transform(norm.transform([video]))[0].tolist()
    [[[0.0, 0.0, 0.9], [1000.0, 500.0, 0.4]]]
    """

    _parameter_constraints = {"image_size": ["array-like", None]}

    def __init__(self, image_size=None):
        self.image_size = image_size

    def _check_config(self):
        self._validate_params()
        if self.image_size is None:
            raise ValueError(
                "ScreenNormalizer needs image_size=(width, height) in pixels; it has no default"
            )
        try:
            width, height = (float(v) for v in self.image_size)
        except (TypeError, ValueError):
            raise ValueError(
                f"image_size must be (width, height) in pixels, got {self.image_size!r}"
            ) from None
        if not (np.isfinite([width, height]).all() and width > 0 and height > 0):
            raise ValueError(
                f"image_size must be positive (width, height), got {self.image_size!r}"
            )
        return width, height

    def _transform_video(self, video, where, size):
        return normalize_screen_coordinates(video, *size).astype(video.dtype, copy=False)

    def inverse_transform(self, X):
        """Map normalised screen coordinates back to pixels.

        Parameters
        ----------
        X : list of array-like (n_frames, n_joints, C), or ndarray
            Normalised keypoint videos.

        Returns
        -------
        X_pixels : ndarray
            In the structure of ``X``, like :meth:`transform`.
        """
        size = self._check_config()
        videos, _, structure = self._check_input(X)
        return structure.restore(
            [image_coordinates(v, *size).astype(v.dtype, copy=False) for v in videos]
        )


# Human3.6M's centre joints as the mean of named source joints. Every other (limb) joint takes
# the source joint of the same name, with Human3.6M's feet at the ankles.
_CENTRE_JOINTS = {
    ("coco", "h36m"): {
        "hip": ("left_hip", "right_hip"),
        "spine": ("left_hip", "right_hip", "left_shoulder", "right_shoulder"),
        "thorax": ("left_shoulder", "right_shoulder"),
        "neck_nose": ("nose",),
        "head": ("left_eye", "right_eye"),
    },
    ("mpii", "h36m"): {
        "hip": ("pelvis",),
        "spine": ("pelvis", "thorax"),
        "thorax": ("thorax",),
        "neck_nose": ("upper_neck",),
        "head": ("head_top",),
    },
}
# MediaPipe has every COCO keypoint under the same name (its eyes are the eye-centre landmarks
# 2 and 5), so its Human3.6M joints are derived exactly as COCO's: a model trained on mapped
# COCO input sees the same derived pelvis, spine, thorax and head from either detector.
_CENTRE_JOINTS["mediapipe", "h36m"] = _CENTRE_JOINTS["coco", "h36m"]
_CENTRE_JOINTS["mediapipe", "coco"] = {}


def _source_joints(source: str, target: str) -> list[list[int]]:
    """Indices of the source joints averaged into each target joint, in target order."""
    names, centre = SKELETONS[source].joint_names, _CENTRE_JOINTS[source, target]
    return [
        [names.index(n) for n in centre.get(joint, (joint.replace("foot", "ankle"),))]
        for joint in SKELETONS[target].joint_names
    ]


_SUPPORTED = ", ".join(
    [f"{s} -> {t}" for s, t in _CENTRE_JOINTS] + [f"{n} -> {n}" for n in sorted(SKELETONS)]
)


class KeypointMapper(_VideoTransformer):
    """Convert keypoints between skeleton presets (COCO-17, MPII-16, MediaPipe-33 to Human3.6M).

    Each target joint is a source joint or the mean of several, by common heuristics. (The
    paper prescribes none: it fine-tunes its detectors to Human3.6M's joints, or lifts COCO
    keypoints directly, which ``TemporalPoseLifter(input_skeleton="coco")`` also does.)

    ============== ================================== ======================================
    Human3.6M      from COCO-17                       from MPII-16
    ============== ================================== ======================================
    hip (pelvis)   mean of the hips                   pelvis
    spine          mean of hips and shoulders, i.e.   midpoint of pelvis and thorax
                   the midpoint of pelvis and thorax
    thorax         mean of the shoulders              thorax
    neck/nose      nose                               upper neck
    head           mean of the eyes                   head top
    limbs          same-named joint (feet = ankles)   same-named joint (feet = ankles)
    ============== ================================== ======================================

    MediaPipe/BlazePose-33 landmarks map to Human3.6M exactly as COCO-17 keypoints do (every
    COCO keypoint is a MediaPipe landmark of the same name; the eyes are MediaPipe's eye centres,
    landmarks 2 and 5), and to COCO-17 by keeping those 17 landmarks. The other 16 (eye corners,
    mouth, hands, heels and toes) are dropped.

    A third channel is taken as the detection confidence: a derived joint gets the *minimum*
    confidence of its sources, since it is only as reliable as its weakest source. A NaN
    source makes the derived joint NaN (fill gaps first with :class:`GapFiller`).

    Parameters
    ----------
    source : {"coco", "mpii", "mediapipe", "h36m"}, default="coco"
        Layout of the input keypoints.
    target : {"h36m", "coco", "mpii", "mediapipe"}, default="h36m"
        Layout of the output keypoints. Supported pairs: COCO -> Human3.6M, MPII -> Human3.6M,
        MediaPipe -> Human3.6M, MediaPipe -> COCO, and any preset to itself (a copy).

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d.preprocessing import KeypointMapper
    >>> coco = np.random.default_rng(0).uniform(0, 500, size=(10, 17, 3))  # x, y, confidence
    >>> h36m = KeypointMapper("coco", "h36m").transform(coco)
    >>> h36m.shape
    (10, 17, 3)
    >>> bool(np.allclose(h36m[:, 8, :2], coco[:, [5, 6], :2].mean(axis=1)))  # thorax
    True
    """

    _parameter_constraints = {"source": [str], "target": [str]}

    def __init__(self, source="coco", target="h36m"):
        self.source = source
        self.target = target

    def _pair(self):
        return self.source.strip().lower(), self.target.strip().lower()

    def _check_config(self):
        self._validate_params()
        source, target = self._pair()
        if source == target and source in SKELETONS:
            return None
        if (source, target) not in _CENTRE_JOINTS:
            raise ValueError(
                f"KeypointMapper cannot map source={self.source!r} to target={self.target!r}; "
                f"supported pairs: {_SUPPORTED}"
            )
        return _source_joints(source, target)

    def _expected_joints(self):
        source = self._pair()[0]
        return SKELETONS[source].n_joints, f" for source skeleton {source!r}"

    def _transform_video(self, video, where, sources):
        if sources is None:
            return video.copy()
        out = np.empty((video.shape[0], len(sources), video.shape[2]), dtype=video.dtype)
        for j, idx in enumerate(sources):
            out[:, j, :2] = video[:, idx, :2].mean(axis=1)
            if video.shape[2] == 3:
                out[:, j, 2] = video[:, idx, 2].min(axis=1)
        return out


class GapFiller(_VideoTransformer):
    """Fill missing keypoints by linear interpolation along time, per joint.

    A keypoint is missing when a coordinate is NaN or infinite, or (with a confidence channel)
    when its confidence is NaN or not above ``confidence_threshold``. Each joint's x and y are
    interpolated linearly between its valid frames; frames before the first or after the last
    valid frame hold the nearest valid value. Filled keypoints get confidence 0, since they
    were not detected.

    A joint that is missing in every frame of a video is placed, in each frame, at the mean of
    the other joints (the body centre) and a ``UserWarning`` names the video and joints: the
    lifter then still gets a plausible input. A video with no valid keypoint at all raises a
    ``ValueError``, because nothing sensible can be filled in.

    Parameters
    ----------
    confidence_threshold : float or None, default=0.0
        Keypoints with confidence ``<=`` this value count as missing. The default treats
        zero-confidence keypoints as missing (detectors such as OpenPose write ``(0, 0, 0)``
        for undetected joints). None ignores the confidence (only NaN/inf are missing).
        Unused for 2-channel input.
    drop_confidence : bool, default=False
        Return only x and y (2 channels) after filling.

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d.preprocessing import GapFiller
    >>> video = np.zeros((5, 1, 3))
    >>> video[:, 0, 0] = [0.0, np.nan, 2.0, 3.0, 9.0]  # x of one joint over 5 frames
    >>> video[:, 0, 2] = [1.0, 1.0, 1.0, 1.0, 0.0]  # the last frame was not detected
    >>> GapFiller().transform(video)[:, 0, 0].tolist()
    [0.0, 1.0, 2.0, 3.0, 3.0]
    >>> GapFiller(drop_confidence=True).transform(video).shape
    (5, 1, 2)
    """

    _parameter_constraints = {
        "confidence_threshold": [Interval(numbers.Real, None, None, closed="neither"), None],
        "drop_confidence": ["boolean"],
    }

    def __init__(self, confidence_threshold=0.0, drop_confidence=False):
        self.confidence_threshold = confidence_threshold
        self.drop_confidence = drop_confidence

    def _valid_mask(self, video):
        valid = np.isfinite(video[..., :2]).all(axis=-1)
        if video.shape[2] == 3:
            confidence = video[..., 2]
            valid &= np.isfinite(confidence)
            if self.confidence_threshold is not None:
                # NaN confidences compare False here and were already marked missing above.
                with np.errstate(invalid="ignore"):
                    valid &= confidence > self.confidence_threshold
        return valid

    def _transform_video(self, video, where, config):
        valid = self._valid_mask(video)
        out = video.copy() if valid.all() else _fill(video, valid, where)
        if self.drop_confidence:
            out = np.ascontiguousarray(out[..., :2])
        return out


def _fill(video, valid, where):
    """Interpolate the invalid keypoints of one video (see :class:`GapFiller`)."""
    if not valid.any():
        raise ValueError(
            f"{where} has no valid keypoint in any frame (all NaN or below the confidence "
            "threshold); there is nothing to fill the gaps from"
        )
    out = video.copy()
    frames = np.arange(len(video))
    never = []
    for joint in range(video.shape[1]):
        ok = valid[:, joint]
        if ok.all():
            continue
        if not ok.any():
            never.append(joint)
            continue
        for c in range(2):
            # np.interp holds the end values outside the valid range: edges are held.
            out[:, joint, c] = np.interp(frames, frames[ok], video[ok, joint, c])
    if never:
        known = np.setdiff1d(np.arange(video.shape[1]), never)
        out[:, never, :2] = out[:, known, :2].mean(axis=1, keepdims=True)
        warnings.warn(
            f"{where}: joints {never} are missing in every frame; placed at the mean of the "
            "other joints of each frame",
            UserWarning,
            # _fill < _transform_video < transform < scikit-learn's set_output wrapper < caller
            stacklevel=5,
        )
    if video.shape[2] == 3:
        out[..., 2] = np.where(valid, video[..., 2], 0.0)
    return out
