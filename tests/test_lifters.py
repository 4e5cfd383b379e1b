"""TemporalPoseLifter: fitting, prediction structure, determinism, persistence, learning."""

import pickle

import joblib
import numpy as np
import pytest
import torch

from skpose3d import TemporalPoseLifter
from skpose3d.metrics import mpjpe, mpjve

from ._data import cmu_views

FAST = dict(channels=32, n_epochs=2, batch_size=64, random_state=0)


def _toy(rng, n_videos=3, n_frames=(30, 45, 12), n_joints=17, channels=2):
    y = [rng.normal(scale=0.2, size=(n, n_joints, 3)) + [0, 0, 4] for n in n_frames[:n_videos]]
    X = [
        np.concatenate([p[..., :2] / p[..., 2:], np.ones_like(p[..., :1])], -1)[..., :channels]
        for p in y
    ]
    return X, y


def test_predict_returns_the_structure_it_was_given(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    out = lifter.predict(X)
    assert out.dtype == object and out.shape == (3,)
    assert [p.shape for p in out] == [(30, 17, 3), (45, 17, 3), (12, 17, 3)]
    single = lifter.predict(X[1])
    assert isinstance(single, np.ndarray) and single.shape == (45, 17, 3)
    np.testing.assert_allclose(single, out[1], atol=1e-6)
    batch = lifter.predict(np.stack([X[0], X[0]]))
    assert batch.shape == (2, 30, 17, 3)


def test_predictions_are_root_relative_and_one_frame_videos_work(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    pose = lifter.predict([X[0][:1]])[0]
    assert pose.shape == (1, 17, 3)
    np.testing.assert_array_equal(pose[:, 0], 0)


def test_fitted_attributes(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(filter_widths=(3, 5), **FAST).fit(X, y)
    assert lifter.receptive_field_ == 15
    assert lifter.n_iter_ == 2 and len(lifter.history_) == 2
    assert {"loss", "val_mpjpe", "seconds", "lr"} <= set(lifter.history_[0])
    assert lifter.history_[1]["lr"] == pytest.approx(lifter.history_[0]["lr"] * 0.95)
    assert lifter.n_joints_in_ == 17 and lifter.n_channels_in_ == 2


def test_same_random_state_gives_identical_predictions(rng):
    X, y = _toy(rng)
    a = TemporalPoseLifter(**FAST).fit(X, y).predict(X)
    b = TemporalPoseLifter(**FAST).fit(X, y).predict(X)
    c = TemporalPoseLifter(**{**FAST, "random_state": 1}).fit(X, y).predict(X)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa, pb)
    assert not np.allclose(a[0], c[0])


def test_fit_does_not_touch_global_torch_rng(rng):
    X, y = _toy(rng)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    TemporalPoseLifter(**FAST).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_confidence_channel_and_image_size(rng):
    X, y = _toy(rng, channels=3)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    assert lifter.n_channels_in_ == 3
    pixels = [np.concatenate([(v[..., :2] + [1, 1]) * 500, v[..., 2:]], -1) for v in X]
    # The same network given pixels and the image size predicts what it did on normalised input.
    in_pixels = pickle.loads(pickle.dumps(lifter)).set_params(image_size=(1000, 1000))
    for a, b in zip(lifter.predict(X), in_pixels.predict(pixels)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # Fitting on pixels trains on the same normalised input (Amsgrad amplifies float noise in
    # the weights, so compare the training losses).
    refit = TemporalPoseLifter(image_size=(1000, 1000), **FAST).fit(pixels, y)
    assert refit.history_[0]["loss"] == pytest.approx(lifter.history_[0]["loss"], rel=1e-4)


def test_test_time_flip_averages_with_mirrored_prediction(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**{**FAST, "test_time_flip": False}).fit(X, y)
    plain = lifter.predict(X)
    lifter.set_params(test_time_flip=True)
    averaged = lifter.predict(X)
    assert not np.allclose(plain[0], averaged[0])
    # Mirroring the input of a flip-averaged model mirrors its output exactly.
    perm_in = lifter.input_skeleton_.flip_permutation
    mirrored = [v[:, perm_in] * [-1, 1] for v in X]
    perm_out = lifter.output_skeleton_.flip_permutation
    for a, b in zip(lifter.predict(mirrored), averaged):
        np.testing.assert_allclose(a, b[:, perm_out] * [-1, 1, 1], atol=1e-5)


def test_long_video_chunked_prediction_equals_one_pass(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    long_video = rng.normal(scale=0.1, size=(700, 17, 2)).astype(np.float32)
    one_pass = lifter.predict(long_video)
    lifter.set_params(chunk_frames=64)
    np.testing.assert_allclose(lifter.predict(long_video), one_pass, atol=1e-5)


def test_pickle_and_joblib_round_trip(rng, tmp_path):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    expected = lifter.predict(X)
    restored = pickle.loads(pickle.dumps(lifter))
    joblib.dump(lifter, tmp_path / "lifter.joblib")
    from_joblib = joblib.load(tmp_path / "lifter.joblib")
    for a, b, c in zip(expected, restored.predict(X), from_joblib.predict(X)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_score_is_negative_mpjpe(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    assert lifter.score(X, y) == pytest.approx(-mpjpe(y, lifter.predict(X)))
    assert lifter.score(X, y) < 0


def test_unlabeled_input_is_ignored_with_a_warning(rng):
    X, y = _toy(rng)
    with pytest.warns(UserWarning, match="ignores X2d_unlabeled"):
        TemporalPoseLifter(**FAST).fit(X, y, X2d_unlabeled=X)


def test_warm_start_continues_from_fitted_weights(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**{**FAST, "n_epochs": 1, "warm_start": True}).fit(X, y)
    first = lifter.module_.shrink.weight.detach().clone()
    fresh = TemporalPoseLifter(**{**FAST, "n_epochs": 1}).fit(X, y)
    lifter.fit(X, y)
    # A warm start begins from the fitted weights, so it ends elsewhere than a fresh fit.
    assert not torch.equal(lifter.module_.shrink.weight, fresh.module_.shrink.weight)
    assert not torch.equal(lifter.module_.shrink.weight, first)


def test_early_stopping_validates_on_held_out_videos(rng):
    X, y = _toy(rng, n_videos=3)
    lifter = TemporalPoseLifter(
        **{
            **FAST,
            "n_epochs": 30,
            "early_stopping": True,
            "n_iter_no_change": 2,
            "validation_fraction": 0.34,
        }
    ).fit(X, y)
    vals = [row["val_mpjpe"] for row in lifter.history_]
    assert all(v is not None and v > 0 for v in vals)
    best = int(np.argmin(vals))
    assert lifter.n_iter_ <= 30 and (lifter.n_iter_ == 30 or lifter.n_iter_ - 1 - best == 2)


def test_verbose_prints_progress_and_silent_otherwise(rng, capsys, monkeypatch):
    X, y = _toy(rng)
    TemporalPoseLifter(**{**FAST, "verbose": 0}).fit(X, y)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    TemporalPoseLifter(**{**FAST, "verbose": 1}).fit(X, y)
    assert "loss=" in capsys.readouterr().err  # tqdm bar with the current losses
    monkeypatch.setitem(__import__("sys").modules, "tqdm.auto", None)  # tqdm not installed
    TemporalPoseLifter(**{**FAST, "verbose": 1}).fit(X, y)
    assert "epoch 1: loss=" in capsys.readouterr().out


def test_lifter_learns_real_motion_and_temporal_beats_single_frame():
    """CMU motion through one camera with 12 px noise, held-out clips.

    The lifter is far better than predicting the mean pose, and a 27-frame model beats a
    single-frame model on the same noisy input: lower MPJPE and much smoother motion.
    """
    X, y, _ = cmu_views(n_videos=14, max_frames=250, noise_px=12.0, seed=0)
    X_train, y_train, X_test, y_test = X[:11], y[:11], X[11:], y[11:]
    mean_pose = np.concatenate([p - p[:, :1] for p in y_train]).mean(0)
    baseline = mpjpe(y_test, [np.broadcast_to(mean_pose, p.shape) for p in y_test])
    params = dict(
        channels=128, n_epochs=15, batch_size=64, dropout=0.1, learning_rate=3e-3, random_state=0
    )
    temporal = TemporalPoseLifter(filter_widths=(3, 3, 3), **params).fit(X_train, y_train)
    single = TemporalPoseLifter(filter_widths=(1, 1, 1), **params).fit(X_train, y_train)
    pred_temporal, pred_single = temporal.predict(X_test), single.predict(X_test)
    # Seeds 0-3 give 0.52-0.61 x the baseline (15 epochs on 11 clips): 0.7 leaves room.
    assert mpjpe(y_test, pred_temporal) < 0.7 * baseline
    assert mpjpe(y_test, pred_temporal) < mpjpe(y_test, pred_single)
    assert mpjve(y_test, pred_temporal) < 0.5 * mpjve(y_test, pred_single)


# -- the output skeleton's root ----------------------------------------------------------------


def test_predictions_and_score_are_centred_on_the_output_skeletons_root(rng):
    X, y = _toy(rng, n_joints=16)
    lifter = TemporalPoseLifter(**FAST, input_skeleton="mpii").fit(X, y)
    assert lifter.output_skeleton_.root == 6  # MPII's pelvis; joint 0 is the right ankle
    pred = lifter.predict(X)
    for p in pred:
        np.testing.assert_array_equal(p[:, 6], 0)
        assert np.abs(p[:, 0]).max() > 0.01
    assert lifter.score(X, y) == pytest.approx(-mpjpe(y, pred, root=6), rel=1e-6)


@pytest.mark.parametrize("pose_loss", ["raw", "recentred"])
def test_training_targets_are_centred_on_the_output_root(rng, pose_loss):
    from types import SimpleNamespace

    from skpose3d._fit_context import FitContext
    from skpose3d.nn.temporal import TemporalConvNet
    from skpose3d.skeleton import MPII

    net = TemporalConvNet(16, 2, 16, (3,), channels=8).eval()
    with torch.no_grad():  # a root output far from zero: the two losses then differ
        net.shrink.bias[6 * 3 : 6 * 3 + 3] += 1.0
    lifter = SimpleNamespace(flip_augmentation=False, pose_loss=pose_loss)
    ctx = FitContext(lifter, net, MPII, MPII, torch.device("cpu"), rng)
    x = torch.from_numpy(rng.normal(size=(5, 3, 16, 2)).astype(np.float32))
    y = torch.from_numpy(rng.normal(size=(5, 16, 3)).astype(np.float32))
    loss = ctx.supervised_step((x, y), 0)["loss"].item()
    with torch.no_grad():
        pred = net.forward_strided(x)[:, 0].numpy()
    yn = y.numpy()
    # Slow reference: a loop over samples and joints; the target centred on joint 6 (MPII's
    # pelvis), the prediction as it is or centred on its own joint 6.
    centre = (lambda p, i: p[i, 6]) if pose_loss == "recentred" else (lambda p, i: 0.0)
    expected = np.mean(
        [np.linalg.norm((pred[i, j] - centre(pred, i)) - (yn[i, j] - yn[i, 6])) for i in range(5)
         for j in range(16)]
    )  # fmt: skip
    assert loss == pytest.approx(expected, rel=1e-5)
    other = np.mean(
        [np.linalg.norm(pred[i, j] - pred[i, 6] - yn[i, j] + yn[i, 6]) for i in range(5)
         for j in range(16)]
    )  # fmt: skip
    assert (other == pytest.approx(expected)) == (pose_loss == "recentred")


def test_pose_loss_is_a_validated_parameter_and_raw_by_default(rng):
    from skpose3d import SemiSupervisedLifter

    assert TemporalPoseLifter().pose_loss == "raw" == SemiSupervisedLifter().pose_loss
    X = [rng.normal(size=(12, 17, 2)).astype(np.float32)]
    y = [rng.normal(size=(12, 17, 3)).astype(np.float32)]
    with pytest.raises(ValueError, match="pose_loss"):
        TemporalPoseLifter(pose_loss="centred", n_epochs=1, device="cpu").fit(X, y)


def test_flip_augmentation_mirrors_y_with_the_output_skeleton(rng):
    from types import SimpleNamespace

    from skpose3d._fit_context import FitContext
    from skpose3d.camera import flip_keypoints, flip_poses
    from skpose3d.skeleton import COCO, H36M

    always = SimpleNamespace(random=lambda n: np.zeros(n))  # every sample is flipped
    ctx = FitContext(None, None, COCO, H36M, torch.device("cpu"), always)
    x = torch.from_numpy(rng.normal(size=(4, 3, 17, 2)).astype(np.float32))
    y = torch.from_numpy(rng.normal(size=(4, 17, 3)).astype(np.float32))
    fx, fy = ctx.flip_half(x, y)
    torch.testing.assert_close(fx, flip_keypoints(x, COCO))
    torch.testing.assert_close(fy, flip_poses(y, H36M))
    assert not torch.allclose(fy, flip_poses(y, COCO))  # the skeletons' left/right differ


# -- schedules inside fit ----------------------------------------------------------------------


def test_bn_momentum_schedule_is_applied_in_every_epoch_of_fit(rng, monkeypatch):
    from skpose3d._fit_context import FitContext

    seen = {}
    original = FitContext.supervised_step

    def spy(self, batch, epoch):
        seen.setdefault(epoch, set()).add(self.module.block_bns[0].momentum)
        assert self.module.expand_bn.momentum == self.module.block_bns[0].momentum
        return original(self, batch, epoch)

    monkeypatch.setattr(FitContext, "supervised_step", spy)
    X, y = _toy(rng)  # 87 frames
    # 87 % 2 == 1: the lone last clip joins the batch before it (BatchNorm needs two).
    TemporalPoseLifter(**FAST, precise_bn=False).set_params(n_epochs=4, batch_size=2).fit(X, y)
    batches = -(-87 // 2)
    for epoch in range(4):  # the documented rule, written out: exp decay 0.1 -> 0.001, floored
        expected = max(0.1 * 100 ** (-epoch / 3), min(0.1, 1 / batches))
        (momentum,) = seen[epoch]
        assert momentum == pytest.approx(expected)


def test_early_stopping_restores_the_best_epochs_weights(rng, monkeypatch):
    from skpose3d._fit_context import FitContext

    scripted = iter([0.5, 0.2, 0.3, 0.4, 0.6, 0.7])  # best: epoch 1
    snapshots = []

    def validation_error(self, videos, targets):
        snapshots.append({k: v.clone() for k, v in self.module.state_dict().items()})
        return next(scripted)

    monkeypatch.setattr(FitContext, "validation_error", validation_error)
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(
        **FAST, early_stopping=True, validation_fraction=0.34, n_iter_no_change=2,
        precise_bn=False,
    ).set_params(n_epochs=6)  # fmt: skip
    lifter.fit(X, y)
    assert lifter.n_iter_ == 4  # epochs 2 and 3 did not improve on epoch 1
    best, last = snapshots[1], snapshots[-1]
    for key, value in lifter.module_.state_dict().items():
        torch.testing.assert_close(value, best[key], rtol=0, atol=0)
    assert any(not torch.equal(best[k], last[k]) for k in best)


# -- warm start --------------------------------------------------------------------------------


def test_warm_start_takes_the_new_dropout(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**{**FAST, "n_epochs": 1, "warm_start": True}).fit(X, y)
    assert lifter.module_.dropout.p == 0.25
    lifter.set_params(dropout=0.0).fit(X, y)
    assert lifter.module_.dropout.p == 0.0


def test_warm_start_warns_when_it_cannot_reuse_the_network(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**{**FAST, "n_epochs": 1, "warm_start": True}).fit(X, y)
    with pytest.warns(UserWarning, match=r"cannot reuse the fitted network \(channels 32 -> 16"):
        lifter.set_params(channels=16).fit(X, y)
    assert lifter.module_.expand_conv.out_channels == 16
    with pytest.warns(UserWarning, match=r"filter_widths \(3, 3, 3\) -> \(3, 3\)"):
        lifter.set_params(filter_widths=(3, 3)).fit(X, y)


# -- precise BatchNorm ---------------------------------------------------------------------------


def first_bn_input_rows(net, videos):
    """Slow reference: the rows the first BatchNorm sees for every training clip of ``videos``.

    Each frame's clip is edge-padded to the receptive field; the first (stride-``w``)
    convolution maps each run of ``w`` frames to one row: ``sum_k W[:, :, k] @ frame``.
    """
    weight = net.expand_conv.weight.detach().double().numpy()  # (C, J * 2, w)
    w, rf = weight.shape[2], net.receptive_field
    rows = []
    for video in videos:
        padded = np.pad(video, ((rf // 2, rf // 2), (0, 0), (0, 0)), mode="edge")
        for t in range(len(video)):
            clip = padded[t : t + rf].reshape(rf, -1).astype(np.float64)
            for start in range(0, rf, w):
                rows.append(sum(weight[:, :, k] @ clip[start + k] for k in range(w)))
    return np.array(rows)


def test_precise_bn_statistics_are_those_of_the_final_weights_on_the_training_data():
    X, y, _ = cmu_views(n_videos=3, max_frames=100)
    params = dict(**FAST, filter_widths=(3, 3), flip_augmentation=False)
    lifter = TemporalPoseLifter(**params).fit(X, y)
    rows = first_bn_input_rows(lifter.module_, X)
    bn = lifter.module_.expand_bn
    std = rows.std(axis=0)
    # Batch means averaged with equal weights and unbiased batch variances: equal to the
    # whole data's statistics up to the spread between 5 batches (a few per cent; the moving
    # average of training, started at mean 0 and variance 1, is off by orders of magnitude).
    np.testing.assert_allclose(bn.running_mean.numpy(), rows.mean(axis=0), atol=0.05 * std.max())
    np.testing.assert_allclose(bn.running_var.numpy(), rows.var(axis=0), rtol=0.1)
    assert int(bn.num_batches_tracked) == -(-300 // 64)  # every training batch, once
    # Only the statistics change: the weights are those of a fit without it.
    plain = TemporalPoseLifter(**params, precise_bn=False).fit(X, y)
    for (name, a), b in zip(lifter.module_.named_parameters(), plain.module_.parameters()):
        assert torch.equal(a, b), name
    assert not np.allclose(plain.module_.expand_bn.running_var.numpy(), rows.var(axis=0), rtol=0.1)


# -- threads -------------------------------------------------------------------------------------


def test_n_jobs_is_applied_inside_fit_and_predict_only(rng, monkeypatch):
    import skpose3d._prediction as prediction
    from skpose3d._fit_context import FitContext

    X, y = _toy(rng)
    seen = []
    step, predict_sequence = FitContext.supervised_step, prediction.predict_sequence
    monkeypatch.setattr(
        FitContext, "supervised_step",
        lambda self, *a: (seen.append(("fit", torch.get_num_threads())), step(self, *a))[1],
    )  # fmt: skip
    monkeypatch.setattr(
        prediction, "predict_sequence",
        lambda *a: (seen.append(("predict", torch.get_num_threads())), predict_sequence(*a))[1],
    )  # fmt: skip
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        lifter = TemporalPoseLifter(**FAST).fit(X, y)  # n_jobs=None: one thread
        lifter.predict(X)
        assert torch.get_num_threads() == 2
        assert {n for _, n in seen} == {1} and {k for k, _ in seen} == {"fit", "predict"}
        seen.clear()
        torch.set_num_threads(1)
        lifter.set_params(n_jobs=2).fit(X, y)
        assert {n for _, n in seen} == {2} and torch.get_num_threads() == 1
        # Restored on errors too.
        monkeypatch.setattr(FitContext, "supervised_step", lambda *a: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            lifter.fit(X, y)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_n_jobs_must_not_be_zero(rng):
    X, y = _toy(rng)
    with pytest.raises(ValueError, match="n_jobs must be None, a positive int"):
        TemporalPoseLifter(**FAST, n_jobs=0).fit(X, y)


# -- training-loop plumbing (issue 12, "train faster") ----------------------------------------


def test_clip_bank_gathers_clips_and_mirrored_clips_exactly(rng):
    from skpose3d._sequences import ClipBank
    from skpose3d.camera import flip_keypoints
    from skpose3d.skeleton import COCO

    videos = [rng.normal(size=(n, 17, 2)).astype(np.float32) for n in (5, 12)]
    bank = ClipBank(videos, 4, 4).add_mirror(lambda d: flip_keypoints(d, COCO))
    ids = torch.tensor([0, 4, 5, 16, 7, 7])
    mirrored = torch.tensor([False, True, False, True, True, False])
    got = bank.clips(ids, mirrored)
    # Slow reference: each frame's clip, edge frames repeated, written out frame by frame.
    frames = [(0, t) for t in range(5)] + [(1, t) for t in range(12)]
    for row, (i, m) in enumerate(zip(ids.tolist(), mirrored.tolist())):
        v, t = frames[i]
        last = len(videos[v]) - 1
        clip = np.stack([videos[v][min(max(k, 0), last)] for k in range(t - 4, t + 5)])
        expected = flip_keypoints(clip, COCO) if m else clip
        np.testing.assert_array_equal(got[row].numpy(), expected)
    np.testing.assert_array_equal(bank.clips(ids), bank.clips(ids, torch.zeros(6, dtype=bool)))


def test_gathered_mirrored_batches_equal_flip_half_with_the_same_draws(rng):
    """The fit's batches (mirrored where gathered) equal the plain batches mirrored by
    flip_half with the same random stream: same clips, same poses, same flips."""
    from types import SimpleNamespace

    from skpose3d._fit_context import FitContext, MirroredBatch, labeled_batches
    from skpose3d._sequences import ClipBank
    from skpose3d.skeleton import COCO, H36M

    videos = [rng.normal(size=(n, 17, 2)).astype(np.float32) for n in (30, 41)]
    poses = torch.from_numpy(rng.normal(size=(71, 17, 3)).astype(np.float32))
    lifter = SimpleNamespace(flip_augmentation=True)
    fast = FitContext(lifter, None, COCO, H36M, torch.device("cpu"), np.random.default_rng(3))
    slow = FitContext(lifter, None, COCO, H36M, torch.device("cpu"), np.random.default_rng(3))
    got = list(labeled_batches(fast, ClipBank(videos, 4, 4), poses, 16)(0))
    bank = ClipBank(videos, 4, 4)
    order = torch.from_numpy(slow.rng.permutation(71))
    expected = [slow.flip_half(bank.clips(ids), poses[ids]) for ids in order.split(16)]
    assert len(got) == len(expected) == 5 and all(isinstance(b, MirroredBatch) for b in got)
    for (x, y), (ex, ey) in zip(got, expected):
        torch.testing.assert_close(x, ex, atol=0, rtol=0)
        torch.testing.assert_close(y, ey, atol=0, rtol=0)


def test_fused_amsgrad_follows_the_for_loop_amsgrad():
    """The fit's optimiser (torch's fused Amsgrad kernel) takes the steps of the plain one."""
    from skpose3d._fit_context import amsgrad

    torch.manual_seed(0)
    nets = [_small_net() for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    fast = amsgrad(nets[0].parameters(), 1e-2, torch.device("cpu"))
    plain = torch.optim.Adam(nets[1].parameters(), lr=1e-2, amsgrad=True, foreach=False)
    assert fast.defaults["fused"]
    for _ in range(5):
        x = torch.randn(8, 9, 17, 2)
        for net, opt in zip(nets, (fast, plain)):
            opt.zero_grad()
            torch.manual_seed(1)  # same dropout masks
            net.forward_strided(x).square().mean().backward()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def _small_net():
    from skpose3d.nn.temporal import TemporalConvNet

    return TemporalConvNet(17, 2, 17, (3, 3), channels=16).train()
