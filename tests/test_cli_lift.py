"""``skpose3d lift``: every reader's format end to end with a tiny model fitted and saved here."""

import numpy as np
import pytest

from skpose3d import TemporalPoseLifter
from skpose3d.__main__ import main
from skpose3d._cli_lift import predict_in_chunks
from skpose3d.io import read_keypoints, read_poses
from skpose3d.persistence import save_model
from skpose3d.preprocessing import GapFiller, KeypointMapper, ScreenNormalizer

from .test_io import _alphapose, _flat, _landmarks, _openpose_folder, _person, _write_json

W, H = 640, 480
T = 12


def _fit(tmp_path_factory, name, **params):
    rng = np.random.default_rng(0)
    channels_in = params.pop("channels_in", 2)
    X = [rng.uniform(-1, 1, size=(30, 17, channels_in)) for _ in range(2)]
    y = [rng.normal(scale=0.3, size=(30, 17, 3)) for _ in range(2)]
    lifter = TemporalPoseLifter(channels=8, n_epochs=1, batch_size=16, random_state=0, **params)
    path = tmp_path_factory.mktemp("models") / f"{name}.skp3d"
    save_model(lifter.fit(X, y), path)
    return path, lifter


@pytest.fixture(scope="module")
def h36m_model(tmp_path_factory):
    return _fit(tmp_path_factory, "h36m", filter_widths=(3, 3))


@pytest.fixture(scope="module")
def coco_model(tmp_path_factory):
    # 3 channels (x, y, confidence) and COCO input: the MediaPipe reader's 33 landmarks map to it.
    return _fit(
        tmp_path_factory,
        "coco",
        filter_widths=(3,),
        input_skeleton="coco",
        output_skeleton="h36m",
        channels_in=3,
    )


def _walker(f, n=17):
    """A person whose keypoints move with the frame number (so the lifted poses differ)."""
    return _person(n, (200 + 3 * f, 100 + f))


def _coco_file(tmp_path):
    entries = [
        {"image_id": f, "category_id": 1, "keypoints": _flat(_walker(f)), "score": 0.9}
        for f in range(T)
        if f != 4  # a frame without a detection
    ]
    return _write_json(tmp_path / "coco.json", entries)


def _openpose(tmp_path):
    return _openpose_folder(tmp_path, {f: [(_walker(f, 25), -1)] for f in range(T) if f != 5})


def _mediapipe(tmp_path):
    frames = [None if f == 2 else _landmarks(0.01 * f) for f in range(T)]
    return _write_json(tmp_path / "mp.json", {"image_size": [W, H], "frames": frames})


def _alpha(tmp_path):
    return _write_json(tmp_path / "alphapose-results.json", _alphapose(26, frames=T))


CASES = {
    "coco": (_coco_file, ["--image-size", str(W), str(H)]),
    "openpose": (_openpose, ["--image-size", str(W), str(H)]),
    "mediapipe": (_mediapipe, []),
    "alphapose": (_alpha, ["--image-size", str(W), str(H), "--track", "2"]),
}


def _expected(path, model, **read):
    """The same steps by hand with the public API."""
    found = read_keypoints(path, image_size=read.pop("image_size", None), **read)
    X = GapFiller().transform(found.videos)
    X = KeypointMapper(found.skeleton, model.input_skeleton_.name).transform(X)
    X = ScreenNormalizer(found.image_size).transform(X)
    if model.n_channels_in_ == 2:
        X = [v[..., :2] for v in X]
    return found, list(model.predict(list(X)))


@pytest.mark.parametrize("fmt", list(CASES))
def test_lift_reads_maps_lifts_and_writes_every_format(
    fmt, tmp_path, h36m_model, coco_model, capsys
):
    make, options = CASES[fmt]
    model_path, model = coco_model if fmt == "mediapipe" else h36m_model
    source = make(tmp_path)
    out = tmp_path / "poses.npz"
    argv = ["lift", str(source), "--model", str(model_path), "--out", str(out), *options]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    read = {"image_size": (W, H)} if options else {}
    if "--track" in options:
        read["track"] = 2
    found, expected = _expected(source, model, **read)
    assert f"{found.n_frames} frames" in printed
    assert f"frames without a detection: {found.missing_frames[0]}" in printed
    assert str(model_path) in printed and f"wrote {out}" in printed
    back = read_poses(out)
    assert back.skeleton == "h36m" and len(back.videos) == 1
    assert back.videos[0].shape == (T, 17, 3)
    np.testing.assert_allclose(back.videos[0], expected[0], atol=1e-5)
    np.testing.assert_array_equal(back.frame_ids[0], found.frame_ids)


