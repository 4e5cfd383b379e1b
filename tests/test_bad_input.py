"""Bad input gives a clear error naming what is wrong, and never corrupts a fitted lifter."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skpose3d import TemporalPoseLifter

FAST = dict(channels=16, n_epochs=1, batch_size=32, random_state=0)


@pytest.fixture
def data(rng):
    y = [rng.normal(scale=0.2, size=(n, 17, 3)) + [0, 0, 4] for n in (20, 25)]
    X = [p[..., :2] / p[..., 2:] for p in y]
    return X, y


@pytest.fixture
def fitted(data):
    return TemporalPoseLifter(**FAST).fit(*data)


def _bad_fit_cases(X, y):
    nan_X = [X[0].copy(), X[1]]
    nan_X[0][7, 3, 1] = np.nan
    inf_y = [y[0], y[1].copy()]
    inf_y[1][4, 0, 2] = np.inf
    return {
        "empty": ([], [], "empty"),
        "ndim": ([X[0][0]], [y[0]], "2 dimensions"),
        "channels": ([np.zeros((20, 17, 4))], [y[0]], "4 channels"),
        "joints": ([X[0][:, :16]], [y[0]], "16 joints"),
        "target joints": (X, [y[0][:, :15], y[1]], r"y\[0\] has 15 joints"),
        "lengths": (X, [y[0][:-1], y[1]], r"y\[0\] has 19 frames but X\[0\] has 20"),
        "n videos": (X, y[:1], "1 videos but X has 2"),
        "nan": (nan_X, y, r"X\[0\] contains NaN or inf at frame 7, joint 3"),
        "inf": (X, inf_y, r"y\[1\] contains NaN or inf at frame 4, joint 0"),
        "ragged": ([[[0, 1], [2]]], [y[0]], "cannot be read"),
        "not a list": ("videos", y, "must be a list"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty",
        "ndim",
        "channels",
        "joints",
        "target joints",
        "lengths",
        "n videos",
        "nan",
        "inf",
        "ragged",
        "not a list",
    ],
)
def test_bad_fit_input_raises_and_leaves_fitted_lifter_unchanged(case, data, fitted):
    X_bad, y_bad, message = _bad_fit_cases(*data)[case]
    before = {k: v.clone() for k, v in fitted.module_.state_dict().items()}
    history = list(fitted.history_)
    with pytest.raises((ValueError, TypeError), match=message):
        fitted.fit(X_bad, y_bad)
    assert fitted.history_ == history
    for key, value in fitted.module_.state_dict().items():
        assert torch.equal(value, before[key])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"filter_widths": (3, 4)}, "odd"),
        ({"filter_widths": (3, 0)}, "odd"),
        ({"filter_widths": (-3,)}, "odd"),
        ({"input_skeleton": "smpl"}, "smpl"),
        ({"image_size": (0, 100)}, "image_size"),
        ({"image_size": (100, -2)}, "image_size"),
        ({"n_epochs": 0}, "n_epochs"),
        ({"precision": "int8"}, "precision"),
    ],
)
def test_bad_hyper_parameters(params, message, data, fitted):
    before = fitted.module_.shrink.weight.detach().clone()
    with pytest.raises(ValueError, match=message):
        fitted.set_params(**params).fit(*data)
    assert torch.equal(fitted.module_.shrink.weight, before)


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        TemporalPoseLifter().predict([np.zeros((5, 17, 2))])


def test_predict_with_other_joints_or_channels(fitted):
    with pytest.raises(ValueError, match="16 joints"):
        fitted.predict([np.zeros((5, 16, 2))])
    with pytest.raises(ValueError, match="fitted on 2"):
        fitted.predict([np.zeros((5, 17, 3))])
    with pytest.raises(ValueError, match=r"X\[1\] has no frames"):
        fitted.predict([np.zeros((5, 17, 2)), np.zeros((0, 17, 2))])


def test_early_stopping_needs_two_videos(data):
    X, y = data
    with pytest.raises(ValueError, match="at least 2 videos"):
        TemporalPoseLifter(early_stopping=True, **FAST).fit(X[:1], y[:1])


def _nan_loss_from_epoch(monkeypatch, bad_epoch):
    from skpose3d._fit_context import FitContext

    original = FitContext.supervised_step

    def step(self, batch, epoch):
        terms = original(self, batch, epoch)
        return {"loss": terms["loss"] * np.nan} if epoch >= bad_epoch else terms

    monkeypatch.setattr(FitContext, "supervised_step", step)


def test_non_finite_loss_stops_with_clear_error_and_keeps_last_good_weights(data, monkeypatch):
    X, y = data
    one_epoch = TemporalPoseLifter(**FAST).fit(X, y)
    _nan_loss_from_epoch(monkeypatch, bad_epoch=1)
    lifter = TemporalPoseLifter(**{**FAST, "n_epochs": 3})
    with pytest.raises(FloatingPointError, match="loss became nan in epoch 1"):
        lifter.fit(X, y)
    assert lifter.n_iter_ == 1
    for a, b in zip(lifter.predict(X), one_epoch.predict(X)):
        np.testing.assert_array_equal(a, b)


def test_non_finite_loss_in_first_epoch_leaves_lifter_unfitted(data, monkeypatch):
    _nan_loss_from_epoch(monkeypatch, bad_epoch=0)
    lifter = TemporalPoseLifter(**FAST)
    with pytest.raises(FloatingPointError):
        lifter.fit(*data)
    with pytest.raises(NotFittedError):
        lifter.predict(data[0])


def test_keyboard_interrupt_keeps_last_completed_epoch(data, monkeypatch):
    X, y = data
    from skpose3d import _training

    original = _training._train_step
    state = {"batches": 0}

    def interrupt_in_second_epoch(module, optimizer, step, batch, epoch, last_good):
        if epoch == 1:
            raise KeyboardInterrupt
        state["batches"] += 1
        return original(module, optimizer, step, batch, epoch, last_good)

    monkeypatch.setattr(_training, "_train_step", interrupt_in_second_epoch)
    lifter = TemporalPoseLifter(**{**FAST, "n_epochs": 5})
    with pytest.warns(RuntimeWarning, match="interrupted"):
        lifter.fit(X, y)
    assert lifter.n_iter_ == 1 and state["batches"] > 0
    assert lifter.predict(X)[0].shape == (20, 17, 3)


@pytest.mark.parametrize("device", ["gpu", "cuda0", "cuda:x", "CPU"])
def test_unknown_device_names_the_parameter_and_the_allowed_forms(data, fitted, device):
    X, y = data
    message = r'device must be "auto", "cpu", "cuda", "cuda:N" or a torch.device, got'
    with pytest.raises(ValueError, match=message):
        TemporalPoseLifter(**FAST, device=device).fit(X, y)
    weights = fitted.module_.shrink.weight.detach().clone()
    broken = TemporalPoseLifter(**FAST).fit(X, y).set_params(device=device)
    with pytest.raises(ValueError, match=message):
        broken.predict(X)
    with pytest.raises(ValueError, match=message):
        fitted.set_params(device=device).fit(X, y)
    assert torch.equal(fitted.module_.shrink.weight, weights)  # the failed fit changed nothing


def test_pixel_keypoints_without_image_size_warn_at_fit_and_predict(data, fitted):
    X, y = data
    pixels = [x * 500 + 500 for x in X]  # a 1000-pixel-wide image
    with pytest.warns(UserWarning, match=r"X\[0\] has 2D keypoints up to .* look like pixels"):
        TemporalPoseLifter(**FAST).fit(pixels, y)
    with pytest.warns(UserWarning, match="set image_size|Set image_size"):
        fitted.predict(pixels)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # normalised keypoints, or pixels with image_size: silent
        fitted.predict(X)
        TemporalPoseLifter(**FAST, image_size=(1000, 1000)).fit(pixels, y).predict(pixels)
        # A confidence channel and non-finite values outside x, y do not count.
        conf = [np.concatenate([x, np.full_like(x[..., :1], 50.0)], -1) for x in X]
        TemporalPoseLifter(**FAST).fit(conf, y)
