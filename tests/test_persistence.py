"""Safe save/load of lifters, and TorchScript/ONNX export."""

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skpose3d import TemporalPoseLifter, persistence
from skpose3d.export import export_onnx, export_program, export_torchscript
from skpose3d.nn.temporal import TemporalConvNet
from skpose3d.persistence import FORMAT_VERSION, load, load_model, save, save_model
from skpose3d.preprocessing import GapFiller, KeypointMapper, ScreenNormalizer
from skpose3d.skeleton import Skeleton, get_skeleton

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = [rng.uniform(0, 1000, size=(n, 17, 3)).astype(np.float32) for n in (40, 23)]
    y = [rng.normal(size=(len(v), 17, 3)).astype(np.float32) for v in X]
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    lifter = TemporalPoseLifter(
        filter_widths=(3, 3), channels=16, n_epochs=2, image_size=(1000, 1002), device="cpu",
        input_skeleton=get_skeleton("h36m"), random_state=np.random.RandomState(7),
    )  # fmt: skip
    return lifter.fit(X, y)


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("models") / "lifter.skp3d")


def test_round_trip_predicts_identically_and_keeps_types(fitted, saved, data):
    loaded = TemporalPoseLifter.load(saved)
    for a, b in zip(fitted.predict(data[0]), loaded.predict(data[0])):
        np.testing.assert_array_equal(a, b)
    params = loaded.get_params()
    assert params["filter_widths"] == (3, 3) and isinstance(params["filter_widths"], tuple)
    assert params["image_size"] == (1000, 1002)
    assert isinstance(params["input_skeleton"], Skeleton)
    assert params["input_skeleton"] == get_skeleton("h36m")
    state, expected = params["random_state"].get_state(), fitted.random_state.get_state()
    np.testing.assert_array_equal(state[1], expected[1])
    assert state[2:] == expected[2:]
    assert loaded.history_ == fitted.history_
    assert loaded.output_skeleton_ == fitted.output_skeleton_
    assert loaded.n_channels_in_ == 3 and loaded.receptive_field_ == 9
    assert not loaded.module_.training
    # The loaded lifter pickles, refits with warm start and clones like a fresh one.
    pickle.loads(pickle.dumps(loaded)).set_params(warm_start=True, n_epochs=1).fit(*data)


def test_file_is_a_zip_of_json_and_tensor_only_weights(saved):
    with zipfile.ZipFile(saved) as zf:
        assert set(zf.namelist()) == {"manifest.json", "params.json", "fitted.json", "weights.pt"}
        manifest = json.loads(zf.read("manifest.json"))
        weights = torch.load(io.BytesIO(zf.read("weights.pt")), weights_only=True)
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["skpose3d_version"] == __import__("skpose3d").__version__
    assert manifest["estimator"] == "skpose3d.lifters.TemporalPoseLifter"
    assert all(t.device.type == "cpu" for t in weights["modules"]["module_"].values())


def test_unfitted_lifter_round_trips(tmp_path):
    lifter = TemporalPoseLifter(filter_widths=[3, 5], output_skeleton="coco", device="cpu")
    loaded = load_model(save_model(lifter, tmp_path / "m"))
    assert loaded.get_params() == lifter.get_params()
    assert isinstance(loaded.filter_widths, list)
    assert not hasattr(loaded, "module_")


def test_every_fitted_module_is_saved_and_rebuilt(fitted, tmp_path):
    # A second network (like SemiSupervisedLifter's trajectory_module_) is saved generically.
    lifter = pickle.loads(pickle.dumps(fitted))
    torch.manual_seed(0)
    lifter.trajectory_module_ = TemporalConvNet(17, 3, 1, (3, 3), channels=8, causal=True)
    lifter.trajectory_module_.expand_bn.running_mean.normal_()
    loaded = load_model(lifter.save(tmp_path / "two.skp3d"))
    module = loaded.trajectory_module_
    assert module.causal and module.n_joints_out == 1
    for key, value in lifter.trajectory_module_.state_dict().items():
        torch.testing.assert_close(module.state_dict()[key], value, rtol=0, atol=0)


def test_device_override_and_loading_weights_onto_cpu(saved):
    assert load_model(saved, device="cpu").device == "cpu"