def test_lift_all_tracks_to_csv_and_default_output_name(tmp_path, h36m_model, capsys):
    source = _alpha(tmp_path)
    argv = ["lift", str(source), "--model", str(h36m_model[0]), "--image-size", "640", "480"]
    assert main([*argv, "--all-tracks", "--out", str(tmp_path / "p.csv")]) == 0
    assert read_poses(tmp_path / "p.csv").video_names == ["track_1", "track_2"]
    assert main(argv) == 0
    assert (tmp_path / "alphapose-results_poses.npz").exists()
    assert "2 tracks" in capsys.readouterr().out


def test_lift_errors_are_one_line_with_exit_codes(tmp_path, h36m_model, coco_model, capsys):
    model = str(h36m_model[0])
    coco = str(_coco_file(tmp_path))
    assert main(["lift", coco, "--model", model]) == 2
    assert "does not record the image size; pass --image-size W H" in capsys.readouterr().err
    assert main(["lift", coco, "--model", model, "--image-size", "640", "480", "--out", "x.txt"])
    assert "use a .npz or .csv" in capsys.readouterr().err
    landmarks = _write_json(tmp_path / "bare.json", [_landmarks()] * 3)
    assert main(["lift", str(landmarks), "--model", model]) == 1
    err = capsys.readouterr().err
    assert err.startswith("skpose3d lift: error: ") and "pass image_size" in err
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    assert main(["lift", str(broken), "--model", model, "--image-size", "1", "1"]) == 1
    assert "broken.json: not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("causal", [False, True])
def test_chunked_prediction_equals_one_call(causal, tmp_path_factory, rng):
    _, lifter = _fit(tmp_path_factory, f"c{causal}", filter_widths=(3, 3), causal=causal)
    video = rng.uniform(-1, 1, size=(50, 17, 2))
    whole = lifter.predict([video])[0]
    for chunk in (7, 9, 50, 60):
        np.testing.assert_allclose(predict_in_chunks(lifter, video, chunk=chunk), whole, atol=1e-5)


def test_lift_animation(tmp_path, h36m_model):
    pytest.importorskip("matplotlib")
    source = _coco_file(tmp_path)
    gif = tmp_path / "a.gif"
    argv = ["lift", str(source), "--model", str(h36m_model[0]), "--image-size", "640", "480"]
    assert main([*argv, "--animation", str(gif)]) == 0
    assert gif.stat().st_size > 0


# -- pretrained models by name ----------------------------------------------------------------


def test_lift_with_a_pretrained_name_equals_its_pipeline(tmp_path, capsys):
    from skpose3d import pretrained

    source = _coco_file(tmp_path)
    out = tmp_path / "poses.npz"
    argv = ["lift", str(source), "--model", "coco-81-causal", "--image-size", str(W), str(H)]
    assert main([*argv, "--out", str(out)]) == 0
    assert "model pretrained coco-81-causal" in capsys.readouterr().out
    found = read_keypoints(source, image_size=(W, H))
    expected = pretrained.load("coco-81-causal", image_size=(W, H)).predict(found.videos)[0]
    np.testing.assert_allclose(read_poses(out).videos[0], expected, atol=1e-5)


def test_lift_defaults_to_the_pretrained_model_of_the_files_skeleton(tmp_path, capsys):
    source = _mediapipe(tmp_path)
    assert main(["lift", str(source), "--out", str(tmp_path / "p.npz")]) == 0
    printed = capsys.readouterr().out
    assert "model pretrained mediapipe-243" in printed and "mapped mediapipe -> h36m" in printed
    assert read_poses(tmp_path / "p.npz").videos[0].shape == (T, 17, 3)


def test_lift_unknown_model_name_lists_the_pretrained_ones(tmp_path, capsys):
    source = str(_coco_file(tmp_path))
    assert main(["lift", source, "--model", "cocoa-243", "--image-size", "640", "480"]) == 2
    err = capsys.readouterr().err
    assert "no such file, nor a pretrained model name" in err and "coco-243" in err
