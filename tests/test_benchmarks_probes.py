"""The probes of ``benchmarks/reference_probes.py`` (issue 12) change what they claim to."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import skpose3d.nn.temporal as temporal
from skpose3d._fit_context import FitContext
from skpose3d._sequences import ClipBank
from skpose3d.camera import flip_poses
from skpose3d.nn.temporal import TemporalConvNet
from skpose3d.skeleton import H36M

from ._data import cmu_views

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
probes = pytest.importorskip("reference_probes")


def _context(n_videos=3, frames=30, probes_on=()):
    X, y, _ = cmu_views(n_videos=n_videos, max_frames=frames)
    net = TemporalConvNet(17, 2, 17, (3, 3), channels=8, dropout=0.25)
    lifter = probes.ProbeLifter(batch_size=16)
    lifter.probes = set(probes_on)
    ctx = FitContext(lifter, net, H36M, H36M, torch.device("cpu"), np.random.default_rng(0))
    bank = ClipBank(X, net.pad, net.pad)
    poses = torch.from_numpy(np.concatenate(y))
    return lifter, ctx, bank, poses


def _rows(t):
    return {tuple(np.round(r.numpy().ravel(), 6)) for r in t}


def test_paired_flips_show_every_frame_plain_and_mirrored_in_each_pair_of_epochs():
    lifter, ctx, bank, poses = _context(probes_on={"paired flips"})
    batches, _ = lifter._training_plan(ctx, bank, poses)
    plain, mirrored = _rows(poses), _rows(flip_poses(poses, H36M))
    for first in (0, 2):
        seen = [b.poses for e in (first, first + 1) for b in batches(e)]
        seen = torch.cat(seen)
        assert len(seen) == 2 * len(poses)
        assert _rows(seen) == plain | mirrored  # each frame once each way: no row twice
        one_epoch = _rows(torch.cat([b.poses for b in batches(first)]))
        assert one_epoch != plain and one_epoch != mirrored  # random halves, not all one way


def test_quick_run_merges_new_rows_into_the_results_file(tmp_path, monkeypatch):
    def bundled_views(quick):  # the bundled motion instead of the large set (not bundled)
        X, y, _ = cmu_views(n_videos=2, max_frames=40)
        return (SimpleNamespace(X=X, poses_3d=y),) * 3

    monkeypatch.setattr(probes, "protocol_views", bundled_views)

    def run(*args):
        return probes.main(["--quick", "--jobs", "1", "--output", str(tmp_path), *args])

    run("--seeds", "0", "--probes", probes.BASELINE, "raw loss")
    report = run("--seeds", "1", "--probes", "raw loss", "--update")
    rows = {(r["probe"], r["seed"]) for r in report["results"]}
    assert rows == {(probes.BASELINE, 0), ("raw loss", 0), ("raw loss", 1)}
    text = (tmp_path / f"reference_probes_{report['epochs']}ep.md").read_text()
    assert "- raw loss: mean" in text and "seeds [0]" in text  # paired with seed 0 only


def test_torch_dropout_probe_uses_torch_masks_and_restores_the_package_ones():
    x = torch.randn(4, 8, 5)
    bn = torch.nn.BatchNorm1d(8)
    original = temporal.bn_relu_dropout
    with pytest.raises(RuntimeError), probes._torch_dropout(True):
        torch.manual_seed(1)
        got = temporal.bn_relu_dropout(x, bn, 0.25, True)
        torch.manual_seed(1)
        bn_again = torch.nn.BatchNorm1d(8)  # a fresh BatchNorm: the same init as bn's
        torch.testing.assert_close(got, F.dropout(F.relu(bn_again(x)), 0.25, True))
        raise RuntimeError("leaving the context by an error")
    assert temporal.bn_relu_dropout is original
