"""Datasets: bundled CMU motion, virtual camera views with detector noise, Human3.6M loader."""

import hashlib
import json

import numpy as np
import pytest

from skpose3d.camera import H36M_CAMERAS, Intrinsics, project
from skpose3d.datasets import (
    CMU_TEST_SUBJECTS,
    CMU_TRAIN_SUBJECTS,
    DetectorNoise,
    VirtualCamera,
    load_cmu_mocap,
    load_h36m,
    make_views,
    scale_bones,
)
from skpose3d.skeleton import H36M

from .conftest import bundled

EXACT = DetectorNoise(drift_px=0, outlier_rate=0, missing_rate=0)
# SHA-256 of the maintainers' originals in ../shared/data, taken when they were bundled
# (byte-identical copies): every clone checks its bundled files with them, without ../shared.
ORIGINAL_SHA256 = {
    "cmu_mocap17.npz": "f8143cc304e5e4ab8b60b0842a69e44471311ca157ff3f635ef4d88ad9cc5f20",
    "h36m_cameras.json": "ac53deabc6239490a6a4f14b088d004d09f5a400cbb643618b58d0627851f9b1",
}


@pytest.fixture(scope="module")
def cmu():
    return load_cmu_mocap()


@pytest.fixture(scope="module")
def short_clips(cmu):
    # Three clips of different subjects, shortened: walking (moves ~4 m), dance, basketball.
    picks = [cmu.names.index(n) for n in ("007_01", "005_02", "006_02")]
    return [cmu.videos[i][:120] for i in picks], cmu.subjects[picks], cmu.trials[picks]


# -- load_cmu_mocap -------------------------------------------------------------------------


def test_load_cmu_mocap_matches_the_datasheet(cmu):
    assert len(cmu.videos) == 49 and sum(len(v) for v in cmu.videos) == 20488
    assert all(v.dtype == np.float32 and v.shape[1:] == (17, 3) for v in cmu.videos)
    assert cmu.fps == 60.0 and cmu.skeleton is H36M
    assert sorted(set(cmu.subjects.tolist())) == [1, 2, 3, 5, 6, 7]
    assert cmu.names[0] == "001_01" and len(cmu.names) == len(cmu.trials) == 49
    assert "mocap.cs.cmu.edu" in cmu.DESCR and "Licence" in cmu.DESCR
    # Z up: the head is above the ankles; clips start with the pelvis at x = y = 0.
    first = cmu.videos[5]
    assert np.all(first[:, 10, 2] > first[:, 3, 2])
    np.testing.assert_allclose(first[0, 0, :2], 0, atol=1e-5)
    # Thigh length is constant (0.477 m) in every clip.
    thigh = np.concatenate([np.linalg.norm(v[:, 2] - v[:, 1], axis=-1) for v in cmu.videos])
    np.testing.assert_allclose(thigh, 0.477, atol=1e-3)


@pytest.mark.parametrize("name", sorted(ORIGINAL_SHA256))
def test_bundled_files_are_the_originals_byte_for_byte(name):
    assert hashlib.sha256(bundled(name).read_bytes()).hexdigest() == ORIGINAL_SHA256[name]


def test_load_cmu_mocap_selects_subjects_and_rejects_unknown_ones():
    data = load_cmu_mocap(subjects=[3, 7])
    assert sorted(set(data.subjects.tolist())) == [3, 7] and len(data.videos) == 13
    with pytest.raises(ValueError, match=r"subjects=\[4\]"):
        load_cmu_mocap(subjects=[4])


def test_split_subjects_are_disjoint_and_cover_the_data(cmu):
    assert not set(CMU_TRAIN_SUBJECTS) & set(CMU_TEST_SUBJECTS)
    assert set(CMU_TRAIN_SUBJECTS) | set(CMU_TEST_SUBJECTS) == set(cmu.subjects.tolist())


# -- make_views: geometry -------------------------------------------------------------------


def _recentred_world_pelvis_distance(pose):
    return np.linalg.norm(pose[:, 0], axis=-1)


