"""Streaming causal inference: frame-by-frame outputs equal batch prediction."""

import copy

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skpose3d import TemporalPoseLifter
from skpose3d.nn.inference import predict_sequence
from skpose3d.nn.streaming import CausalStreamer
from skpose3d.nn.temporal import TemporalConvNet
from skpose3d.streaming import StreamingLifter, benchmark_latency

from ._nets import trained_like


def random_causal_net(widths, channels=32, n_in=17, n_out=16, features=2, seed=0):
    """A causal network with random weights and non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    return trained_like(
        TemporalConvNet(n_in, features, n_out, widths, channels=channels, causal=True)
    )


@pytest.mark.parametrize("widths", [(3, 3, 3), (3, 5, 1, 3), (1,), (5,), (1, 1, 1), (3, 3, 3, 3)])
def test_streamed_network_equals_dilated_form_over_whole_video(widths):
    net = random_causal_net(widths)
    x = torch.randn(90, 17, 2)
    expected = predict_sequence(net, x)
    streamer = CausalStreamer(net)
    streamed = torch.stack([streamer.step(frame[None])[0] for frame in x])
    # The first frames included: start-up must match predict's edge padding.
    torch.testing.assert_close(streamed, expected, atol=1e-5, rtol=0)


def test_video_shorter_than_receptive_field_and_batched_streams():
    net = random_causal_net((3, 3, 3))  # 27 frames
    videos = torch.randn(3, 10, 17, 2)
    streamer = CausalStreamer(net)
    streamed = torch.stack([streamer.step(videos[:, t]) for t in range(10)], dim=1)
    for video, out in zip(videos, streamed):
        torch.testing.assert_close(out, predict_sequence(net, video), atol=1e-5, rtol=0)


def test_reset_starts_a_new_video():
    net = random_causal_net((3, 3))
    streamer = CausalStreamer(net)
    for frame in torch.randn(20, 17, 2):
        streamer.step(frame[None])
    streamer.reset()
    assert streamer.n_frames_seen == 0
    x = torch.randn(15, 17, 2)
    streamed = torch.stack([streamer.step(frame[None])[0] for frame in x])
    torch.testing.assert_close(streamed, predict_sequence(net, x), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="batch size changed"):
        streamer.step(torch.zeros(2, 17, 2))


def test_cost_per_frame_is_constant_cached_layers_not_a_rerun():
    net = random_causal_net((3, 3, 3, 3, 3))  # 243 frames
    streamer = CausalStreamer(net)
    # Each dilated layer keeps (W - 1) * D + 1 inputs: 3, 7, 19, 55, 163 frames.
    spans = [streamer.expand.span] + [dilated.span for dilated, _ in streamer.blocks]
    assert spans == [3, 7, 19, 55, 163]
    net.forward = None  # the streamer must never run the dilated form over a window
    for frame in torch.randn(300, 17, 2):
        streamer.step(frame[None])
    assert [d.buffer.shape[1] for d, _ in streamer.blocks] == [7, 19, 55, 163]


def test_non_causal_or_foreign_module_is_rejected():
    net = TemporalConvNet(17, 2, 17, (3, 3), channels=8).eval()
    with pytest.raises(ValueError, match="causal"):
        CausalStreamer(net)
    with pytest.raises(TypeError, match="TemporalConvNet"):
        CausalStreamer(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"\(batch, 17, 2\)"):
        CausalStreamer(random_causal_net((3,), n_out=17)).step(torch.zeros(17, 2))


@pytest.fixture(scope="module")
def fitted_causal():
    """A fitted causal lifter on pixel keypoints with a confidence channel and test-time flip."""
    rng = np.random.default_rng(1)
    X = [rng.uniform(100, 900, size=(n, 17, 3)).astype(np.float32) for n in (50, 35)]
    for video in X:
        video[..., 2] = rng.uniform(0, 1, size=video.shape[:2])
    y = [rng.normal(size=(len(v), 17, 3)).astype(np.float32) for v in X]
    lifter = TemporalPoseLifter(
        filter_widths=(3, 3, 3), channels=16, causal=True, n_epochs=2, image_size=(1000, 800),
        test_time_flip=True, device="cpu", random_state=0,
    )  # fmt: skip
    return lifter.fit(X, y), X


@pytest.mark.parametrize("test_time_flip", [True, False])
def test_streaming_lifter_equals_predict(fitted_causal, test_time_flip):
    lifter, X = fitted_causal
    lifter = copy.deepcopy(lifter).set_params(test_time_flip=test_time_flip)
    stream = StreamingLifter(lifter)
    for video in X:
        stream.reset()
        streamed = np.stack([stream.step(frame) for frame in video])
        np.testing.assert_allclose(streamed, lifter.predict(video), atol=1e-5, rtol=0)
    assert stream.n_frames_seen == len(X[-1])


def test_process_continues_the_stream(fitted_causal):
    lifter, X = fitted_causal
    stream = StreamingLifter(lifter, device="cpu")
    first = stream.process(X[0][:20])
    rest = stream.process(X[0][20:])
    np.testing.assert_allclose(np.concatenate([first, rest]), lifter.predict(X[0]), atol=1e-5)


def test_streaming_lifter_bad_input(fitted_causal):
    lifter, X = fitted_causal
    stream = StreamingLifter(lifter)
    stream.step(X[0][0])
    with pytest.raises(ValueError, match=r"frame 1 has shape \(17, 2\)"):
        stream.step(X[0][1][:, :2])
    bad = X[0][1].copy()
    bad[4, 0] = np.nan
    with pytest.raises(ValueError, match="frame 1 contains NaN or inf at joint 4"):
        stream.step(bad)
    assert stream.n_frames_seen == 1  # failed frames leave the stream untouched
    with pytest.raises(ValueError, match="causal=True"):
        StreamingLifter(TemporalPoseLifter(channels=8, n_epochs=1).fit(X[:1], [X[0]]))
    with pytest.raises(NotFittedError):
        StreamingLifter(TemporalPoseLifter(causal=True))
    with pytest.raises(TypeError, match="TemporalPoseLifter"):
        StreamingLifter(lifter.module_)


def test_benchmark_latency_reports_median_and_p99():
    result = benchmark_latency((3, 3), channels=8, n_frames=30, warmup=3)
    assert 0 < result["median_ms"] <= result["p99_ms"]
    assert result["receptive_field"] == 9
