"""TemporalPoseLifter inside scikit-learn: clone, params, Pipeline, search, CV, checks."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    cross_val_predict,
    cross_validate,
)
from sklearn.pipeline import FunctionTransformer, Pipeline
from sklearn.utils import estimator_checks

from skpose3d import SemiSupervisedLifter, TemporalPoseLifter
from skpose3d.metrics import SCORERS, mpjpe

FAST = dict(channels=16, n_epochs=1, batch_size=64, random_state=0)


@pytest.fixture
def videos(rng):
    lengths = [30, 24, 40, 18, 26, 33]
    y = [rng.normal(scale=0.2, size=(n, 17, 3)) + [0, 0, 4] for n in lengths]
    X = [p[..., :2] / p[..., 2:] for p in y]
    groups = np.array([1, 1, 2, 2, 3, 3])
    return X, y, groups


APPLICABLE_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_mixin_order",
    "check_estimators_unfitted",
]


@pytest.mark.parametrize("cls", [TemporalPoseLifter, SemiSupervisedLifter])
@pytest.mark.parametrize("check", APPLICABLE_CHECKS)
def test_sklearn_estimator_checks_that_apply_to_3d_input(check, cls):
    # check_estimator as a whole feeds 2-D tables; these checks do not depend on the input form.
    getattr(estimator_checks, check)(cls.__name__, cls())


def test_semi_supervised_init_stores_every_parameter_once():
    lifter = SemiSupervisedLifter(channels=8, warm_start=True, n_jobs=1, bone_length_norm="l2")
    params = lifter.get_params()
    assert params["channels"] == 8 and params["warm_start"] and params["n_jobs"] == 1
    assert params["bone_length_norm"] == "l2" and "trajectory" not in params
    assert lifter.trajectory is True  # fixed by the class, not a parameter
    assert set(vars(lifter)) == set(params)


def test_non_deterministic_tag_follows_the_resolved_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as on a GPU machine

    def tag(device):
        return TemporalPoseLifter(device=device).__sklearn_tags__().non_deterministic

    assert not tag(torch.device("cpu")) and not tag("cpu")
    assert tag("auto") and tag("cuda") and tag(torch.device("cuda", 0))


@pytest.mark.parametrize("dataset", ["h36m", "humaneva"])
def test_paper_configurations_in_one_call(dataset):
    expected = {
        "h36m": dict(
            filter_widths=(3, 3, 3, 3, 3), channels=1024, dropout=0.25, n_epochs=80,
            batch_size=1024, learning_rate=1e-3, lr_decay=0.95,
        ),
        "humaneva": dict(
            filter_widths=(3, 3, 3), channels=1024, dropout=0.25, n_epochs=1000,
            batch_size=128, learning_rate=1e-3, lr_decay=0.996,
        ),
    }[dataset]  # fmt: skip
    for cls in (TemporalPoseLifter, SemiSupervisedLifter):
        lifter = cls.paper_config(dataset, random_state=3)
        assert type(lifter) is cls
        params = clone(lifter).get_params()
        assert {k: params[k] for k in expected} == expected and params["random_state"] == 3
    assert TemporalPoseLifter.paper_config("h36m", channels=256).channels == 256
    with pytest.raises(ValueError, match="dataset must be one of"):
        TemporalPoseLifter.paper_config("h36")


def test_clone_get_and_set_params():
    lifter = TemporalPoseLifter(filter_widths=(3, 3), channels=8)
    params = lifter.get_params()
    assert params["filter_widths"] == (3, 3) and params["channels"] == 8
    copy = clone(lifter).set_params(channels=4)
    assert copy.channels == 4 and lifter.channels == 8


def test_tags():
    tags = TemporalPoseLifter().__sklearn_tags__()
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
    assert tags.target_tags.multi_output


def test_pipeline_with_a_preprocessing_step(videos):
    X, y, _ = videos

    def shift(X):  # a stateless step that maps over videos
        return [v + 0.01 for v in X]

    pipe = Pipeline([("shift", FunctionTransformer(shift)), ("lift", TemporalPoseLifter(**FAST))])
    pipe.fit(X, y)
    out = pipe.predict(X)
    assert [p.shape for p in out] == [p.shape for p in y]
    assert pipe.score(X, y) == pytest.approx(-mpjpe(y, out))


def test_grid_search_over_receptive_fields_by_subject(videos):
    X, y, groups = videos
    search = GridSearchCV(
        TemporalPoseLifter(**FAST),
        param_grid={"filter_widths": [(1, 1), (3, 3)]},
        cv=GroupKFold(n_splits=3),
        error_score="raise",
    )
    search.fit(X, y, groups=groups)
    assert search.best_params_["filter_widths"] in [(1, 1), (3, 3)]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert np.all(search.cv_results_["mean_test_score"] < 0)
    assert search.best_estimator_.receptive_field_ == np.prod(search.best_params_["filter_widths"])


def test_cross_val_predict_returns_one_video_per_sample(videos):
    X, y, groups = videos
    pred = cross_val_predict(TemporalPoseLifter(**FAST), X, y, groups=groups, cv=GroupKFold(3))
    assert pred.dtype == object and len(pred) == len(X)
    assert [p.shape for p in pred] == [p.shape for p in y]


def test_cross_validate_with_several_scorers(videos):
    X, y, groups = videos
    result = cross_validate(
        TemporalPoseLifter(**FAST), X, y, groups=groups, cv=GroupKFold(3),
        scoring=SCORERS, error_score="raise", return_estimator=True,
    )  # fmt: skip
    for name in SCORERS:
        assert np.all(result[f"test_{name}"] < 0)
    # Each fold's MPJPE score is minus the metric on that fold's held-out videos.
    for est, (_, test), score in zip(
        result["estimator"], GroupKFold(3).split(X, y, groups), result["test_neg_mpjpe"]
    ):
        held_out = [X[i] for i in test]
        assert score == pytest.approx(-mpjpe([y[i] for i in test], est.predict(held_out)))
