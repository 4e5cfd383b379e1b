"""The ``skpose3d demo`` command and the accuracy benchmark's quick mode."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from skpose3d.__main__ import main
from skpose3d.datasets import CMU_TEST_SUBJECTS, CMU_TRAIN_SUBJECTS, load_cmu_mocap
from skpose3d.demo import cmu_split, cmu_views, evaluate, format_table, machine_summary
from skpose3d.nn.losses import bone_lengths
from skpose3d.skeleton import H36M

ROOT = Path(__file__).resolve().parents[1]
ROW = r"\s+(\d+\.\d)" * 4


def test_quick_demo_prints_the_table_and_writes_the_figure(tmp_path, capsys):
    assert main(["demo", "--quick", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "MPJPE" in out and "P-MPJPE" in out and "N-MPJPE" in out and "MPJVE" in out
    for name in ("single-frame", "temporal 27 frames"):
        assert re.search(name + ROW, out), out
    assert "change vs single-frame" in out
    png = tmp_path / "demo.png"
    assert str(png.resolve()) in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    # The user's own time and machine, not the README's (which are one machine's).
    done = re.search(r"done in \d+ s on (.+)", out)
    assert done, out
    assert re.search(r".+, \d+ cores.*, 1 torch thread, .*load average", done[1]), done[1]


def _drawn_texts(fig, dpi):
    """(text artist, window extent) of every non-empty text drawn when ``fig`` is rendered."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    drawn, draw = [], Text.draw

    def recording_draw(self, renderer):
        draw(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.append((self, self.get_window_extent(renderer)))

    FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    Text.draw = recording_draw  # only texts actually drawn (3D axes keep off-view tick labels)
    try:
        fig.canvas.draw()
    finally:
        Text.draw = draw
    return drawn


def test_demo_figure_keeps_every_text_inside_the_figure_and_its_own_axes(rng):
    pytest.importorskip("matplotlib")
    from matplotlib.text import Text

    from skpose3d.demo import _FIGURE_DPI, _draw_figure

    test = cmu_views(CMU_TEST_SUBJECTS[:1], max_clips=1, max_frames=60)
    truth = test.poses_3d[0] - test.poses_3d[0][:, :1]
    noisy = [[truth + rng.normal(scale=s, size=truth.shape)] * len(test.X) for s in (0.03, 0.02)]
    predictions = dict(zip(["single-frame", "temporal 27 frames"], noisy))
    histories = {name: [{"loss": 0.1 / (i + 1)} for i in range(16)] for name in predictions}
    fig = _draw_figure(test, predictions, histories)
    drawn = _drawn_texts(fig, _FIGURE_DPI)
    assert len(drawn) > 40  # titles, labels and ticks of six panels
    owner = {id(t): ax for ax in fig.get_axes() for t in ax.findobj(Text)}
    box = fig.bbox
    for text, extent in drawn:
        where = f"{text.get_text()!r} at {extent.bounds}"
        inside = box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0
        assert inside and extent.y1 <= box.y1, f"{where} leaves the figure {box.bounds}"
        for ax in fig.get_axes():  # another panel would hide it or be drawn over
            assert ax is owner.get(id(text)) or not extent.overlaps(ax.bbox), (where, ax)
    for i, (a, extent_a) in enumerate(drawn):
        for b, extent_b in drawn[i + 1 :]:
            if owner.get(id(a)) is not owner.get(id(b)):  # e.g. a title on a 3D axis label
                assert not extent_a.overlaps(extent_b), (a.get_text(), b.get_text())


def test_machine_summary_names_cpu_cores_threads_and_load(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 0.5, 0.0))
    summary = machine_summary()
    assert f"{os.cpu_count()} cores" in summary and "3 torch threads" in summary
    assert summary.endswith("load average 1.5 0.5 0.0 (1, 5, 15 min)")
    monkeypatch.delattr(os, "getloadavg")
    assert machine_summary().endswith("load average unknown")


