"""The fit / predict / evaluate commands, through skpose3d.__main__.main."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skpose3d import TemporalPoseLifter, metrics
from skpose3d.__main__ import COMMANDS, main
from skpose3d.camera import normalize_screen_coordinates

REPO = Path(__file__).resolve().parents[1]
FAST = ["--channels", "16", "--epochs", "1", "--filter-widths", "3,3", "--seed", "0"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Labelled videos (pixels, 1000 x 1002 images) concatenated with lengths, plus a .npy."""
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    lengths = np.array([30, 45, 12])
    keypoints = rng.uniform(0, 1000, size=(lengths.sum(), 17, 2)).astype(np.float32)
    poses = rng.normal(size=(lengths.sum(), 17, 3)).astype(np.float32)
    np.savez(d / "train.npz", keypoints=keypoints, poses_3d=poses, lengths=lengths)
    np.save(d / "video.npy", keypoints[:30])
    np.save(d / "wrong_joints.npy", keypoints[:30, :16])
    objects = np.empty(2, dtype=object)
    objects[:] = [keypoints[:30], keypoints[30:75]]
    np.savez(d / "objects.npz", keypoints=objects)
    model = d / "model.skp3d"
    assert (
        main(["fit", str(d / "train.npz"), "-o", str(model), "--image-size", "1000", "1002", *FAST])
        == 0
    )
    return d, model, keypoints, poses, lengths


def test_fit_writes_a_model_with_the_given_hyper_parameters(files):
    d, model, *_ = files
    lifter = TemporalPoseLifter.load(model)
    assert lifter.filter_widths == (3, 3) and lifter.channels == 16 and lifter.n_epochs == 1
    assert lifter.image_size == (1000.0, 1002.0) and lifter.n_iter_ == 1


