"""A seeded model of 2D keypoint detector errors: jitter, drift, outliers, missed joints.

:func:`~skpose3d.datasets.make_views` applies it to exact projections, so that the training
pairs look like the output of a real 2D detector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.utils import check_random_state

__all__ = ["DetectorNoise"]


@dataclass(frozen=True)
class DetectorNoise:
    """A seeded model of 2D keypoint detector errors, in pixels.

    Parameters
    ----------
    jitter_px : float, default=3.0
        Standard deviation of independent Gaussian noise per frame and coordinate.
    drift_px : float, default=4.0
        Standard deviation of a slowly varying offset per joint (Gaussian-smoothed white noise
        over ``drift_frames``), like a detector's temporally correlated bias.
    drift_frames : float, default=10.0
        Correlation time of the drift, in frames.
    outlier_rate : float, default=0.005
        Probability per joint and frame of a gross error.
    outlier_px : float, default=40.0
        Standard deviation of a gross error's displacement.
    missing_rate : float, default=0.002
        Probability per joint and frame that the joint goes undetected, for a run of frames.
    missing_frames : float, default=5.0
        Mean length of a run of missing frames (geometric distribution).
    missing : {"hold", "nan"}, default="hold"
        Coordinates of a missing joint: "hold" repeats its last detected position (or the
        first one, before any detection), so the videos stay finite and can be fed to a
        lifter; "nan" marks them NaN for a gap filler.
    confidence_px : float, default=10.0
        Confidence is ``1 / (1 + (error / confidence_px)**2)`` of the actual pixel error times
        a random factor in [0.85, 1]; 0 for missing joints.
    """

    jitter_px: float = 3.0
    drift_px: float = 4.0
    drift_frames: float = 10.0
    outlier_rate: float = 0.005
    outlier_px: float = 40.0
    missing_rate: float = 0.002
    missing_frames: float = 5.0
    missing: str = "hold"
    confidence_px: float = 10.0

    def __post_init__(self):
        for name in ("jitter_px", "drift_px", "drift_frames", "outlier_px", "confidence_px"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"DetectorNoise.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("outlier_rate", "missing_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"DetectorNoise.{name} must be in [0, 1]")
        if self.missing_frames < 1 or self.confidence_px <= 0:
            raise ValueError("DetectorNoise.missing_frames must be >= 1, confidence_px > 0")
        if self.missing not in ("hold", "nan"):
            raise ValueError(f"DetectorNoise.missing must be 'hold' or 'nan', got {self.missing!r}")

    def apply(self, keypoints, rng) -> np.ndarray:
        """Corrupt exact keypoints ``(T, J, 2)``; return ``(T, J, 3)``: x, y, confidence."""
        rng = check_random_state(rng) if not isinstance(rng, np.random.Generator) else rng
        exact = np.asarray(keypoints, dtype=np.float64)
        n_frames, n_joints = exact.shape[:2]
        error = rng.normal(scale=self.jitter_px, size=exact.shape)
        if self.drift_px > 0:
            drift = gaussian_filter1d(rng.standard_normal(exact.shape), self.drift_frames, axis=0)
            drift /= max(drift.std(), 1e-12)  # smoothing shrinks the variance; restore it
            error += self.drift_px * drift
        outliers = rng.random((n_frames, n_joints)) < self.outlier_rate
        error[outliers] += rng.normal(scale=self.outlier_px, size=(outliers.sum(), 2))
        dist = np.linalg.norm(error, axis=-1)
        confidence = rng.uniform(0.85, 1.0, dist.shape) / (1 + (dist / self.confidence_px) ** 2)
        missing = self._missing_mask(n_frames, n_joints, rng)
        confidence[missing] = 0.0
        noisy = exact + error
        if self.missing == "hold":
            noisy = _hold_last(noisy, missing)
        else:
            noisy[missing] = np.nan
        return np.concatenate([noisy, confidence[..., None]], axis=-1).astype(np.float32)

    def _missing_mask(self, n_frames, n_joints, rng) -> np.ndarray:
        starts = rng.random((n_frames, n_joints)) < self.missing_rate
        ends = np.zeros((n_frames, n_joints))
        length = rng.geometric(1.0 / self.missing_frames, size=starts.sum())
        ends[starts] = np.nonzero(starts)[0] + length
        # A frame is missing while it lies before the furthest end of a gap that started earlier.
        furthest = np.maximum.accumulate(ends, axis=0)
        return np.arange(n_frames)[:, None] < furthest


def _hold_last(points: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Give missing joints the last detected position (the first one before any detection)."""
    frames = np.arange(len(points))[:, None]
    last = np.maximum.accumulate(np.where(missing, -1, frames), axis=0)
    first = np.where(missing.all(axis=0), frames, (~missing).argmax(axis=0))
    source = np.where(last < 0, first, last)  # never detected: keep the noisy values
    return np.take_along_axis(points, source[..., None], axis=0)