def test_demo_without_matplotlib_still_prints_the_table(tmp_path, capsys, monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert main(["demo", "--quick", "--epochs", "1", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "single-frame" in out and "pip install matplotlib" in out
    assert not (tmp_path / "demo.png").exists()


def test_demo_rejects_bad_options(capsys):
    assert main(["demo", "--epochs", "0"]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_demo_split_holds_out_whole_subjects():
    train, test = cmu_split(max_clips=1, max_frames=40)
    assert set(train.subjects.tolist()) == set(CMU_TRAIN_SUBJECTS)
    assert set(test.subjects.tolist()) == set(CMU_TEST_SUBJECTS)
    for views in (train, test):
        assert len(views.X) == len(views.poses_3d) == 4 * len(set(views.video_ids.tolist()))
        for x, y, cam in zip(views.X, views.poses_3d, views.intrinsics):
            assert x.shape == (40, 17, 2) and y.shape == (40, 17, 3) and np.isfinite(x).all()
            # Normalised with the view's own image size: x spans [-1, 1] across the image.
            assert np.abs(x).max() < 1.0
            pixels = (x[..., 0] + 1) * cam.width / 2
            assert 100 < pixels.mean() < cam.width - 100


def test_evaluate_reports_millimetres_and_format_table_the_changes(rng):
    truth = [rng.normal(size=(10, 17, 3))]
    result = evaluate(truth, [truth[0] + [0.0, 0.0, 0.002]])  # root-relative: no error
    assert result["mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
    moved = truth[0].copy()
    moved[:, 1:] += [0.003, 0.0, 0.004]  # every non-root joint 5 mm off
    assert evaluate(truth, [moved])["mpjpe_mm"] == pytest.approx(5 * 16 / 17)
    rows = {
        "a": dict(mpjpe_mm=50.0, p_mpjpe_mm=40.0, n_mpjpe_mm=45.0, mpjve_mm=10.0),
        "b": dict(mpjpe_mm=45.0, p_mpjpe_mm=40.0, n_mpjpe_mm=54.0, mpjve_mm=2.5),
    }
    table = format_table(rows, reference="a")
    last = table.splitlines()[-1].split()
    assert last[-4:] == ["-10%", "+0%", "+20%", "-75%"]


def test_accuracy_benchmark_quick_mode(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--quick", "--verbose", "0"]
    proc = subprocess.run(
        [*cmd, "--output", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "accuracy.json").read_text())
    expected = {"single-frame", "27 frames", "81 frames", "27 frames, causal"}
    assert expected <= set(results["rows"])
    fields = {"mpjpe_mm", "p_mpjpe_mm", "n_mpjpe_mm", "mpjve_mm", "receptive_field"}
    for name, row in results["rows"].items():
        assert fields <= set(row) and np.isfinite(row["mpjpe_mm"]), name
    assert results["rows"]["81 frames"]["receptive_field"] == 81
    assert results["quick"] is True and set(results["verdicts"]) >= {"mpjpe", "mpjve"}
    report = (tmp_path / "accuracy.md").read_text()
    assert "| 27 frames, causal | 27 |" in report and "-76%" in report
    assert "here:" in proc.stdout and "-5 mm" in proc.stdout
    committed = ROOT / "benchmarks" / "results" / "accuracy.json"
    if committed.exists():  # quick mode never overwrites the committed full results
        assert json.loads(committed.read_text())["quick"] is False


def test_split_can_keep_the_detector_confidence():
    plain = cmu_split(max_clips=1, max_frames=30)[0]
    with_conf = cmu_split(max_clips=1, max_frames=30, confidence=True)[0]
    for x, xc, kp in zip(plain.X, with_conf.X, with_conf.keypoints):
        assert xc.shape == (30, 17, 3)
        np.testing.assert_array_equal(xc[..., :2], x)  # same noise draw, same normalisation
        np.testing.assert_allclose(xc[..., 2], kp[..., 2])
        assert ((0 <= xc[..., 2]) & (xc[..., 2] <= 1)).all()


def test_semi_supervised_benchmark_quick_mode_reports_seed_paired_changes(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    setting = "subject 1, long schedule, confidence input"
    models = ["supervised", "semi-supervised, confidence-weighted 2D"]
    cmd = [sys.executable, str(ROOT / "benchmarks" / "semi_supervised.py"), "--quick"]
    cmd += ["--settings", setting, "--models", *models, "--seeds", "0", "1", "--jobs", "1"]
    proc = subprocess.run(
        [*cmd, "--output", str(tmp_path / "semi")], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "semi.json").read_text())
    rows = {(r["model"], r["seed"]): r for r in results["results"]}
    assert set(rows) == {(m, s) for m in models for s in (0, 1)} and results["quick"] is True
    for row in rows.values():
        assert all(np.isfinite(row[k]) for k in ("mpjpe_mm", "n_mpjpe_mm", "trajectory_mm"))
    # The reported change is the mean over seeds of each seed's change against its own baseline.
    paired = [
        100 * (rows[(models[1], s)]["mpjpe_mm"] / rows[("supervised", s)]["mpjpe_mm"] - 1)
        for s in (0, 1)
    ]
    report = (tmp_path / "semi.md").read_text()
    assert f"{models[1]} {np.mean(paired):+.1f}% ± {np.std(paired, ddof=1):.1f}%" in report
    assert "| 0,1 |" in report


def test_split_bone_scale_zero_keeps_the_recorded_bone_lengths():
    def lengths(poses):
        return [bone_lengths(torch.from_numpy(np.asarray(y)), H36M.parents).mean(0) for y in poses]

    raw = load_cmu_mocap(subjects=CMU_TRAIN_SUBJECTS)
    first = {int(s): y[:5] for s, y in zip(raw.subjects[::-1], raw.videos[::-1])}  # 1st clip
    recorded = dict(zip(first, lengths(first.values())))
    for bone_scale, same in [(0.0, True), (None, False)]:
        options = {} if bone_scale is None else {"bone_scale": bone_scale}
        views = cmu_split(max_clips=1, max_frames=5, **options)[0]
        for s, got in zip(views.subjects, lengths(views.poses_3d)):
            assert torch.allclose(got, recorded[int(s)], atol=1e-4) == same, (bone_scale, s)
