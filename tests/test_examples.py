"""Every example of the gallery runs, in the quick mode the examples read from the environment.

``SKPOSE3D_EXAMPLES_QUICK=1`` makes each example shrink its data and epochs to seconds; the docs
build renders the examples without running them, so this is what keeps them working.
"""

import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
H36M_EXAMPLE = next((p for p in EXAMPLES if "human36m" in p.name), None)


def run_example(path, monkeypatch, tmp_path, argv=()):
    """Run ``path`` as ``__main__`` in an empty working directory; return its namespace."""
    monkeypatch.setenv("SKPOSE3D_EXAMPLES_QUICK", "1")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [str(path), *argv])
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            namespace = runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    unexpected = [w for w in caught if "non-interactive" not in str(w.message)]
    assert not unexpected, [str(w.message) for w in unexpected]
    return namespace


def test_there_are_examples():
    assert len(EXAMPLES) >= 7, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, monkeypatch, tmp_path, capsys):
    if path == H36M_EXAMPLE:
        for name in ("SKPOSE3D_H36M_3D", "SKPOSE3D_H36M_2D"):
            monkeypatch.delenv(name, raising=False)
    run_example(path, monkeypatch, tmp_path)
    out = capsys.readouterr().out
    assert out.strip(), f"{path.name} printed nothing"
    if path == H36M_EXAMPLE:
        assert "Skipped" in out and "SKPOSE3D_H36M_3D" in out


# -- the Human3.6M example on tiny files in the VideoPose3D layout ------------------------------


def _fake_h36m(tmp_path, rng):
    """A 3D and a 2D file shaped like VideoPose3D's, with a few frames of random motion."""
    positions_3d, positions_2d = {}, {}
    for subject in ("S1", "S5", "S6", "S7", "S8", "S9", "S11"):
        positions_3d[subject], positions_2d[subject] = {}, {}
        for action in ("Walking", "Eating 1"):
            world = rng.normal(scale=0.3, size=(30, 32, 3)) + [0.0, 0.0, 1.0]
            positions_3d[subject][action] = world.astype(np.float32)
            positions_2d[subject][action] = [
                rng.uniform(200, 800, size=(30, 17, 2)).astype(np.float32) for _ in range(4)
            ]
    metadata = {
        "layout_name": "h36m",
        "num_joints": 17,
        "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]],
    }
    path_3d, path_2d = tmp_path / "data_3d_h36m.npz", tmp_path / "data_2d_h36m_gt.npz"
    # The community's files are pickled dicts inside npz archives; build them the same way.
    np.savez(path_3d, positions_3d=np.array(positions_3d, dtype=object))
    np.savez(
        path_2d,
        positions_2d=np.array(positions_2d, dtype=object),
        metadata=np.array(metadata, dtype=object),
    )
    return path_3d, path_2d


@pytest.mark.skipif(H36M_EXAMPLE is None, reason="no Human3.6M example yet")
def test_human36m_example_on_files_in_videopose3d_layout(monkeypatch, tmp_path, capsys, rng):
    path_3d, path_2d = _fake_h36m(tmp_path, rng)
    monkeypatch.setenv("SKPOSE3D_H36M_3D", str(path_3d))
    monkeypatch.setenv("SKPOSE3D_H36M_2D", str(path_2d))
    run_example(H36M_EXAMPLE, monkeypatch, tmp_path)
    out = capsys.readouterr().out
    assert "Skipped" not in out
    assert "Walking" in out and "Eating" in out and "Average" in out


@pytest.mark.skipif(H36M_EXAMPLE is None, reason="no Human3.6M example yet")
def test_human36m_example_takes_paths_from_argv(monkeypatch, tmp_path, capsys, rng):
    path_3d, path_2d = _fake_h36m(tmp_path, rng)
    for name in ("SKPOSE3D_H36M_3D", "SKPOSE3D_H36M_2D"):
        monkeypatch.delenv(name, raising=False)
    run_example(H36M_EXAMPLE, monkeypatch, tmp_path, argv=[str(path_3d), str(path_2d)])
    assert "Average" in capsys.readouterr().out