def test_views_are_exact_projections_of_rigidly_moved_poses(short_clips):
    videos, subjects, trials = short_clips
    views = make_views(videos, subjects=subjects, trials=trials, noise=False)
    assert len(views.keypoints) == 3 * 4
    assert list(views.cameras[:4]) == list(H36M_CAMERAS)
    np.testing.assert_array_equal(views.video_ids, np.repeat([0, 1, 2], 4))
    np.testing.assert_array_equal(views.subjects, np.repeat(subjects, 4))
    for k, pose, intr, vid in zip(
        views.keypoints, views.poses_3d, views.intrinsics, views.video_ids
    ):
        assert k.shape == (120, 17, 2) and pose.shape == (120, 17, 3)
        np.testing.assert_allclose(k, project(pose, intr), atol=1e-3)
        # Rigid: root-relative poses keep every pairwise distance of the world poses.
        world = videos[vid] - videos[vid][:, :1]
        cam = pose - pose[:, :1]
        d_world = np.linalg.norm(world[:, :, None] - world[:, None], axis=-1)
        d_cam = np.linalg.norm(cam[:, :, None] - cam[:, None], axis=-1)
        np.testing.assert_allclose(d_cam, d_world, atol=1e-4)


def test_cameras_are_upright_not_mirrored_and_aimed_at_the_subject(short_clips):
    videos, subjects, _ = short_clips
    views = make_views(videos, subjects=subjects, noise=False, distance=4.5, height=1.6)
    for k, pose, intr, vid in zip(
        views.keypoints, views.poses_3d, views.intrinsics, views.video_ids
    ):
        world = videos[vid]
        # Up in the world is up in the image: the head is above the ankles (smaller y).
        assert np.all(k[:, 10, 1] < k[:, 3, 1])
        # Proper rotation (no mirror): the per-frame map from world to camera has det +1.
        a = world[0] - world[0].mean(0)
        b = pose[0] - pose[0].mean(0)
        u, _, vt = np.linalg.svd(a.T @ b)
        assert np.linalg.det(u @ vt) > 0.999
        # The camera is ~4.5 m away horizontally and ~1.6 m high, aimed at the pelvis.
        dist = np.median(_recentred_world_pelvis_distance(pose))
        expected = np.hypot(4.5, 1.6 - world[:, 0, 2].mean())
        assert abs(dist - expected) < 0.35
        centre = np.array([intr.cx, intr.cy])
        assert np.median(np.linalg.norm(k[:, 0] - centre, axis=-1)) < 80


def test_follow_keeps_every_bundled_clip_inside_the_image(cmu):
    views = make_views(cmu, noise=False)
    for k, intr, vid, cam in zip(views.keypoints, views.intrinsics, views.video_ids, views.cameras):
        assert k[..., 0].min() > 0 and k[..., 0].max() < intr.width, (vid, cam)
        assert k[..., 1].min() > 0 and k[..., 1].max() < intr.height, (vid, cam)


def test_recenter_modes_place_the_rig_differently(short_clips):
    walk = short_clips[0][:1]
    follow = make_views(walk, noise=False).poses_3d[0]
    start = make_views(walk, noise=False, recenter="start").poses_3d[0]
    # The fixed rig sees the walker move far more than the following one.
    moved = lambda p: np.ptp(p[:, 0], axis=0).max()  # noqa: E731
    assert moved(start) > 1.0 > 0.6 > moved(follow)
    # At frame 0 the start-centred rig has the pelvis at the aimed distance.
    np.testing.assert_allclose(
        np.linalg.norm(start[0, 0]), np.hypot(4.5, 1.6 - walk[0][0, 0, 2]), atol=1e-4
    )
    with pytest.raises(ValueError, match="recenter"):
        make_views(walk, recenter="middle")


def test_custom_cameras_and_bare_intrinsics():
    video = np.zeros((5, 17, 3)) + [0.0, 0.0, 1.0]
    video[:, 10, 2] = 1.8
    intr = Intrinsics(1000.0, 1000.0, 500.0, 400.0, width=1000, height=800)
    views = make_views([video], cameras=[intr, intr, intr], noise=False)
    assert list(views.cameras) == ["cam0", "cam1", "cam2"]
    cam = VirtualCamera(intr, azimuth=0.0, name="side", distance=3.0, height=1.0)
    pose = make_views([video], cameras=[cam], noise=False).poses_3d[0]
    np.testing.assert_allclose(pose[0, 0], [0.0, 0.0, 3.0], atol=1e-9)  # straight ahead
    np.testing.assert_allclose(pose[0, 10], [0.0, -0.8, 3.0], atol=1e-6)  # head: up is -y