def as_if_saved_on_cuda(weights: bytes) -> bytes:
    """Rewrite a torch.save archive so that its tensors claim to live on cuda:0."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(weights)) as zin, zipfile.ZipFile(out, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name.endswith("data.pkl"):  # pickle memoises the location string: one to rewrite
                assert data.count(b"X\x03\x00\x00\x00cpu") == 1
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            zout.writestr(name, data)
    return out.getvalue()


def test_weights_written_on_cuda_load_on_cpu(saved, fitted, data, tmp_path):
    with zipfile.ZipFile(saved) as zf:
        weights = as_if_saved_on_cuda(zf.read("weights.pt"))
    if not torch.cuda.is_available():  # the rewritten file really needs map_location
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(io.BytesIO(weights), weights_only=True)
    path = rewrite(saved, tmp_path / "from_cuda.skp3d", **{"weights.pt": weights})
    loaded = load_model(path, device="cpu")
    np.testing.assert_array_equal(loaded.predict(data[0][0]), fitted.predict(data[0][0]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_model_trained_on_cuda_loads_on_a_cpu_only_machine(data, tmp_path):
    lifter = TemporalPoseLifter(channels=16, n_epochs=1, device="cuda", random_state=0)
    lifter.fit(*data).save(tmp_path / "cuda.skp3d")
    np.save(tmp_path / "expected.npy", lifter.predict(data[0][0]))
    np.save(tmp_path / "X.npy", data[0][0])
    script = (
        "import numpy as np, torch, sys; from skpose3d import TemporalPoseLifter;"
        "assert not torch.cuda.is_available();"
        f"m = TemporalPoseLifter.load(r'{tmp_path / 'cuda.skp3d'}', device='cpu');"
        f"p = m.predict(np.load(r'{tmp_path / 'X.npy'}'));"
        f"np.testing.assert_allclose(p, np.load(r'{tmp_path / 'expected.npy'}'), atol=1e-4)"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


# -- the documented names, pipelines, file mode ---------------------------------------------


def test_save_and_load_are_the_documented_names():
    assert persistence.save is save_model and persistence.load is load_model
    assert {"save", "load", "save_model", "load_model"} <= set(persistence.__all__)
    assert "Pipeline" in save.__doc__ and "joblib" in persistence.__doc__


def _coco_pixels(rng, n_frames):
    """COCO-17 detections in pixels of a 1000 x 1002 image, with confidence and a gap."""
    video = np.concatenate(
        [rng.uniform(100, 900, size=(n_frames, 17, 2)), rng.uniform(0.5, 1, (n_frames, 17, 1))],
        axis=-1,
    ).astype(np.float32)
    video[3, 5] = np.nan  # a missing detection, for the GapFiller
    return video


def test_pipeline_of_skpose3d_steps_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    X = [_coco_pixels(rng, n) for n in (30, 17)]
    y = [rng.normal(scale=0.3, size=(len(v), 17, 3)).astype(np.float32) for v in X]
    model = Pipeline([
        ("fill", GapFiller(confidence_threshold=0.1)),
        ("screen", ScreenNormalizer((1000, 1002))),
        ("map", KeypointMapper("coco", "h36m")),
        ("lift", TemporalPoseLifter(filter_widths=(3, 3), channels=8, n_epochs=1, device="cpu",
                                    random_state=0)),
    ]).fit(X, y)  # fmt: skip
    loaded = load(save(model, tmp_path / "pipeline.skp3d"))
    assert isinstance(loaded, Pipeline) and [n for n, _ in loaded.steps] == [
        n for n, _ in model.steps
    ]
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    for (_, got), (_, want) in zip(loaded.steps, model.steps):
        assert type(got) is type(want) and got.get_params() == want.get_params()
    for a, b in zip(model.predict(X), loaded.predict(X)):
        np.testing.assert_array_equal(a, b)
    with zipfile.ZipFile(tmp_path / "pipeline.skp3d") as zf:
        assert json.loads(zf.read("manifest.json"))["estimator"] == "sklearn.pipeline.Pipeline"
        assert "pickle" not in zf.read("params.json").decode()
    # device= reaches the lifter inside the pipeline
    assert load(tmp_path / "pipeline.skp3d", device="cpu")[-1].device == "cpu"


def test_semi_supervised_lifter_round_trips(tmp_path):
    from skpose3d import SemiSupervisedLifter, UnlabeledVideos
    from skpose3d.camera import h36m_intrinsics

    from ._data import cmu_views

    X, y, _ = cmu_views(n_videos=4, max_frames=30)
    unlabeled = UnlabeledVideos(X[2:], intrinsics=h36m_intrinsics("54138969"))
    lifter = SemiSupervisedLifter(
        filter_widths=(3, 3), channels=8, n_epochs=2, warmup_epochs=1, batch_size=32,
        device="cpu", random_state=0,
    ).fit(X[:2], y[:2], X2d_unlabeled=unlabeled)  # fmt: skip
    assert lifter.trajectory_module_ is not None
    loaded = load(save(lifter, tmp_path / "semi.skp3d"))
    assert type(loaded) is SemiSupervisedLifter and loaded.history_ == lifter.history_
    for a, b in zip(lifter.predict(X), loaded.predict(X)):  # absolute: poses + trajectory
        np.testing.assert_array_equal(a, b)


def test_pipeline_with_a_foreign_step_names_it_and_points_to_joblib(fitted, tmp_path):
    model = make_pipeline(FunctionTransformer(), fitted)
    with pytest.raises(
        TypeError, match=r"step 'functiontransformer' \(sklearn\..*joblib\.dump.*trust"
    ):
        save(model, tmp_path / "p.skp3d")
    with pytest.raises(TypeError, match="sklearn.preprocessing.*FunctionTransformer.*joblib"):
        save(FunctionTransformer(), tmp_path / "f.skp3d")
    assert list(tmp_path.iterdir()) == []


def test_format_version_1_files_still_load(saved, fitted, data, tmp_path):
    with zipfile.ZipFile(saved) as zf:
        manifest, fitted_json = (json.loads(zf.read(m)) for m in ("manifest.json", "fitted.json"))
    manifest["format_version"] = 1
    for value in fitted_json.values():  # version 1 keyed module weights by attribute name
        if isinstance(value, dict) and value.get("__type__") == "module":
            del value["key"]
    path = rewrite(saved, tmp_path / "v1.skp3d", **{
        "manifest.json": json.dumps(manifest), "fitted.json": json.dumps(fitted_json),
    })  # fmt: skip
    np.testing.assert_array_equal(load(path).predict(data[0])[0], fitted.predict(data[0])[0])


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_model_file_gets_the_usual_mode(fitted, tmp_path, umask):
    old = os.umask(umask)
    try:
        path = save(fitted, tmp_path / "lifter.skp3d")
        (tmp_path / "other.txt").write_text("x")  # what any other file gets
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert path.stat().st_mode & 0o777 == (tmp_path / "other.txt").stat().st_mode & 0o777


# -- damaged and foreign files ------------------------------------------------------------------


def rewrite(src, dst, **replace):
    """Copy a model zip, replacing members (None drops a member)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = replace.get(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
    return dst


def test_truncated_file(saved, tmp_path):
    path = tmp_path / "truncated.skp3d"
    path.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated.skp3d.*(truncated|corrupted)"):
        load_model(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.skp3d"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ValueError, match="noise.skp3d is not a readable skpose3d model"):
        load_model(path)


def test_corrupted_member(saved, tmp_path):
    raw = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as zf:
        start = zf.getinfo("weights.pt").header_offset + 300  # inside the stored weights
    raw[start : start + 4] = b"XXXX"  # the member's CRC no longer matches
    path = tmp_path / "flipped.skp3d"
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="flipped.skp3d"):
        load_model(path)


def test_zip_without_expected_members(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="other.zip is not a skpose3d model file.*lacks"):
        load_model(path)


def test_newer_format_version(saved, tmp_path):
    with zipfile.ZipFile(saved) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest.update(format_version=FORMAT_VERSION + 1, skpose3d_version="9.0")
    path = rewrite(saved, tmp_path / "new.skp3d", **{"manifest.json": json.dumps(manifest)})
    with pytest.raises(ValueError, match=r"new.skp3d was written by a newer skpose3d.*upgrade"):
        load_model(path)


@pytest.mark.parametrize(
    "member, content, message",
    [
        ("manifest.json", '{"format": "something-else"}', "not a skpose3d model file"),
        ("manifest.json", "{not json", "manifest.json is not valid JSON"),
        ("params.json", '{"no_such_param": 1}', "params.json does not describe"),
        ("fitted.json", '{"x_": {"__type__": "bogus"}}', "fitted.json does not describe"),
        ("fitted.json", '{"__dict__": {}}', "invalid attribute name"),
        ("weights.pt", b"garbage", "weights.pt cannot be read safely"),
    ],
)
def test_foreign_or_broken_members(saved, tmp_path, member, content, message):
    path = rewrite(saved, tmp_path / "bad.skp3d", **{member: content})
    with pytest.raises(ValueError, match=f"bad.skp3d.*{message}"):
        load_model(path)


def test_weights_of_the_wrong_shape(saved, fitted, tmp_path):
    state = {k: v.flatten()[:1].clone() for k, v in fitted.module_.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"modules": {"module_": state}, "tensors": {}}, buffer)
    path = rewrite(saved, tmp_path / "shape.skp3d", **{"weights.pt": buffer.getvalue()})
    with pytest.raises(ValueError, match="shape.skp3d: fitted.json does not describe"):
        load_model(path)


