"""Tests for skpose3d.camera: projection, normalisation, extrinsics and flips (numpy + torch)."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from skpose3d.camera import (
    H36M_CAMERAS,
    Intrinsics,
    camera_to_world,
    flip_intrinsics,
    flip_keypoints,
    flip_poses,
    h36m_intrinsics,
    image_coordinates,
    normalize_screen_coordinates,
    project,
    world_to_camera,
)
from skpose3d.skeleton import COCO, H36M

from .conftest import bundled

CAMERA_IDS = ["54138969", "55011271", "58860488", "60457274"]

# The table of PAPER_FACTS.md ("Camera projection"), as printed there (4-8 significant digits).
PAPER_TABLE = {
    "54138969": ([1145.0494, 1143.7811, 512.5415, 515.4515], [-0.2070989, 0.2477752, -0.00307515],
                 [-0.00097570, -0.00142447], (1000, 1002)),
    "55011271": ([1149.6757, 1147.5917, 508.8486, 508.0649], [-0.1942136, 0.2404085, 0.00681998],
                 [-0.00161903, -0.00274089], (1000, 1000)),
    "58860488": ([1149.1407, 1148.7990, 519.8159, 501.4026], [-0.2083382, 0.2554880, -0.00246050],
                 [0.00148439, -0.00076000], (1000, 1000)),
    "60457274": ([1145.5114, 1144.7739, 514.9682, 501.8820], [-0.1983841, 0.2183237, -0.00894781],
                 [-0.00058721, -0.00181336], (1000, 1002)),
}  # fmt: skip


def reference_project(points, vector, distortion=True, clamp=False):
    """Slow, obviously-correct projection: one point at a time with Python floats."""
    fx, fy, cx, cy, k1, k2, k3, p1, p2 = (float(v) for v in vector)
    flat = np.asarray(points, dtype=float).reshape(-1, 3)
    out = []
    for X, Y, Z in flat:
        x, y = X / Z, Y / Z
        if clamp:
            x, y = min(max(x, -1.0), 1.0), min(max(y, -1.0), 1.0)
        if distortion:
            r2 = x * x + y * y
            radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
            tangential = p1 * x + p2 * y
            x, y = x * (radial + tangential) + p1 * r2, y * (radial + tangential) + p2 * r2
        out.append([fx * x + cx, fy * y + cy])
    return np.array(out).reshape(np.shape(points)[:-1] + (2,))


def random_points(rng, shape, spread=0.4):
    """Camera-space points in front of the camera, mostly inside the field of view."""
    z = rng.uniform(2.0, 6.0, size=shape + (1,))
    xy = rng.uniform(-spread, spread, size=shape + (2,)) * z
    return np.concatenate([xy, z], axis=-1)


# --------------------------------------------------------------------------- projection
@pytest.mark.parametrize("camera_id", CAMERA_IDS)
@pytest.mark.parametrize("distortion", [True, False])
def test_project_matches_reference(camera_id, distortion, rng):
    cam = H36M_CAMERAS[camera_id]
    points = random_points(rng, (4, 17))
    expected = reference_project(points, cam.to_vector(), distortion=distortion)
    got = project(points, cam, distortion=distortion)
    assert isinstance(got, np.ndarray) and got.shape == (4, 17, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)
    got_vec = project(points, cam.to_vector(), distortion=distortion)
    np.testing.assert_allclose(got_vec, expected, rtol=1e-12, atol=1e-9)


def test_distortion_changes_the_projection(rng):
    cam = H36M_CAMERAS["54138969"]
    points = random_points(rng, (50,))
    shift = np.abs(project(points, cam) - project(points, cam, distortion=False))
    assert shift.max() > 1.0  # pixels: the H36M lenses distort noticeably off-centre


def test_clamp_only_when_requested(rng):
    cam = H36M_CAMERAS["58860488"]
    points = random_points(rng, (30,), spread=2.0)  # many points outside |x| <= 1
    for clamp in (False, True):
        expected = reference_project(points, cam.to_vector(), clamp=clamp)
        np.testing.assert_allclose(project(points, cam, clamp=clamp), expected, rtol=1e-12)
    assert not np.allclose(project(points, cam, clamp=True), project(points, cam))


def test_linear_projection_is_pinhole(rng):
    cam = H36M_CAMERAS["55011271"]
    points = random_points(rng, (3, 5))
    u = cam.fx * points[..., 0] / points[..., 2] + cam.cx
    v = cam.fy * points[..., 1] / points[..., 2] + cam.cy
    got = project(points, cam, distortion=False)
    np.testing.assert_allclose(got, np.stack([u, v], axis=-1), rtol=1e-12)
    no_lens = dataclasses.replace(cam, k1=0.0, k2=0.0, k3=0.0, p1=0.0, p2=0.0)
    np.testing.assert_allclose(project(points, no_lens), got, rtol=1e-12)


def test_torch_matches_numpy_float64(rng):
    cam = H36M_CAMERAS["60457274"]
    points = random_points(rng, (2, 9, 17))
    expected = project(points, cam)
    for intrinsics in (cam, cam.to_vector(), torch.from_numpy(cam.to_vector())):
        got = project(torch.from_numpy(points), intrinsics)
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    # numpy points with tensor intrinsics also give a tensor
    got = project(points, torch.from_numpy(cam.normalized()))
    np.testing.assert_allclose(got.numpy(), project(points, cam.normalized()), rtol=1e-12)


def test_torch_float32_points_keep_float32(rng):
    points = torch.from_numpy(random_points(rng, (5,))).float()
    cam = H36M_CAMERAS["54138969"]
    got = project(points, cam.normalized())
    assert got.dtype == torch.float32
    np.testing.assert_allclose(
        got.numpy(), project(points.double().numpy(), cam.normalized()), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("clamp", [False, True])
def test_gradcheck_points_and_intrinsics(clamp, rng):
    cam = H36M_CAMERAS["58860488"]
    points = torch.tensor(random_points(rng, (3, 4)), requires_grad=True)
    vector = torch.tensor(cam.normalized(), requires_grad=True)
    # exaggerate the lens so every coefficient has a sizeable gradient
    with torch.no_grad():
        vector[4:] = torch.tensor([-0.3, 0.2, 0.1, 0.05, -0.04], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda p, v: project(p, v, clamp=clamp), (points, vector), eps=1e-6, atol=1e-6
    )


def test_gradient_reaches_batched_intrinsics(rng):
    vectors = torch.tensor(
        np.stack([H36M_CAMERAS[c].normalized() for c in CAMERA_IDS[:2]]), requires_grad=True
    )
    points = torch.tensor(random_points(rng, (2, 3, 5)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda p, v: project(p, v), (points, vectors), atol=1e-6)


def test_batched_intrinsics_pair_with_leading_axis(rng):
    vectors = np.stack([H36M_CAMERAS[c].to_vector() for c in CAMERA_IDS])  # (4, 9)
    points = random_points(rng, (4, 6, 17))  # (B, T, J, 3)
    got = project(points, vectors)
    assert got.shape == (4, 6, 17, 2)
    for b in range(4):
        np.testing.assert_allclose(got[b], reference_project(points[b], vectors[b]), rtol=1e-12)
    # (B, 9) with (B, 3): one point per camera
    single = project(points[:, 0, 0], vectors)
    np.testing.assert_allclose(single, got[:, 0, 0], rtol=1e-12)
    got_torch = project(torch.from_numpy(points), torch.from_numpy(vectors))
    np.testing.assert_allclose(got_torch.numpy(), got, rtol=1e-12)


def test_project_rejects_bad_shapes(rng):
    cam = H36M_CAMERAS["54138969"]
    with pytest.raises(ValueError, match="points"):
        project(np.ones((5, 2)), cam)
    with pytest.raises(ValueError, match="intrinsics"):
        project(random_points(rng, (5,)), np.ones(8))
    with pytest.raises(ValueError, match="broadcast"):
        project(random_points(rng, (5, 7)), np.ones((3, 9)))


# --------------------------------------------------------------------------- normalisation
def test_normalize_known_values_and_passthrough():
    X = np.array([[0.0, 0.0, 0.7], [1000.0, 1002.0, 0.2], [500.0, 501.0, 1.0]])
    before = X.copy()
    got = normalize_screen_coordinates(X, 1000, 1002)
    expected = [[-1.0, -1.002, 0.7], [1.0, 1.002, 0.2], [0.0, 0.0, 1.0]]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_array_equal(X, before)
    assert got is not X


@pytest.mark.parametrize("channels", [2, 3])
def test_normalize_round_trip(channels, rng):
    X = rng.uniform(0, 1000, size=(7, 17, channels))
    Xn = normalize_screen_coordinates(X, 1000, 1002)
    np.testing.assert_allclose(image_coordinates(Xn, 1000, 1002), X, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        normalize_screen_coordinates(image_coordinates(Xn, 640, 480), 640, 480), Xn, atol=1e-12
    )
    assert np.abs(Xn[..., 0]).max() <= 1.0


def test_normalize_integer_and_torch_inputs(rng):
    X = rng.integers(0, 1000, size=(4, 2))
    got = normalize_screen_coordinates(X, 1000, 1000)
    assert np.issubdtype(got.dtype, np.floating)
    np.testing.assert_allclose(got, X / 500.0 - 1.0)
    Xt = torch.from_numpy(X.astype(np.float64))
    got_t = normalize_screen_coordinates(Xt, 1000, 1000)
    assert isinstance(got_t, torch.Tensor)
    np.testing.assert_allclose(got_t.numpy(), got)
    np.testing.assert_allclose(image_coordinates(got_t, 1000, 1000).numpy(), X)


@pytest.mark.parametrize("size", [(0, 100), (100, -1), (float("nan"), 10)])
def test_normalize_rejects_bad_image_size(size):
    with pytest.raises(ValueError, match="width|height"):
        normalize_screen_coordinates(np.zeros((3, 2)), *size)


@pytest.mark.parametrize("camera_id", CAMERA_IDS)
def test_normalised_intrinsics_project_to_normalised_coordinates(camera_id, rng):
    cam = H36M_CAMERAS[camera_id]
    points = random_points(rng, (8, 17))
    for distortion in (True, False):
        pixels = project(points, cam, distortion=distortion)
        expected = normalize_screen_coordinates(pixels, cam.width, cam.height)
        got = project(points, cam.normalized(), distortion=distortion)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_normalized_vector_values():
    cam = Intrinsics(800.0, 700.0, 320.0, 200.0, 0.1, 0.2, 0.3, 0.4, 0.5, width=640, height=480)
    expected = [2.5, 700 / 320, 0.0, 200 / 320 - 0.75, 0.1, 0.2, 0.3, 0.4, 0.5]
    np.testing.assert_allclose(cam.normalized(), expected, rtol=1e-12)
    assert cam.normalized().dtype == np.float64 and cam.normalized().shape == (9,)


# --------------------------------------------------------------------------- extrinsics
def _h36m_extrinsics():
    return json.loads(bundled("h36m_cameras.json").read_text())


def test_world_to_camera_round_trip_with_h36m_extrinsics(rng):
    params = _h36m_extrinsics()["S1"]["54138969"]
    R, T = np.array(params["R"]), np.array(params["T"])
    X_world = rng.normal(scale=1.0, size=(10, 17, 3)) + [0.0, 0.0, 1.0]
    X_cam = world_to_camera(X_world, R, T)
    for i in range(3):  # one point by hand: R @ (X - T)
        np.testing.assert_allclose(X_cam[0, i], R @ (X_world[0, i] - T), rtol=1e-12)
    np.testing.assert_allclose(camera_to_world(X_cam, R, T), X_world, atol=1e-12)
    np.testing.assert_allclose(world_to_camera(T, R, T), np.zeros(3), atol=1e-12)
    # distances are preserved, and the subject (near the world origin) is in front of the camera
    np.testing.assert_allclose(
        np.linalg.norm(X_cam[:, 1] - X_cam[:, 2], axis=-1),
        np.linalg.norm(X_world[:, 1] - X_world[:, 2], axis=-1),
    )
    assert (X_cam[..., 2] > 0).all()
    got_t = world_to_camera(torch.from_numpy(X_world), R, T)
    assert isinstance(got_t, torch.Tensor)
    np.testing.assert_allclose(got_t.numpy(), X_cam, rtol=1e-12)
    np.testing.assert_allclose(camera_to_world(got_t, R, T).numpy(), X_world, atol=1e-12)


def test_h36m_intrinsics_match_paper_table_and_json():
    for camera_id, (fc, k, p, (w, h)) in PAPER_TABLE.items():
        cam = h36m_intrinsics(camera_id)
        np.testing.assert_allclose(cam.to_vector(), fc + k + p, rtol=1e-5, atol=1e-8)
        assert (cam.width, cam.height) == (w, h)
        assert h36m_intrinsics(int(camera_id)) is cam
    for camera_id, params in _h36m_extrinsics()["S9"].items():
        cam = H36M_CAMERAS[camera_id]
        for field in ("fx", "fy", "cx", "cy", "k1", "k2", "k3", "p1", "p2"):
            assert getattr(cam, field) == pytest.approx(params[field], rel=1e-12)
        assert (cam.width, cam.height) == (params["width"], params["height"])


def test_h36m_intrinsics_unknown_id():
    with pytest.raises(ValueError, match="12345") as info:
        h36m_intrinsics(12345)
    assert all(c in str(info.value) for c in CAMERA_IDS)
    with pytest.raises(TypeError):
        h36m_intrinsics(5.4138969e7)


# --------------------------------------------------------------------------- flips
@pytest.mark.parametrize("camera_id", CAMERA_IDS)
def test_flipped_projection_is_mirrored_projection(camera_id, rng):
    cam = H36M_CAMERAS[camera_id]
    poses = random_points(rng, (6, 17))
    mirrored = flip_poses(poses, H36M)
    # pixels: Intrinsics.flipped and x -> width - x
    expected = flip_keypoints(project(poses, cam), H36M, width=cam.width)
    np.testing.assert_allclose(project(mirrored, cam.flipped()), expected, rtol=1e-10)
    # normalised units: flip_intrinsics and x -> -x
    expected = flip_keypoints(project(poses, cam.normalized()), H36M)
    got = project(mirrored, flip_intrinsics(cam.normalized()))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(flip_intrinsics(cam.normalized()), cam.flipped().normalized())
    # and in torch, with a batch of intrinsics
    poses_t = torch.from_numpy(poses)
    vectors = torch.from_numpy(np.stack([cam.normalized()] * 6))
    got_t = project(flip_poses(poses_t, H36M), flip_intrinsics(vectors))
    np.testing.assert_allclose(got_t.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_flip_keypoints_swaps_sides_and_keeps_other_channels(rng):
    X = rng.uniform(0, 1000, size=(3, 17, 3))
    before = X.copy()
    got = flip_keypoints(X, "coco", width=1000)
    np.testing.assert_array_equal(X, before)
    for left, right in zip(COCO.joints_left, COCO.joints_right, strict=True):
        np.testing.assert_allclose(got[:, left, 0], 1000 - X[:, right, 0])
        np.testing.assert_array_equal(got[:, left, 1:], X[:, right, 1:])
    np.testing.assert_allclose(got[:, 0, 0], 1000 - X[:, 0, 0])  # nose stays the nose
    np.testing.assert_allclose(flip_keypoints(got, COCO, width=1000), X)
    Xn = normalize_screen_coordinates(X, 1000, 1000)
    np.testing.assert_allclose(
        flip_keypoints(Xn, COCO), normalize_screen_coordinates(got, 1000, 1000), atol=1e-12
    )


def test_flips_on_torch_do_not_modify_input_and_match_numpy(rng):
    X = torch.from_numpy(rng.normal(size=(2, 5, 17, 3)))
    Y = torch.from_numpy(rng.normal(size=(2, 5, 17, 3)))
    V = torch.from_numpy(rng.normal(size=(2, 9)))
    copies = [t.clone() for t in (X, Y, V)]
    got = (flip_keypoints(X, H36M), flip_poses(Y, H36M), flip_intrinsics(V))
    for tensor, copy in zip((X, Y, V), copies, strict=True):
        assert torch.equal(tensor, copy)
    expected = (
        flip_keypoints(X.numpy(), H36M),
        flip_poses(Y.numpy(), H36M),
        flip_intrinsics(V.numpy()),
    )
    for g, e in zip(got, expected, strict=True):
        assert isinstance(g, torch.Tensor)
        np.testing.assert_array_equal(g.numpy(), e)


def test_flip_poses_and_intrinsics_values(rng):
    Y = rng.normal(size=(4, 17, 3))
    got = flip_poses(Y, H36M)
    perm = [0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13]  # written out by hand
    np.testing.assert_array_equal(got[..., 0], -Y[:, perm, 0])
    np.testing.assert_array_equal(got[..., 1:], Y[:, perm, 1:])
    np.testing.assert_array_equal(flip_poses(got, H36M), Y)
    V = np.arange(1.0, 10.0)
    np.testing.assert_array_equal(flip_intrinsics(V), [1, 2, -3, 4, 5, 6, 7, -8, 9])
    np.testing.assert_array_equal(V, np.arange(1.0, 10.0))


def test_flips_reject_wrong_joint_count():
    with pytest.raises(ValueError, match="17"):
        flip_keypoints(np.zeros((5, 16, 2)), H36M)
    with pytest.raises(ValueError, match="Y"):
        flip_poses(np.zeros((5, 17, 2)), "h36m")
    with pytest.raises(ValueError, match="9"):
        flip_intrinsics(np.zeros(8))


# --------------------------------------------------------------------------- Intrinsics
def test_intrinsics_vector_round_trip_and_flip_involution():
    cam = H36M_CAMERAS["54138969"]
    vector = cam.to_vector()
    assert vector.dtype == np.float64 and vector.shape == (9,)
    assert Intrinsics.from_vector(vector, cam.width, cam.height) == cam
    flipped = cam.flipped()
    assert flipped.cx == pytest.approx(cam.width - cam.cx)
    assert flipped.p1 == -cam.p1
    assert (flipped.cy, flipped.p2, flipped.k1) == (cam.cy, cam.p2, cam.k1)
    assert flipped.flipped().cx == pytest.approx(cam.cx)


def test_intrinsics_width_height_keyword_only():
    with pytest.raises(TypeError):
        Intrinsics(1.0, 1.0, 0.0, 0.0, 0, 0, 0, 0, 0, 640, 480)
    cam = Intrinsics(1.0, 1.0, 0.0, 0.0, width=np.int64(640), height=480.0)
    assert (cam.width, cam.height) == (640, 480) and type(cam.width) is int


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fx": 0.0}, "fx"),
        ({"fy": -5.0}, "fy"),
        ({"cx": math.nan}, "cx"),
        ({"k2": math.inf}, "k2"),
        ({"p1": -math.inf}, "p1"),
        ({"width": 0}, "width"),
        ({"height": -480}, "height"),
        ({"width": 640.5}, "width"),
    ],
)
def test_intrinsics_validation_names_the_field(changes, field):
    params = {"fx": 500.0, "fy": 500.0, "cx": 320.0, "cy": 240.0, "width": 640, "height": 480}
    with pytest.raises(ValueError, match=field):
        Intrinsics(**(params | changes))


def test_intrinsics_from_vector_rejects_wrong_shape():
    with pytest.raises(ValueError, match="vector"):
        Intrinsics.from_vector(np.ones(8), 640, 480)