def test_a_joint_behind_a_camera_is_a_clear_error():
    # A clip that walks 8 m along +x, with a fixed rig: it passes through the camera at +x.
    walk = np.zeros((50, 17, 3)) + [0.0, 0.0, 1.0]
    walk[:, :, 0] += np.linspace(0, 8, 50)[:, None]
    cam = VirtualCamera(H36M_CAMERAS["55011271"], azimuth=0.0, name="front")
    with pytest.raises(ValueError, match=r"video 1, camera 'front'.*frame \d+.*behind"):
        make_views([walk[:5], walk], cameras=[cam], recenter=None, noise=False)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match=r"videos\[0\]"):
        make_views([np.zeros((4, 16, 3))])
    with pytest.raises(ValueError, match="subjects"):
        make_views([np.zeros((4, 17, 3)) + 1], subjects=[1, 2])
    with pytest.raises(TypeError, match="noise"):
        make_views([np.zeros((4, 17, 3)) + 1], noise="yes")
    with pytest.raises(ValueError, match="missing"):
        DetectorNoise(missing="zero")


# -- make_views: noise ----------------------------------------------------------------------


def _exact_and_noisy(short_clips, noise, seed=0):
    videos, subjects, _ = short_clips
    exact = make_views(videos, subjects=subjects, noise=False)
    noisy = make_views(videos, subjects=subjects, noise=noise, random_state=seed)
    return np.concatenate(exact.keypoints), np.concatenate(noisy.keypoints)


def test_noise_is_seeded_and_views_differ(short_clips):
    a = make_views(short_clips[0], random_state=3).keypoints
    b = make_views(short_clips[0], random_state=3).keypoints
    c = make_views(short_clips[0], random_state=4).keypoints
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[0][..., :2], c[0][..., :2])
    err0, err1 = a[0][..., :2] - a[1][..., :2], c[0][..., :2] - c[1][..., :2]
    assert not np.allclose(err0, err1)


def test_gaussian_jitter_and_drift_have_the_stated_size(short_clips):
    exact, noisy = _exact_and_noisy(
        short_clips,
        DetectorNoise(jitter_px=3.0, drift_px=0, **{"outlier_rate": 0, "missing_rate": 0}),
    )
    assert noisy.shape[-1] == 3
    assert abs(np.std(noisy[..., :2] - exact) - 3.0) < 0.1
    exact, noisy = _exact_and_noisy(
        short_clips,
        DetectorNoise(jitter_px=0, drift_px=4.0, **{"outlier_rate": 0, "missing_rate": 0}),
    )
    error = noisy[..., :2] - exact
    assert abs(np.std(error) - 4.0) < 0.4
    # Drift is slow: consecutive frames' errors are strongly correlated.
    lag = np.corrcoef(error[1:120].ravel(), error[:119].ravel())[0, 1]
    assert lag > 0.9


def test_outliers_are_rare_and_large_and_confidence_reflects_the_error(short_clips):
    noise = DetectorNoise(jitter_px=2.0, drift_px=0, outlier_rate=0.02, missing_rate=0)
    exact, noisy = _exact_and_noisy(short_clips, noise)
    dist = np.linalg.norm(noisy[..., :2] - exact, axis=-1)
    share = np.mean(dist > 15)
    assert 0.012 < share < 0.025
    conf = noisy[..., 2]
    assert conf.min() >= 0 and conf.max() <= 1
    assert conf[dist > 15].mean() < 0.4 < 0.85 < conf[dist < 3].mean()


def test_missing_joints_have_zero_confidence_and_held_or_nan_coordinates(short_clips):
    noise = DetectorNoise(jitter_px=1.0, drift_px=0, outlier_rate=0, missing_rate=0.01)
    views = make_views(short_clips[0], noise=noise, random_state=1)
    kp = np.concatenate(views.keypoints)
    missing = kp[..., 2] == 0
    assert 0.02 < missing.mean() < 0.09  # ~1% starts x ~5 frames long
    assert np.all(np.isfinite(kp))
    for video in views.keypoints:
        gone = video[..., 2] == 0
        t, j = np.nonzero(gone[1:])
        held = video[t, j, :2]  # the previous frame's value (held or itself held)
        np.testing.assert_array_equal(video[t + 1, j, :2], held)
    nan_views = make_views(
        short_clips[0], noise=DetectorNoise(missing_rate=0.01, missing="nan"), random_state=1
    )
    for video in nan_views.keypoints:
        np.testing.assert_array_equal(np.isnan(video[..., 0]), video[..., 2] == 0)