def test_predict_npy_and_npz_equal_the_lifter(files, tmp_path):
    d, model, keypoints, _, lengths = files
    lifter = TemporalPoseLifter.load(model)
    assert main(["predict", str(model), str(d / "video.npy"), "-o", str(tmp_path / "p.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), lifter.predict(keypoints[:30]))
    assert main(["predict", str(model), str(d / "train.npz"), "-o", str(tmp_path / "p.npz")]) == 0
    with np.load(tmp_path / "p.npz") as out:
        np.testing.assert_array_equal(out["lengths"], lengths)
        videos = np.split(keypoints, np.cumsum(lengths)[:-1])
        np.testing.assert_array_equal(out["poses_3d"], np.concatenate(lifter.predict(videos)))


def test_evaluate_prints_the_four_protocols_in_mm(files, capsys):
    d, model, keypoints, poses, lengths = files
    capsys.readouterr()
    assert main(["evaluate", str(model), str(d / "train.npz")]) == 0
    out = capsys.readouterr().out
    split = np.cumsum(lengths)[:-1]
    y_true = np.split(poses, split)
    y_pred = list(TemporalPoseLifter.load(model).predict(np.split(keypoints, split)))
    assert "3 videos, 87 frames" in out
    for name, fn in [("MPJPE", metrics.mpjpe), ("P-MPJPE", metrics.p_mpjpe),
                     ("N-MPJPE", metrics.n_mpjpe), ("MPJVE", metrics.mpjve)]:  # fmt: skip
        line = next(x for x in out.splitlines() if x.split()[0] == name)
        assert float(line.split()[1]) == pytest.approx(1000 * fn(y_true, y_pred), abs=0.06)


def test_object_arrays_need_allow_pickle(files, tmp_path, capsys):
    d, model, keypoints, *_ = files
    args = ["predict", str(model), str(d / "objects.npz"), "-o", str(tmp_path / "o.npz")]
    assert main(args) == 1
    assert "--allow-pickle" in capsys.readouterr().err
    assert main([*args, "--allow-pickle"]) == 0
    with np.load(tmp_path / "o.npz") as out:
        assert out["lengths"].tolist() == [30, 45]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["predict", "{m}", "{d}/missing.npy", "-o", "{t}/x.npy"], 1, "missing.npy: no such file"),
        (["predict", "{d}/nomodel.skp3d", "{d}/video.npy", "-o", "{t}/x.npy"], 1, "does not exist"),
        (["predict", "{d}/train.npz", "{d}/video.npy", "-o", "{t}/x.npy"], 1, "not a skpose3d"),
        (["predict", "{m}", "{d}/wrong_joints.npy", "-o", "{t}/x.npy"], 1, "has 16 joints"),
        (["predict", "{m}", "{d}/video.npy", "-o", "{t}/x.txt"], 2, "use a .npz or .npy"),
        (["evaluate", "{m}", "{d}/video.npy"], 1, "no 'poses_3d' array"),
        (["fit", "{d}/train.npz", "-o", "{t}/m", "--filter-widths", "3,2"], 2, "must be odd"),
        (["fit", "{d}/train.npz", "-o", "{t}/m", "--image-size", "1000"], 2, "expected 2 arg"),
        (["fit", "{d}/train.npz", "-o", "{t}/m", "--image-size", "1000", "0"], 2, "'0' is not a"),
        (["predict", "{m}", "{d}/video.npy", "-o", "{t}/x.npy", "--image-size", "a", "1"], 2,
         "'a' is not a positive number"),
        (["fit", "{d}/train.npz", "-o", "{t}/m", "--channels", "0"], 2, "'channels'"),
        (["fit", "{d}/train.npz", "-o", "{t}/m", "--input-skeleton", "xyz"], 2, "not a known"),
        (["fit", "{d}/train.npz", "-o", "{t}/m", "--device", "nope"], 2, "not a torch device"),
        (["fit", "-o", "{t}/m"], 2, "give either DATA or --h36m"),
        (["fit", "{d}/train.npz", "-o", "{t}/m", "--subjects", "S1"], 2, "--h36m only"),
        (["fit", "{d}/train.npz", "-o", "{t}/nodir/m.skp3d", *FAST], 1, "nodir"),
        (["fit", "{d}/train.npz"], 2, "required: -o/--output"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)  # fmt: skip
def test_errors_are_one_line_with_exit_codes(files, tmp_path, capsys, args, code, message):
    d, model, *_ = files
    argv = [a.format(d=d, m=model, t=tmp_path) for a in args]
    capsys.readouterr()
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len([x for x in err.splitlines() if "error:" in x]) == 1


def test_inconsistent_lengths_and_targets(tmp_path, capsys):
    rng = np.random.default_rng(1)
    kp, poses = rng.normal(size=(20, 17, 2)), rng.normal(size=(20, 17, 3))
    np.savez(tmp_path / "a.npz", keypoints=kp, poses_3d=poses, lengths=[5, 10])
    np.savez(tmp_path / "b.npz", keypoints=kp, poses_3d=poses[:, :16])
    for name, message in [("a", "'lengths' sums to 15"), ("b", "b.npz: poses_3d has 16 joints")]:
        argv = ["fit", str(tmp_path / f"{name}.npz"), "-o", str(tmp_path / "m"), *FAST]
        assert main(argv) == 1
        assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["fit", "predict", "evaluate"])
def test_help_of_each_command_documents_the_layout(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "keypoints" in out and "lengths" in out


def test_python_dash_m_help():
    result = subprocess.run(
        [sys.executable, "-m", "skpose3d", "--help"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert all(name in result.stdout for name in ("fit", "predict", "evaluate"))


def test_h36m_files_through_the_loader(files, tmp_path, capsys):
    datasets = pytest.importorskip("skpose3d.datasets")
    if not hasattr(datasets, "load_h36m"):
        pytest.skip("skpose3d.datasets.load_h36m is not available")
    rng = np.random.default_rng(2)
    positions = {
        s: {a: rng.normal(scale=0.2, size=(n, 32, 3)) + [0, 0, 1] for a, n in acts}
        for s, acts in [("S1", [("Walking", 30), ("Eating", 25)]), ("S9", [("Walking", 20)])]
    }
    keypoints = {
        s: {a: [rng.uniform(0, 1000, (len(v), 17, 2)) for _ in range(4)] for a, v in d.items()}
        for s, d in positions.items()
    }
    path_3d, path_2d = tmp_path / "data_3d_h36m.npz", tmp_path / "data_2d_h36m_gt.npz"
    np.savez_compressed(path_3d, positions_3d=positions)
    np.savez_compressed(path_2d, positions_2d=keypoints)
    model, h36m = tmp_path / "h36m.skp3d", ["--h36m", str(path_3d), str(path_2d)]
    assert main(["fit", *h36m, "--subjects", "S1", "-o", str(model), *FAST]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), *h36m, "--subjects", "S9"]) == 0
    out = capsys.readouterr().out
    assert "4 videos, 80 frames" in out and "averaged over 1 actions" in out
    argv = ["fit", *h36m, "-o", str(model), "--image-size", "1000", "1000"]
    assert main(argv) == 2
    assert "--image-size does not apply" in capsys.readouterr().err
    # A model fitted on pixels (1000 x 1002) must not divide the per-camera normalised
    # Human3.6M keypoints by its image size again.
    pixel_model, out = files[1], tmp_path / "h36m_pred.npz"
    argv = ["predict", str(pixel_model), *h36m, "--subjects", "S9", "-o", str(out)]
    assert main(argv) == 0
    data = datasets.load_h36m(path_3d, path_2d, subjects=["S9"])
    X = [normalize_screen_coordinates(kp, c.width, c.height).astype(np.float32)
         for kp, c in zip(data.keypoints, data.intrinsics)]  # fmt: skip
    lifter = TemporalPoseLifter.load(pixel_model).set_params(image_size=None)
    with np.load(out) as got:
        np.testing.assert_allclose(got["poses_3d"], np.concatenate(lifter.predict(X)), atol=1e-5)


def test_version_prints_the_version_and_exits_0(capsys):
    from skpose3d import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"skpose3d {__version__}\n"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_is_plain_text_without_rest_markup(command, capsys):
    assert main(["--help"] if command is None else [command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: skpose3d" in out
    assert "``" not in out and not re.search(r":(class|func|mod|data|meth):`", out), out


def test_predict_and_evaluate_take_pixels_with_image_size(files, tmp_path, capsys):
    d, model, keypoints, poses, _ = files  # the model was fitted on pixels of 1000 x 1002
    normalised = normalize_screen_coordinates(keypoints, 1000, 1002)
    plain = tmp_path / "plain.skp3d"  # fitted on normalised screen units
    np.savez(tmp_path / "norm.npz", keypoints=normalised, poses_3d=poses)
    assert main(["fit", str(tmp_path / "norm.npz"), "-o", str(plain), *FAST]) == 0
    want = TemporalPoseLifter.load(plain).predict(normalised[:30])
    np.savez(tmp_path / "pixels.npz", keypoints=2 * keypoints[:30], poses_3d=poses[:30])
    for m in (plain, model):  # the option also replaces the image size of a model that has one
        out = tmp_path / "p.npz"
        argv = ["predict", str(m), str(tmp_path / "pixels.npz"), "-o", str(out)]
        assert main([*argv, "--image-size", "2000", "2004"]) == 0
        with np.load(out) as got:
            expected = want if m == plain else TemporalPoseLifter.load(m).predict(keypoints[:30])
            np.testing.assert_allclose(got["poses_3d"], expected, atol=1e-5)
    capsys.readouterr()
    argv = ["evaluate", str(plain), str(tmp_path / "pixels.npz"), "--image-size", "2000", "2004"]
    assert main(argv) == 0
    mpjpe = 1000 * metrics.mpjpe([poses[:30]], [want])
    assert f"{'MPJPE':8s} {mpjpe:8.1f}\n" in capsys.readouterr().out


def test_frame_mismatch_names_the_file_and_its_arrays(files, tmp_path, capsys):
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "data.npz", keypoints=rng.normal(size=(548, 17, 2)),
             poses_3d=rng.normal(size=(543, 17, 3)))  # fmt: skip
    np.savez(tmp_path / "videos.npz", keypoints=rng.normal(size=(2, 30, 17, 2)),
             poses_3d=rng.normal(size=(2, 25, 17, 3)))  # fmt: skip
    model = files[1]
    for name, message in [
        ("data", "data.npz: poses_3d has 543 frames but keypoints has 548"),
        ("videos", "videos.npz: poses_3d[0] has 25 frames but keypoints[0] has 30"),
    ]:
        for argv in (["evaluate", str(model)], ["fit", "-o", str(tmp_path / "m"), *FAST]):
            assert main([*argv, str(tmp_path / f"{name}.npz")]) == 1
            err = capsys.readouterr().err
            assert message in err and " X" not in err, err
