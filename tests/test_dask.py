"""Hyper-parameter search on a Dask cluster gives the serial search's results.

The cluster is a ``LocalCluster`` of two single-threaded worker *processes*: each process has its
own torch random number generator. (Worker threads in one process would share torch's global
generator, so concurrent fits would draw each other's dropout masks and the results would not be
reproducible.)
"""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, GroupKFold

from skpose3d import TemporalPoseLifter

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
joblib = pytest.importorskip("joblib")


def _videos():
    """Six short videos of three subjects: 3D poses 4 m in front of a pinhole camera."""
    rng = np.random.default_rng(0)
    y = [rng.normal(scale=0.3, size=(50, 17, 3)) + [0.0, 0.0, 4.0] for _ in range(6)]
    X = [pose[..., :2] / pose[..., 2:] for pose in y]
    return X, y, np.repeat([1, 2, 3], 2)


def _search(n_jobs=None):
    lifter = TemporalPoseLifter(channels=8, n_epochs=1, random_state=0, device="cpu")
    grid = {"filter_widths": [(1, 1), (3, 3)], "learning_rate": [1e-3, 1e-2]}
    return GridSearchCV(lifter, grid, cv=GroupKFold(3), error_score="raise", n_jobs=n_jobs)


def test_grid_search_on_dask_cluster_matches_serial_search():
    X, y, groups = _videos()
    serial = _search().fit(X, y, groups=groups)

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with joblib.parallel_backend("dask"), distributed.get_task_stream(client) as tasks:
            remote = _search(n_jobs=-1).fit(X, y, groups=groups)
        workers = set(client.scheduler_info()["workers"])
    # The fits ran on the cluster's workers, not in this process.
    assert len(tasks.data) > 0
    assert {task["worker"] for task in tasks.data} <= workers

    assert remote.best_params_ == serial.best_params_
    assert list(remote.cv_results_["params"]) == list(serial.cv_results_["params"])
    np.testing.assert_array_equal(
        remote.cv_results_["rank_test_score"], serial.cv_results_["rank_test_score"]
    )
    # Dask workers run torch on one thread, this process on all cores: the summation order of
    # a few reductions differs, so the scores agree to rounding, not bit for bit.
    for key in ["mean_test_score", *(f"split{i}_test_score" for i in range(3))]:
        np.testing.assert_allclose(remote.cv_results_[key], serial.cv_results_[key], rtol=1e-6)
    np.testing.assert_allclose(
        remote.best_estimator_.predict(X[:1])[0],
        serial.best_estimator_.predict(X[:1])[0],
        atol=1e-5,
    )
