"""Tests for skpose3d.skeleton: presets, mirror permutation, lookup and validation."""

import numpy as np
import pytest

from skpose3d.skeleton import COCO, H36M, MEDIAPIPE, MPII, SKELETONS, Skeleton, get_skeleton

# Facts from PAPER_FACTS.md ("Skeletons"), written out independently of the module.
H36M_NAMES = (
    "hip right_hip right_knee right_foot left_hip left_knee left_foot spine thorax neck_nose "
    "head left_shoulder left_elbow left_wrist right_shoulder right_elbow right_wrist"
).split()
COCO_NAMES = (
    "nose left_eye right_eye left_ear right_ear left_shoulder right_shoulder left_elbow "
    "right_elbow left_wrist right_wrist left_hip right_hip left_knee right_knee left_ankle "
    "right_ankle"
).split()
MPII_NAMES = (
    "right_ankle right_knee right_hip left_hip left_knee left_ankle pelvis thorax upper_neck "
    "head_top right_wrist right_elbow right_shoulder left_shoulder left_elbow left_wrist"
).split()

# MediaPipe's PoseLandmark enum, in its order (mediapipe.solutions.pose.PoseLandmark, 0-32).
MEDIAPIPE_ENUM = (
    "NOSE LEFT_EYE_INNER LEFT_EYE LEFT_EYE_OUTER RIGHT_EYE_INNER RIGHT_EYE RIGHT_EYE_OUTER "
    "LEFT_EAR RIGHT_EAR MOUTH_LEFT MOUTH_RIGHT LEFT_SHOULDER RIGHT_SHOULDER LEFT_ELBOW "
    "RIGHT_ELBOW LEFT_WRIST RIGHT_WRIST LEFT_PINKY RIGHT_PINKY LEFT_INDEX RIGHT_INDEX LEFT_THUMB "
    "RIGHT_THUMB LEFT_HIP RIGHT_HIP LEFT_KNEE RIGHT_KNEE LEFT_ANKLE RIGHT_ANKLE LEFT_HEEL "
    "RIGHT_HEEL LEFT_FOOT_INDEX RIGHT_FOOT_INDEX"
).split()

PRESET_FACTS = [
    (
        H36M,
        "h36m",
        H36M_NAMES,
        [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15],
        [4, 5, 6, 11, 12, 13],
        [1, 2, 3, 14, 15, 16],
    ),
    (
        COCO,
        "coco",
        COCO_NAMES,
        [-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14],
        [1, 3, 5, 7, 9, 11, 13, 15],
        [2, 4, 6, 8, 10, 12, 14, 16],
    ),
    (
        MPII,
        "mpii",
        MPII_NAMES,
        [1, 2, 6, 6, 3, 4, -1, 6, 7, 8, 11, 12, 7, 7, 13, 14],
        [3, 4, 5, 13, 14, 15],
        [2, 1, 0, 12, 11, 10],
    ),
]
PRESETS = [H36M, COCO, MPII, MEDIAPIPE]


@pytest.mark.parametrize(("skel", "name", "names", "parents", "left", "right"), PRESET_FACTS)
def test_presets_match_paper_facts(skel, name, names, parents, left, right):
    assert skel.name == name
    assert skel.joint_names == tuple(names)
    assert skel.parents == tuple(parents)
    assert skel.joints_left == tuple(left)
    assert skel.joints_right == tuple(right)
    assert skel.n_joints == len(names)
    assert skel.root == parents.index(-1)
    assert SKELETONS[name] is skel


def test_mediapipe_preset_follows_mediapipes_landmark_order():
    # Same order as MediaPipe; only the mouth corners are renamed side-first.
    renamed = {"MOUTH_LEFT": "LEFT_MOUTH", "MOUTH_RIGHT": "RIGHT_MOUTH"}
    expected = [renamed.get(n, n).lower() for n in MEDIAPIPE_ENUM]
    assert MEDIAPIPE.joint_names == tuple(expected)
    assert MEDIAPIPE.n_joints == 33 and MEDIAPIPE.name == "mediapipe"
    assert SKELETONS["mediapipe"] is MEDIAPIPE and get_skeleton("MediaPipe") is MEDIAPIPE
    # Bones a drawing of BlazePose shows (MediaPipe's POSE_CONNECTIONS), by name.
    names = MEDIAPIPE.joint_names
    bones = {(names[p], names[c]) for p, c in MEDIAPIPE.bones}
    for parent, child in [
        ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"),
        ("left_wrist", "left_pinky"),
        ("left_wrist", "left_index"),
        ("left_wrist", "left_thumb"),
        ("left_shoulder", "left_hip"),
        ("left_hip", "left_knee"),
        ("left_knee", "left_ankle"),
        ("left_ankle", "left_heel"),
        ("left_ankle", "left_foot_index"),
        ("left_eye_outer", "left_ear"),
    ]:
        assert (parent, child) in bones
        mirrored = (parent.replace("left_", "right_"), child.replace("left_", "right_"))
        assert mirrored in bones


def test_preset_sizes_and_roots():
    assert (H36M.n_joints, COCO.n_joints, MPII.n_joints) == (17, 17, 16)
    assert H36M.joint_names[H36M.root] == "hip"
    assert COCO.joint_names[COCO.root] == "nose"
    assert MPII.joint_names[MPII.root] == "pelvis"


@pytest.mark.parametrize("skel", PRESETS, ids=lambda s: s.name)
def test_mirror_partners_have_mirrored_names(skel):
    for left, right in zip(skel.joints_left, skel.joints_right, strict=True):
        assert skel.joint_names[left].startswith("left_")
        assert skel.joint_names[left].replace("left_", "right_") == skel.joint_names[right]
    sided = set(skel.joints_left) | set(skel.joints_right)
    for j, name in enumerate(skel.joint_names):
        assert (j in sided) == name.startswith(("left_", "right_"))