def test_a_gap_at_the_start_takes_the_first_detection():
    from skpose3d.datasets.noise import _hold_last

    points = np.arange(12, dtype=float).reshape(6, 1, 2)
    missing = np.array([1, 1, 0, 1, 0, 0], bool)[:, None]
    held = _hold_last(points, missing)
    np.testing.assert_array_equal(held[:, 0, 0], [4, 4, 4, 4, 8, 10])
    np.testing.assert_array_equal(_hold_last(points, np.ones((6, 1), bool)), points)


# -- bone lengths ---------------------------------------------------------------------------


def _bone_lengths(pose):
    return np.stack([np.linalg.norm(pose[:, j] - pose[:, p], axis=-1) for p, j in H36M.bones], -1)


def test_scale_bones_matches_a_per_joint_reference(rng):
    video = rng.normal(size=(4, 17, 3))
    scales = rng.uniform(0.5, 1.5, size=17)
    out = scale_bones(video, scales)
    for t in range(4):
        ref = {0: video[t, 0]}
        for j in range(1, 17):  # H36M parents come before their children
            p = H36M.parents[j]
            ref[j] = ref[p] + scales[j] * (video[t, j] - video[t, p])
        np.testing.assert_allclose(out[t], np.stack([ref[j] for j in range(17)]), atol=1e-12)


def test_bone_scale_gives_each_subject_one_symmetric_body(cmu):
    idx = [cmu.names.index(n) for n in ("002_01", "002_05", "005_02")]
    videos = [cmu.videos[i][:30] for i in idx]
    views = make_views(videos, subjects=cmu.subjects[idx], noise=False, bone_scale=0.08)
    base = make_views(videos, subjects=cmu.subjects[idx], noise=False)
    lengths = [np.median(_bone_lengths(p), axis=0) for p in views.poses_3d]
    # Same subject (videos 0 and 1, all cameras) -> same constant bones; subject 5 differs.
    thigh, shin = 1, 2  # bones ending at joints 2 and 3
    assert np.ptp([x[thigh] for x in lengths[:8]]) < 1e-4
    assert abs(lengths[0][thigh] - lengths[8][thigh]) > 1e-3
    # Left and right partners keep equal lengths (thigh: bones to joints 2 and 5).
    np.testing.assert_allclose(lengths[0][thigh], lengths[0][4], atol=1e-4)
    assert np.any(np.abs(lengths[0] / np.median(_bone_lengths(base.poses_3d[0]), 0) - 1) > 0.01)
    # Directions are kept.
    b, s = base.poses_3d[0], views.poses_3d[0]
    unit = lambda p: (p[:, 3] - p[:, 2]) / np.linalg.norm(p[:, 3] - p[:, 2], axis=-1)[:, None]  # noqa: E731
    np.testing.assert_allclose(unit(s), unit(b), atol=1e-5)
    again = make_views(videos, subjects=cmu.subjects[idx], noise=False, bone_scale=0.08)
    np.testing.assert_array_equal(again.poses_3d[5], views.poses_3d[5])
    del shin


# -- load_h36m ------------------------------------------------------------------------------

CAMERA_IDS = list(H36M_CAMERAS)


def _world_video(rng, n_frames):
    # 32 joints near the capture area's centre, 1 m high; joint k's x is offset by k mm so that
    # the picked subset can be recognised.
    video = rng.normal(scale=0.2, size=(n_frames, 32, 3)) + [0.0, 0.0, 1.0]
    video[..., 0] += np.arange(32) / 1000
    return video


@pytest.fixture
def h36m_files(tmp_path, rng):
    positions = {
        "S1": {"Walking": _world_video(rng, 10), "Eating 2": _world_video(rng, 7)},
        "S9": {"Walking": _world_video(rng, 6)},
    }
    keypoints = {
        s: {a: [rng.uniform(0, 1000, (len(v) + 2, 17, 2)) for _ in range(4)] for a, v in d.items()}
        for s, d in positions.items()
    }
    keypoints["S9"]["Walking"] = [k[:5] for k in keypoints["S9"]["Walking"]]  # 2D shorter
    metadata = {"layout_name": "h36m", "num_joints": 17, "keypoints_symmetry": [[4], [1]]}
    path_3d, path_2d = tmp_path / "data_3d_h36m.npz", tmp_path / "data_2d_h36m_gt.npz"
    np.savez_compressed(path_3d, positions_3d=positions)
    np.savez_compressed(path_2d, positions_2d=keypoints, metadata=metadata)
    return path_3d, path_2d, positions, keypoints


