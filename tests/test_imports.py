"""What each import loads: the package is lazy, ``skpose3d.nn`` needs torch only.

Each check runs in a fresh interpreter, since this test session has long imported everything.
"""

import json
import subprocess
import sys
import textwrap

import pytest

import skpose3d
from skpose3d import persistence


def _run(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON object as its last line."""
    prelude = "import json, sys\nloaded = lambda: sorted(m for m in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nn_runs_without_scikit_learn_or_the_rest_of_the_package():
    out = _run("""
        import torch
        import skpose3d.nn as snn

        net = snn.TemporalConvNet(17, 2, 17, filter_widths=(3, 3), channels=16).eval()
        poses = net(torch.zeros(2, 9, 17, 2))
        cams = torch.tensor([[2.0, 2.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0]] * 2)
        screen = snn.ProjectionLayer()(poses + torch.tensor([0.0, 0.0, 5.0]), cams)
        print(json.dumps({"shapes": [list(poses.shape), list(screen.shape)],
                          "modules": [m for m in loaded() if m.split(".")[0] in
                                      ("sklearn", "scipy", "skpose3d")]}))
    """)
    assert out["shapes"] == [[2, 1, 17, 3], [2, 1, 17, 2]]
    assert not [m for m in out["modules"] if m.startswith(("sklearn", "scipy"))]
    # nn imports nothing of skpose3d outside nn (the package __init__ itself is lazy).
    assert {m for m in out["modules"] if not m.startswith("skpose3d.nn")} == {"skpose3d"}


def test_import_skpose3d_loads_nothing_heavy_until_a_name_is_used():
    out = _run("""
        import skpose3d
        before = loaded()
        lifter = skpose3d.TemporalPoseLifter
        print(json.dumps({"before": before, "after": loaded()}))
    """)
    heavy = ("torch", "sklearn", "scipy", "skpose3d.lifters", "skpose3d.nn")
    assert not [m for m in out["before"] if m.startswith(heavy)]
    assert "sklearn" in out["after"] and "skpose3d.lifters" in out["after"]


def test_camera_numpy_path_does_not_import_torch():
    out = _run("""
        from skpose3d.camera import h36m_intrinsics, project
        uv = project([[0.1, -0.2, 2.0]], h36m_intrinsics(54138969))
        print(json.dumps({"type": type(uv).__name__, "torch": "torch" in sys.modules}))
    """)
    assert out == {"type": "ndarray", "torch": False}


def test_from_import_attribute_access_and_submodules_work_after_a_plain_import():
    out = _run("""
        import skpose3d
        from skpose3d import TemporalPoseLifter, get_skeleton
        print(json.dumps({
            "same": skpose3d.TemporalPoseLifter is TemporalPoseLifter,
            "mpjpe": skpose3d.metrics.mpjpe.__name__,
            "datasets": hasattr(skpose3d.datasets, "load_cmu_mocap"),
            "nn": skpose3d.nn.TemporalConvNet.__name__,
            "root": get_skeleton("mpii").root,
        }))
    """)
    assert out == {"same": True, "mpjpe": "mpjpe", "datasets": True, "nn": "TemporalConvNet",
                   "root": 6}  # fmt: skip


@pytest.mark.parametrize("module", [skpose3d, skpose3d.nn])
def test_every_exported_name_resolves_and_is_listed_by_dir(module):
    listing = dir(module)
    for name in module.__all__:
        assert name in listing
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


def test_dir_lists_the_public_submodules():
    listing = dir(skpose3d)
    for name in ("camera", "datasets", "metrics", "nn", "persistence", "skeleton"):
        assert name in listing
    assert "__main__" not in listing and not [n for n in listing if n.startswith("_pkgutil")]


def test_top_level_save_and_load_are_the_persistence_functions():
    assert skpose3d.save is persistence.save and skpose3d.load is persistence.load
    assert skpose3d.save_model is persistence.save_model
    assert skpose3d.load_model is persistence.load_model