@pytest.mark.parametrize("skel", PRESETS, ids=lambda s: s.name)
def test_bones_are_parent_child_pairs(skel):
    bones = skel.bones
    assert len(bones) == skel.n_joints - 1
    assert sorted(child for _, child in bones) == sorted(set(range(skel.n_joints)) - {skel.root})
    for parent, child in bones:
        assert skel.parents[child] == parent


@pytest.mark.parametrize("skel", PRESETS, ids=lambda s: s.name)
def test_flip_permutation_is_involution_swapping_sides(skel):
    perm = skel.flip_permutation
    assert perm.shape == (skel.n_joints,)
    assert np.issubdtype(perm.dtype, np.integer)
    np.testing.assert_array_equal(perm[perm], np.arange(skel.n_joints))
    for left, right in zip(skel.joints_left, skel.joints_right, strict=True):
        assert perm[left] == right
        assert perm[right] == left
    centre = set(range(skel.n_joints)) - set(skel.joints_left) - set(skel.joints_right)
    for j in centre:
        assert perm[j] == j


@pytest.mark.parametrize("skel", PRESETS, ids=lambda s: s.name)
def test_flip_permutation_moves_data_and_keeps_the_tree(skel, rng):
    x = rng.normal(size=(5, skel.n_joints, 2))
    flipped = x[..., skel.flip_permutation, :]
    for left, right in zip(skel.joints_left, skel.joints_right, strict=True):
        np.testing.assert_array_equal(flipped[:, left], x[:, right])
        np.testing.assert_array_equal(flipped[:, right], x[:, left])
    # The mirrored skeleton has the same kinematic tree (presets are left/right symmetric).
    perm = skel.flip_permutation
    for child, parent in enumerate(skel.parents):
        expected = -1 if parent == -1 else perm[parent]
        assert skel.parents[perm[child]] == expected


def test_flip_permutation_with_empty_sides_is_identity():
    skel = Skeleton("line", ["a", "b", "c"], [-1, 0, 1], [], [])
    np.testing.assert_array_equal(skel.flip_permutation, [0, 1, 2])
    assert skel.bones == ((0, 1), (1, 2))


def test_list_inputs_become_tuples_and_skeleton_is_hashable():
    skel = Skeleton("arm", ["chest", "l", "r"], np.array([-1, 0, 0]), [1], np.array([2]))
    for field in ("joint_names", "parents", "joints_left", "joints_right"):
        assert isinstance(getattr(skel, field), tuple)
    assert all(type(p) is int for p in skel.parents)
    assert skel == Skeleton("arm", ("chest", "l", "r"), (-1, 0, 0), (1,), (2,))
    assert hash(skel) == hash(Skeleton("arm", ("chest", "l", "r"), (-1, 0, 0), (1,), (2,)))
    with pytest.raises(AttributeError):
        skel.name = "other"


@pytest.mark.parametrize("name", ["h36m", "H36M", "Coco", "mpii", " MPII "])
def test_get_skeleton_by_name_case_insensitive(name):
    assert get_skeleton(name) is SKELETONS[name.strip().lower()]


def test_get_skeleton_passes_skeleton_through():
    custom = Skeleton("arm", ["chest", "l", "r"], [-1, 0, 0], [1], [2])
    assert get_skeleton(custom) is custom
    assert get_skeleton(H36M) is H36M


def test_get_skeleton_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="human36") as info:
        get_skeleton("human36")
    for valid in ("h36m", "coco", "mpii"):
        assert valid in str(info.value)


@pytest.mark.parametrize("bad", [17, None, ["h36m"], 1.5])
def test_get_skeleton_wrong_type(bad):
    with pytest.raises(TypeError, match="skeleton"):
        get_skeleton(bad)


def _chain_params():
    """A valid three-joint chain a -> b -> c with b/c as (odd but legal) mirror partners."""
    return {
        "name": "tri",
        "joint_names": ["a", "b", "c"],
        "parents": [-1, 0, 1],
        "joints_left": [1],
        "joints_right": [2],
    }


def test_chain_params_are_valid():
    assert Skeleton(**_chain_params()).n_joints == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(parents=[-1, 0]), "same length"),
        (dict(parents=[-1, -1, 0]), "exactly one root"),
        (dict(parents=[0, 0, 1]), "exactly one root"),
        (dict(parents=[-1, 0, 3]), "not a valid parent"),
        (dict(parents=[-1, 0, -2]), "not a valid parent"),
        (dict(parents=[-1, 2, 1]), "cycle"),
        (dict(joint_names=["a", "a", "b"]), "unique"),
        (dict(joint_names=[], parents=[], joints_left=[], joints_right=[]), "empty"),
        (dict(joints_left=[1], joints_right=[]), "same length"),
        (dict(joints_left=[1], joints_right=[1]), "disjoint"),
        (dict(joints_left=[1], joints_right=[3]), "out of range"),
        (dict(joints_left=[-1], joints_right=[2]), "out of range"),
        (dict(joints_left=[1, 1], joints_right=[2, 0]), "duplicates"),
    ],
)
def test_invalid_skeleton_raises_value_error(kwargs, message):
    params = _chain_params() | kwargs
    with pytest.raises(ValueError, match=message):
        Skeleton(**params)


@pytest.mark.parametrize(
    "kwargs",
    [dict(parents=[-1, 0, 1.5]), dict(joints_left="1"), dict(name=3), dict(joint_names="abc")],
)
def test_wrongly_typed_skeleton_fields_raise_type_error(kwargs):
    params = _chain_params() | kwargs
    with pytest.raises(TypeError):
        Skeleton(**params)
