"""The one ``image_size`` check shared by every estimator parameter of that name."""

import numpy as np
import pytest

from skpose3d import camera
from skpose3d.camera import check_image_size


def test_none_means_normalised_input():
    assert check_image_size(None) is None


@pytest.mark.parametrize("size", [(1000, 1002), [1000.0, 1002.0], np.array([1000, 1002])])
def test_returns_width_height_as_floats(size):
    got = check_image_size(size)
    assert got == (1000.0, 1002.0)
    assert all(type(v) is float for v in got)


@pytest.mark.parametrize("size", [1000, (1000,), (1, 2, 3), "1000x1000", ("640", "480"), (True, 1)])
def test_rejects_what_is_not_a_pair_of_numbers(size):
    with pytest.raises(ValueError, match=r"image_size must be None or \(width, height\) in pixels"):
        check_image_size(size)


@pytest.mark.parametrize("size", [(0, 100), (100, -1), (float("nan"), 10), (10, float("inf"))])
def test_rejects_non_positive_sizes(size):
    with pytest.raises(ValueError, match="image_size must be positive"):
        check_image_size(size)


def test_camera_has_one_image_size_check():
    # The two-argument namesake with another signature is gone: one name, one meaning.
    assert not hasattr(camera, "_check_image_size")