class _Payload:
    ran = []

    def __reduce__(self):
        return (_Payload.ran.append, ("code ran",))


def test_pickled_code_in_weights_is_never_run(saved, tmp_path):
    buffer = io.BytesIO()
    torch.save({"modules": {}, "tensors": {}, "evil": _Payload()}, buffer)
    path = rewrite(saved, tmp_path / "evil.skp3d", **{"weights.pt": buffer.getvalue()})
    with pytest.raises(ValueError, match="weights.pt cannot be read safely"):
        load_model(path)
    assert _Payload.ran == []


def test_missing_file_and_unsavable_values(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.skp3d"):
        load_model(tmp_path / "nowhere.skp3d")
    target = fitted.save(tmp_path / "keep.skp3d")
    before = target.read_bytes()
    lifter = pickle.loads(pickle.dumps(fitted)).set_params(device=object())
    with pytest.raises(TypeError, match="parameter 'device'"):
        lifter.save(target)
    assert target.read_bytes() == before  # a failed save leaves the old file intact
    assert [p.name for p in tmp_path.iterdir()] == ["keep.skp3d"]


# -- export ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[False, True], ids=["centred", "causal"])
def exportable(request, data):
    X, y = data
    lifter = TemporalPoseLifter(
        filter_widths=(3, 3), channels=16, n_epochs=1, image_size=(1000, 1002),
        causal=request.param, test_time_flip=True, device="cpu", random_state=0,
    )  # fmt: skip
    return lifter.fit(X, y)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_export_equals_predict(exportable, data, tmp_path):
    model = torch.jit.load(str(export_torchscript(exportable, tmp_path / "lifter.pt")))
    for video in [data[0][0], data[0][1][:1], data[0][1][:5]]:
        with torch.no_grad():
            out = model(torch.from_numpy(video)[None]).numpy()[0]
        np.testing.assert_allclose(out, exportable.predict(video), atol=1e-5, rtol=0)
    batch = np.stack([data[0][0][:20], data[0][1][:20]])
    with torch.no_grad():
        out = model(torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(out, exportable.predict(batch), atol=1e-5, rtol=0)


def test_torch_export_program_equals_predict(exportable, data, tmp_path):
    program = torch.export.load(str(export_program(exportable, tmp_path / "lifter.pt2")))
    for video in [data[0][0], data[0][1][:1]]:
        out = program.module()(torch.from_numpy(video)[None]).detach().numpy()[0]
        np.testing.assert_allclose(out, exportable.predict(video), atol=1e-5, rtol=0)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_onnx_export_equals_predict(fitted, data, tmp_path):
    pytest.importorskip("onnx", reason="the onnx extra is not installed")
    pytest.importorskip("onnxscript", reason="the onnx extra is not installed")
    path = export_onnx(fitted, tmp_path / "lifter.onnx")
    try:
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path))

        def run(x):
            return session.run(None, {"keypoints": x})[0]
    except ImportError:  # the reference evaluator of onnx is slow but needs nothing else
        from onnx.reference import ReferenceEvaluator

        evaluator = ReferenceEvaluator(str(path))

        def run(x):
            return evaluator.run(None, {"keypoints": x})[0]

    for video in [data[0][0], data[0][1][:3]]:
        out = run(video[None])[0]
        np.testing.assert_allclose(out, fitted.predict(video), atol=1e-5, rtol=0)