def test_load_h36m_converts_to_camera_space_and_trims(h36m_files):
    path_3d, path_2d, positions, keypoints = h36m_files
    data = load_h36m(path_3d, path_2d)
    assert len(data.poses_3d) == 3 * 4
    assert list(data.subjects) == ["S1"] * 8 + ["S9"] * 4
    assert sorted(set(data.actions)) == ["Eating 2", "Walking"]
    assert list(data.cameras[:4]) == CAMERA_IDS
    assert data.keypoints_metadata["layout_name"] == "h36m"
    calib = json.loads(bundled("h36m_cameras.json").read_text())
    picked = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
    for i in range(len(data.poses_3d)):
        s, a, c = data.subjects[i], data.actions[i], data.cameras[i]
        world = positions[s][a]
        kp = keypoints[s][a][CAMERA_IDS.index(c)]
        n = min(len(world), len(kp))
        assert data.poses_3d[i].shape == (n, 17, 3) and data.keypoints[i].shape == (n, 17, 2)
        R, T = np.array(calib[s][c]["R"]), np.array(calib[s][c]["T"])
        for t in range(n):
            for out_j, j in enumerate(picked):
                expected = R @ (world[t, j] - T)
                np.testing.assert_allclose(data.poses_3d[i][t, out_j], expected, atol=1e-5)
        np.testing.assert_allclose(data.keypoints[i], kp[:n], atol=1e-3)
        assert data.intrinsics[i] == H36M_CAMERAS[c]
        # The room's centre is in front of every camera and inside its image.
        uv = project(data.poses_3d[i][:, 0], data.intrinsics[i])
        assert np.all(data.poses_3d[i][..., 2] > 2)
        assert np.all((uv > 0) & (uv < 1000))


def test_load_h36m_filters_and_works_without_2d(h36m_files):
    path_3d, path_2d, *_ = h36m_files
    data = load_h36m(path_3d, subjects=["S9"], cameras=[55011271, "60457274"])
    assert data.keypoints is None and list(data.cameras) == ["55011271", "60457274"]
    assert list(data.subjects) == ["S9", "S9"] and data.poses_3d[0].shape == (6, 17, 3)
    data = load_h36m(path_3d, path_2d, actions=["Walking"], subjects=("S1",))
    assert len(data.poses_3d) == 4 and set(data.actions) == {"Walking"}


def test_load_h36m_errors_name_the_file_and_key(h36m_files, tmp_path):
    path_3d, path_2d, positions, keypoints = h36m_files
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        load_h36m(tmp_path / "nowhere.npz")
    with pytest.raises(ValueError, match=r"data_2d_h36m_gt.npz.*'positions_3d'"):
        load_h36m(path_2d)  # a 2D file given as the 3D one
    with pytest.raises(ValueError, match=r"data_3d_h36m.npz.*subjects \['S2'\]"):
        load_h36m(path_3d, subjects=["S2"])
    with pytest.raises(ValueError, match=r"cameras \['12345'\]"):
        load_h36m(path_3d, cameras=[12345])
    text = tmp_path / "notes.npz"
    text.write_text("not a zip")
    with pytest.raises(ValueError, match="notes.npz.*not an npz"):
        load_h36m(text)
    del keypoints["S9"]
    partial = tmp_path / "partial_2d.npz"
    np.savez_compressed(partial, positions_2d=keypoints)
    with pytest.raises(ValueError, match=r"partial_2d.npz.*\['S9'\]\['Walking'\] is missing"):
        load_h36m(path_3d, partial)
    bad = tmp_path / "bad_3d.npz"
    np.savez_compressed(bad, positions_3d={"S1": {"Walking": np.zeros((5, 20, 3))}})
    with pytest.raises(ValueError, match=r"bad_3d.npz.*\['S1'\]\['Walking'\].*\(5, 20, 3\)"):
        load_h36m(bad)
