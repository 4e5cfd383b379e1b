"""The projection layer: gradients, agreement with camera.project and a slow reference, flips."""

import numpy as np
import pytest
import torch

from skpose3d.camera import (
    H36M_CAMERAS,
    Intrinsics,
    flip_intrinsics,
    flip_keypoints,
    flip_poses,
    normalize_screen_coordinates,
    project,
)
from skpose3d.nn.projection import ProjectionLayer, project_to_screen

CAMS = list(H36M_CAMERAS.values())


def _reference(point, k, distortion):
    """Project one camera-space point with PAPER_FACTS's formula, written out in scalars."""
    fx, fy, cx, cy, k1, k2, k3, p1, p2 = (float(v) for v in k)
    x, y = point[0] / point[2], point[1] / point[2]
    if distortion:
        r2 = x * x + y * y
        rad = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        tan = p1 * x + p2 * y
        x, y = x * (rad + tan) + p1 * r2, y * (rad + tan) + p2 * r2
    return fx * x + cx, fy * y + cy


def _points(batch=4, joints=5, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    xy = (torch.rand(batch, joints, 2, generator=gen, dtype=dtype) - 0.5) * 2
    z = 3 + 3 * torch.rand(batch, joints, 1, generator=gen, dtype=dtype)
    return torch.cat([xy, z], -1)


def _cameras(batch=4, dtype=torch.float64):
    vectors = [CAMS[i % 4].normalized() for i in range(batch)]
    return torch.tensor(np.stack(vectors), dtype=dtype)


@pytest.mark.parametrize("distortion", [True, False])
def test_matches_a_slow_per_point_reference_with_one_camera_per_sample(distortion):
    points, cams = _points(), _cameras()
    cams[:, 4:] *= 3  # exaggerate distortion so a wrong coefficient would show
    out = project_to_screen(points, cams, distortion=distortion, clamp=False)
    for b in range(points.shape[0]):
        for j in range(points.shape[1]):
            expected = _reference(points[b, j].tolist(), cams[b], distortion)
            np.testing.assert_allclose(out[b, j].numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("distortion", [True, False])
def test_equals_camera_project_in_normalised_and_pixel_units(distortion):
    points = _points(batch=4, joints=17)
    cams = _cameras()
    out = ProjectionLayer(distortion=distortion)(points, cams)
    for b, cam in enumerate(CAMS):
        expected = project(points[b].numpy(), cam.normalized(), distortion=distortion, clamp=True)
        np.testing.assert_allclose(out[b].numpy(), expected, rtol=1e-12, atol=1e-12)
        # Normalised intrinsics give the normalised pixel projection (the paper's convention).
        pixels = project(points[b].numpy(), cam, distortion=distortion, clamp=True)
        screen = normalize_screen_coordinates(pixels, cam.width, cam.height)
        np.testing.assert_allclose(out[b].numpy(), screen, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("distortion", [True, False])
def test_gradcheck_float64_through_points_and_intrinsics(distortion):
    points = _points(batch=3, joints=4).requires_grad_(True)
    cams = _cameras(batch=3)
    cams[:, 4:] += 0.05  # non-zero distortion so its derivatives are exercised
    cams.requires_grad_(True)
    layer = ProjectionLayer(distortion=distortion, clamp=False)
    assert torch.autograd.gradcheck(layer, (points, cams), eps=1e-6, atol=1e-7)


def test_one_shared_camera_broadcasts_like_a_batch_of_copies():
    points = _points(batch=3)
    one = _cameras(batch=1)[0]
    np.testing.assert_array_equal(
        project_to_screen(points, one).numpy(),
        project_to_screen(points, one.expand(3, 9)).numpy(),
    )


def test_points_at_or_behind_the_camera_give_finite_values_and_gradients():
    points = torch.tensor([[[0.1, 0.2, 0.0], [0.1, -0.2, -1.0], [0.3, 0.1, 2.0]]])
    points.requires_grad_(True)
    out = project_to_screen(points, _cameras(1, torch.float32), min_depth=1e-3)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(points.grad).all()
    # Clamped: x / z and y / z stay within [-1, 1] before the camera is applied.
    linear = project_to_screen(points, torch.tensor([1.0, 1, 0, 0, 0, 0, 0, 0, 0]), clamp=True)
    assert linear.abs().max() <= 1.0


def test_linear_ignores_distortion_coefficients():
    points = _points()
    cams = _cameras()
    plain = cams.clone()
    plain[:, 4:] = 0
    np.testing.assert_allclose(
        ProjectionLayer(distortion=False)(points, cams).numpy(),
        ProjectionLayer(distortion=True)(points, plain).numpy(),
        rtol=1e-12,
    )


def test_mirrored_pose_with_mirrored_camera_projects_to_the_mirrored_keypoints():
    # The flip augmentation of unlabeled clips relies on this identity.
    points = _points(batch=4, joints=17)
    cams = _cameras()
    cams[:, 7] = 0.01  # a visible tangential p1
    out = project_to_screen(points, cams)
    mirrored = project_to_screen(flip_poses(points, "h36m"), flip_intrinsics(cams))
    torch.testing.assert_close(mirrored, flip_keypoints(out, "h36m"), rtol=1e-10, atol=1e-10)


def test_wrong_shapes_are_rejected():
    with pytest.raises(ValueError, match="points must be"):
        project_to_screen(torch.zeros(2, 5, 2), _cameras(2))
    with pytest.raises(ValueError, match="3 cameras but points has 2"):
        project_to_screen(torch.ones(2, 5, 3), _cameras(3))


def test_pixel_intrinsics_and_module_repr():
    cam = Intrinsics(1000.0, 1000.0, 500.0, 400.0, width=1000, height=800)
    point = torch.tensor([[[0.1, -0.2, 2.0]]], dtype=torch.float64)
    out = project_to_screen(point, torch.tensor(cam.to_vector()))
    np.testing.assert_allclose(out.numpy(), [[[550.0, 300.0]]])
    assert "distortion=True" in repr(ProjectionLayer())
