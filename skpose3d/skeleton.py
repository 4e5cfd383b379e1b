"""Skeleton layouts: joint names, kinematic tree and left/right mirror partners.

A :class:`Skeleton` describes the joint axis of keypoint and pose arrays ``(..., n_joints, C)``.
Four presets are provided: :data:`H36M` (Human3.6M, 17 joints, the paper's output skeleton),
:data:`COCO` (17 keypoints of COCO-style 2D detectors), :data:`MPII` (16 joints) and
:data:`MEDIAPIPE` (the 33 landmarks of MediaPipe Pose / BlazePose).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

__all__ = ["COCO", "H36M", "MEDIAPIPE", "MPII", "SKELETONS", "Skeleton", "get_skeleton"]


def _as_index_tuple(values, field: str) -> tuple[int, ...]:
    """Convert a sequence of integers (numpy integers included) to a tuple of ``int``."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"Skeleton.{field} must be a sequence of integers, got {values!r}.")
    try:
        return tuple(operator.index(v) for v in values)
    except TypeError as exc:
        raise TypeError(
            f"Skeleton.{field} must be a sequence of integers, got {values!r}."
        ) from exc


@dataclass(frozen=True)
class Skeleton:
    """Joint layout of a keypoint or pose skeleton.

    Parameters
    ----------
    name : str
        Short name of the layout, e.g. ``"h36m"``.
    joint_names : tuple of str
        Name of every joint, in array order.
    parents : tuple of int
        Parent joint of every joint; the single root has parent ``-1``.
    joints_left, joints_right : tuple of int
        Joints on the left and right side of the body; ``joints_left[i]`` and
        ``joints_right[i]`` are mirror partners (swapped by a horizontal flip).

    Raises
    ------
    ValueError
        If the layout is inconsistent: names and parents of different lengths, not exactly one
        root, parents out of range or cyclic, left/right lists of different lengths, overlapping,
        with duplicates or out of range.

    See Also
    --------
    get_skeleton : Look up a preset by name.

    Examples
    --------
    >>> from skpose3d.skeleton import Skeleton
    >>> arm = Skeleton("arm", ["chest", "l_hand", "r_hand"], [-1, 0, 0], [1], [2])
    >>> arm.n_joints, arm.root, arm.bones
    (3, 0, ((0, 1), (0, 2)))
    >>> arm.flip_permutation.tolist()
    [0, 2, 1]
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    joints_left: tuple[int, ...]
    joints_right: tuple[int, ...]

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"Skeleton.name must be a str, got {self.name!r}.")
        if isinstance(self.joint_names, str):
            raise TypeError("Skeleton.joint_names must be a sequence of str, not a single str.")
        object.__setattr__(self, "joint_names", tuple(str(n) for n in self.joint_names))
        for field in ("parents", "joints_left", "joints_right"):
            object.__setattr__(self, field, _as_index_tuple(getattr(self, field), field))
        self._check_tree()
        self._check_sides()

    def _check_tree(self):
        n = len(self.joint_names)
        if n == 0:
            raise ValueError(f"Skeleton {self.name!r}: joint_names must not be empty.")
        if len(set(self.joint_names)) != n:
            raise ValueError(f"Skeleton {self.name!r}: joint_names must be unique.")
        if len(self.parents) != n:
            raise ValueError(
                f"Skeleton {self.name!r}: parents has {len(self.parents)} entries but "
                f"joint_names has {n}; they must have the same length."
            )
        roots = [j for j, p in enumerate(self.parents) if p == -1]
        if len(roots) != 1:
            raise ValueError(
                f"Skeleton {self.name!r}: parents must contain exactly one root (parent -1), "
                f"found {len(roots)} at joints {roots}."
            )
        for j, p in enumerate(self.parents):
            if not -1 <= p < n or p == j:
                raise ValueError(
                    f"Skeleton {self.name!r}: parents[{j}] = {p} is not a valid parent "
                    f"(must be -1 or another joint index in [0, {n}))."
                )
        for j in range(n):
            # Any path longer than n steps must revisit a joint, i.e. contain a cycle.
            node, steps = j, 0
            while node != -1:
                node, steps = self.parents[node], steps + 1
                if steps > n:
                    raise ValueError(
                        f"Skeleton {self.name!r}: parents contain a cycle through joint {j}."
                    )

    def _check_sides(self):
        n = len(self.joint_names)
        left, right = self.joints_left, self.joints_right
        if len(left) != len(right):
            raise ValueError(
                f"Skeleton {self.name!r}: joints_left ({len(left)}) and joints_right "
                f"({len(right)}) must have the same length (mirror partners)."
            )
        for field, joints in (("joints_left", left), ("joints_right", right)):
            bad = [j for j in joints if not 0 <= j < n]
            if bad:
                raise ValueError(
                    f"Skeleton {self.name!r}: {field} has indices {bad} out of range [0, {n})."
                )
            if len(set(joints)) != len(joints):
                raise ValueError(f"Skeleton {self.name!r}: {field} contains duplicates.")
        common = sorted(set(left) & set(right))
        if common:
            raise ValueError(
                f"Skeleton {self.name!r}: joints_left and joints_right must be disjoint; "
                f"both contain {common}."
            )

    @property
    def n_joints(self) -> int:
        """int : Number of joints."""
        return len(self.joint_names)

    @property
    def root(self) -> int:
        """int : Index of the root joint (the one whose parent is ``-1``)."""
        return self.parents.index(-1)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """tuple of (int, int) : ``(parent, child)`` for every non-root joint, in joint order."""
        return tuple((p, j) for j, p in enumerate(self.parents) if p != -1)

    @property
    def flip_permutation(self) -> np.ndarray:
        """ndarray of int, shape (n_joints,) : Joint order of the horizontally mirrored skeleton.

        ``x[..., perm, :]`` swaps every left joint with its right partner and leaves the other
        joints in place. The permutation is its own inverse.
        """
        perm = np.arange(self.n_joints)
        perm[list(self.joints_left)] = self.joints_right
        perm[list(self.joints_right)] = self.joints_left
        return perm


H36M = Skeleton(
    name="h36m",
    joint_names=(
        "hip",
        "right_hip",
        "right_knee",
        "right_foot",
        "left_hip",
        "left_knee",
        "left_foot",
        "spine",
        "thorax",
        "neck_nose",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
    ),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    joints_left=(4, 5, 6, 11, 12, 13),
    joints_right=(1, 2, 3, 14, 15, 16),
)
"""Human3.6M 17-joint skeleton (the paper's 3D output layout; root = hip)."""

COCO = Skeleton(
    name="coco",
    joint_names=(
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    joints_left=(1, 3, 5, 7, 9, 11, 13, 15),
    joints_right=(2, 4, 6, 8, 10, 12, 14, 16),
)
"""COCO 17-keypoint layout of common 2D detectors (root = nose)."""

MPII = Skeleton(
    name="mpii",
    joint_names=(
        "right_ankle",
        "right_knee",
        "right_hip",
        "left_hip",
        "left_knee",
        "left_ankle",
        "pelvis",
        "thorax",
        "upper_neck",
        "head_top",
        "right_wrist",
        "right_elbow",
        "right_shoulder",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
    ),
    parents=(1, 2, 6, 6, 3, 4, -1, 6, 7, 8, 11, 12, 7, 7, 13, 14),
    joints_left=(3, 4, 5, 13, 14, 15),
    joints_right=(2, 1, 0, 12, 11, 10),
)
"""MPII 16-joint layout (root = pelvis)."""

MEDIAPIPE = Skeleton(
    name="mediapipe",
    # In MediaPipe's landmark order (PoseLandmark 0-32). MediaPipe calls 9 and 10 MOUTH_LEFT and
    # MOUTH_RIGHT; they are named side-first here like every other sided joint of the presets.
    joint_names=(
        "nose",
        "left_eye_inner",
        "left_eye",
        "left_eye_outer",
        "right_eye_inner",
        "right_eye",
        "right_eye_outer",
        "left_ear",
        "right_ear",
        "left_mouth",
        "right_mouth",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_pinky",
        "right_pinky",
        "left_index",
        "right_index",
        "left_thumb",
        "right_thumb",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "left_heel",
        "right_heel",
        "left_foot_index",
        "right_foot_index",
    ),
    # Rooted at the nose with shoulders and hips hung as in COCO, so that the two layouts'
    # shared joints have the same bones.
    parents=(-1, 0, 1, 2, 0, 4, 5, 3, 6, 0, 0, 0, 0, 11, 12, 13, 14)  # head, arms
    + (15, 16, 15, 16, 15, 16)  # pinky, index and thumb hang from the wrists
    + (11, 12, 23, 24, 25, 26, 27, 28, 27, 28),  # legs, heels and toes
    joints_left=(1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
    joints_right=(4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32),
)
"""MediaPipe Pose / BlazePose 33-landmark layout (root = nose)."""

SKELETONS = {"h36m": H36M, "coco": COCO, "mpii": MPII, "mediapipe": MEDIAPIPE}
"""dict of str to Skeleton : The presets by lower-case name."""


def get_skeleton(skeleton) -> Skeleton:
    """Return a :class:`Skeleton` given a preset name or a skeleton.

    Parameters
    ----------
    skeleton : str or Skeleton
        A preset name from :data:`SKELETONS` (case-insensitive: ``"h36m"``, ``"coco"``,
        ``"mpii"``, ``"mediapipe"``) or a :class:`Skeleton`, which is returned as is.

    Returns
    -------
    Skeleton
        The requested skeleton.

    Raises
    ------
    ValueError
        If ``skeleton`` is a string that names no preset.
    TypeError
        If ``skeleton`` is neither a string nor a :class:`Skeleton`.

    Examples
    --------
    >>> from skpose3d.skeleton import get_skeleton
    >>> get_skeleton("H36M").n_joints
    17
    >>> get_skeleton("mpii").joint_names[get_skeleton("mpii").root]
    'pelvis'
    """
    if isinstance(skeleton, Skeleton):
        return skeleton
    if isinstance(skeleton, str):
        key = skeleton.strip().lower()
        if key not in SKELETONS:
            raise ValueError(
                f"skeleton={skeleton!r} is not a known skeleton; valid names are "
                f"{sorted(SKELETONS)} (or pass a Skeleton instance)."
            )
        return SKELETONS[key]
    raise TypeError(
        f"skeleton must be a preset name {sorted(SKELETONS)} or a Skeleton, "
        f"got {type(skeleton).__name__}: {skeleton!r}."
    )
