"""Fast checks of the issue-12 benchmark pieces: the plain reference trainer and the reports."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

reference_trainer = pytest.importorskip("reference_trainer")


def _data(n=120, videos=2, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.normal(scale=0.3, size=(n, 17, 2)).astype(np.float32) for _ in range(videos)]
    y = [rng.normal(scale=0.3, size=(n, 17, 3)).astype(np.float32) for _ in range(videos)]
    return X, y


def test_bn_momentum_schedule():
    bn_momentum = reference_trainer.bn_momentum
    assert bn_momentum(0, 20) == pytest.approx(0.1)
    assert bn_momentum(10, 20) == pytest.approx(0.01)  # halfway: 0.1 / sqrt(100)
    assert bn_momentum(2, 3) == pytest.approx(0.1 * 100 ** (-2 / 3))
    values = [bn_momentum(e, 8) for e in range(8)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert bn_momentum(8, 8) == pytest.approx(0.001)


def test_strided_training_form_equals_dilated_form():
    torch.manual_seed(0)
    net = reference_trainer.ReferenceNet(34, 51, (3, 3, 3), channels=16).eval()
    for bn in [net.expand_bn, *net.bns]:  # non-trivial statistics
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 34, 40)
    with torch.no_grad():
        dilated = net(x, strided=False)[0]
        strided = torch.stack([net(x[:, :, t : t + 27])[0, :, 0] for t in range(14)], 1)
    torch.testing.assert_close(dilated, strided, atol=1e-5, rtol=1e-5)


def test_flip_permutation_swaps_left_and_right():
    perm = reference_trainer.flip_permutation(17)
    assert perm[1] == 4 and perm[4] == 1 and perm[16] == 13 and perm[0] == 0
    assert sorted(perm) == list(range(17))


def test_quick_fit_uses_every_frame_plain_and_mirrored_and_is_seeded():
    X, y = _data()
    kwargs = dict(channels=8, n_epochs=2, batch_size=64, seed=3)
    a = reference_trainer.ReferenceTrainer(**kwargs).fit(X, y)
    assert [h["samples"] for h in a.history_] == [2 * 240, 2 * 240]
    assert a.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.95**2)
    assert a.net.expand_bn.momentum == pytest.approx(reference_trainer.bn_momentum(1, 2))
    b = reference_trainer.ReferenceTrainer(**kwargs).fit(X, y)
    assert [h["loss"] for h in a.history_] == [h["loss"] for h in b.history_]
    pred = a.predict(X)
    assert [p.shape for p in pred] == [(120, 17, 3)] * 2
    assert np.allclose(pred[0][:, 0], 0)  # root-relative


def test_test_time_flip_is_mirror_equivariant():
    X, y = _data(n=40, videos=1)
    trainer = reference_trainer.ReferenceTrainer(channels=8, n_epochs=1, batch_size=32).fit(X, y)
    perm = reference_trainer.flip_permutation(17)
    mirrored = X[0][:, perm] * np.array([-1.0, 1.0], dtype=np.float32)
    pred, pred_m = trainer.predict([X[0], mirrored])
    unmirrored = pred_m[:, perm] * np.array([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(pred, unmirrored, atol=1e-5)


def test_reestimate_bn_matches_batch_statistics():
    X, y = _data()
    trainer = reference_trainer.ReferenceTrainer(channels=8, n_epochs=1, batch_size=64, dropout=0)
    trainer.fit(X, y).reestimate_bn(n_batches=1000)
    n = len(trainer.bank_[1])
    ids = torch.arange(2 * n)
    x, _ = trainer._batch(trainer.bank_, ids % n, ids >= n)
    with torch.no_grad():
        trainer.net.eval()
        evaluated = trainer.net(x)
        trainer.net.train()
        batch_stats = trainer.net(x)
    assert (evaluated - batch_stats).abs().mean() < 0.02 * batch_stats.abs().mean()


def test_comparison_summary_and_verdict():
    comparison = pytest.importorskip("reference_comparison")
    metrics = ("mpjpe_mm", "p_mpjpe_mm", "n_mpjpe_mm", "mpjve_mm")

    def row(v):
        out = {split: {k: v for k in metrics} for split in ("test", "held_out")}
        return {**out, "fit_seconds": 1.0, "train_loss_mm": [v]}

    runs = {
        "package": {0: row(50.0), 1: row(52.0), 2: row(51.0)},
        "reference": {0: row(51.0), 1: row(51.0), 2: row(52.0)},
    }
    s = comparison.summarise(runs, [0, 1, 2])["test"]
    diff = s["difference_vs_reference"]["package"]["mpjpe_mm"]
    assert diff["per_seed"] == [-1.0, 1.0, -1.0]
    assert diff["mean"] == pytest.approx(-1 / 3)
    assert diff["se"] == pytest.approx(np.std([-1, 1, -1], ddof=1) / math.sqrt(3))
    assert diff["package_le_reference_within_1se"]
    runs["package"] = {s: row(60.0 + s) for s in range(3)}
    s = comparison.summarise(runs, [0, 1, 2])["test"]
    assert not s["difference_vs_reference"]["package"]["mpjpe_mm"][
        "package_le_reference_within_1se"
    ]
    assert "difference_vs_reestimated" not in s  # no re-estimated reference run
    runs[comparison.REESTIMATED] = {0: row(58.0), 1: row(62.0)}  # seed 2 missing: not compared
    assert "difference_vs_reestimated" not in comparison.summarise(runs, [0, 1, 2])["test"]
    runs[comparison.REESTIMATED][2] = row(62.5)
    s = comparison.summarise(runs, [0, 1, 2])["test"]
    diff = s["difference_vs_reestimated"]["package"]["mpjpe_mm"]
    assert diff["per_seed"] == [2.0, -1.0, -0.5]
    text = comparison.markdown(
        {"epochs": 3, "quick": True, "argv": [], "total_seconds": 1.0, "load": [0, 0],
         "machine": {"cpu": "x", "cpu_flags": [], "cpu_count": 2, "torch_threads": 1,
                     "torch": "t", "git": "g"},
         "model": {"lr_decay": 0.95}, "train_view_frames": 1, "seeds": [0, 1, 2],
         "runs": runs, "summary": comparison.summarise(runs, [0, 1, 2])}
    )  # fmt: skip
    assert "package − reference, BN re-estimated | mean ± SE" in text


def test_training_flops_of_the_strided_form():
    training_speed = pytest.importorskip("training_speed")
    # 27 frames, 256 channels: expand 9 x 102 x 256, block 1: 3 x (3 + 1) x 256², block 2:
    # 1 x (3 + 1) x 256², shrink 51 x 256 multiply-adds; 2 FLOPs each, x 3 for training.
    macs = 9 * 102 * 256 + 3 * 4 * 256**2 + 4 * 256**2 + 51 * 256
    assert training_speed.train_flops((3, 3, 3), 256) == 6 * macs


def test_thread_ratios():
    threads = pytest.importorskip("threads")
    rows = {
        f"tiny | {load} | {t}": {"fit_s": f, "predict_s": p}
        for load, t, f, p in [("idle", 1, 2.0, 1.0), ("idle", 2, 1.0, 1.0),
                              ("busy", 1, 1.0, 0.5), ("busy", 2, 4.0, 2.0)]
    }  # fmt: skip
    r = threads.ratios(rows, {"tiny": {}}, [1, 2])
    assert r["tiny | idle | fit"]["1"]["ratio_to_best"] == 2.0
    assert r["tiny | busy | fit"]["2"]["ratio_to_best"] == 4.0
    assert r["tiny | busy | predict"]["1"]["ratio_to_best"] == 1.0
