"""The temporal convolution network: both forward forms, causality, sizes, chunked inference."""

import math

import pytest
import torch

from skpose3d._training import bn_momentum
from skpose3d.nn.inference import pad_edges, predict_sequence
from skpose3d.nn.temporal import TemporalConvNet, check_filter_widths, receptive_field

from ._nets import trained_like

WIDTHS = [(1,), (3,), (1, 1, 1), (3, 3, 3), (3, 3, 7), (5, 3), (3, 3, 3, 3)]


def _sliding_clips(x, rf):
    """Every clip of ``rf`` consecutive frames, (batch * n_clips, rf, J, C)."""
    clips = x.unfold(1, rf, 1).permute(0, 1, 4, 2, 3)
    return clips.reshape(-1, rf, *x.shape[2:])


@pytest.mark.parametrize("widths", WIDTHS)
@pytest.mark.parametrize("causal", [False, True])
def test_strided_form_equals_dilated_form(widths, causal):
    torch.manual_seed(0)
    net = trained_like(TemporalConvNet(5, 3, 4, widths, channels=32, causal=causal))
    rf = net.receptive_field
    x = torch.randn(2, rf + 9, 5, 3)
    dilated = net(x)
    strided = net.forward_strided(_sliding_clips(x, rf)).reshape(dilated.shape)
    assert dilated.shape == (2, 10, 4, 3)
    torch.testing.assert_close(strided, dilated, atol=1e-5, rtol=0)


@pytest.mark.parametrize("widths", [(3, 3, 3), (3, 5)])
def test_causal_output_ignores_future_frames(widths):
    torch.manual_seed(1)
    net = trained_like(TemporalConvNet(4, 2, 4, widths, channels=16, causal=True))
    x = torch.randn(60, 4, 2)
    before = predict_sequence(net, x)
    t = 30
    changed = x.clone()
    changed[t + 1 :] = torch.randn_like(changed[t + 1 :]) * 5
    after = predict_sequence(net, changed)
    torch.testing.assert_close(after[: t + 1], before[: t + 1], atol=1e-6, rtol=0)
    assert not torch.allclose(after[t + 1 :], before[t + 1 :])


def test_non_causal_output_uses_future_frames():
    torch.manual_seed(1)
    net = trained_like(TemporalConvNet(4, 2, 4, (3, 3), channels=16))
    x = torch.randn(30, 4, 2)
    changed = x.clone()
    changed[16] += 3.0
    before, after = predict_sequence(net, x), predict_sequence(net, changed)
    assert not torch.allclose(before[12], after[12])  # frame 16 is within 4 frames of 12


@pytest.mark.parametrize(
    "widths, expected",
    [((3, 3, 3), 8_555_571), ((3, 3, 3, 3), 12_753_971), ((3, 3, 3, 3, 3), 16_952_371)],
)
def test_parameter_counts_match_paper(widths, expected):
    net = TemporalConvNet(17, 2, 17, widths, channels=1024)
    assert sum(p.numel() for p in net.parameters()) == expected
    assert net.receptive_field == math.prod(widths)


@pytest.mark.parametrize(
    "widths, rf", [((3, 3, 3), 27), ((3, 3, 3, 3), 81), ((3, 3, 3, 3, 3), 243), ((3, 3, 7), 63)]
)
def test_receptive_field_from_padding_formula(widths, rf):
    # Paper: pad = [W0 // 2] + [(Wi - 1) * Di // 2], receptive field = 1 + 2 * sum(pad).
    dilations = [math.prod(widths[:i]) for i in range(len(widths))]
    pads = [widths[0] // 2] + [(w - 1) * d // 2 for w, d in zip(widths[1:], dilations[1:])]
    assert receptive_field(widths) == 1 + 2 * sum(pads) == rf
    net = TemporalConvNet(2, 2, 2, widths, channels=4).eval()
    assert net(torch.zeros(1, rf, 2, 2)).shape[1] == 1


@pytest.mark.parametrize("bad", [(2, 3), (3, 0), (-1,), ()])
def test_bad_filter_widths(bad):
    with pytest.raises(ValueError, match="filter_widths"):
        check_filter_widths(bad)


def test_chunked_prediction_equals_one_pass():
    torch.manual_seed(2)
    net = trained_like(TemporalConvNet(3, 2, 3, (3, 3, 3), channels=16))
    x = torch.randn(500, 3, 2)
    one_pass = predict_sequence(net, x, chunk_frames=10_000)
    for chunk in (1, 7, 100, 499):
        torch.testing.assert_close(predict_sequence(net, x, chunk), one_pass, atol=1e-5, rtol=0)


def test_edge_padding_gives_one_pose_per_frame_even_for_short_videos():
    net = trained_like(TemporalConvNet(3, 2, 3, (3, 3, 3), channels=8))
    for n in (1, 2, 26, 27, 28):
        assert predict_sequence(net, torch.randn(n, 3, 2)).shape == (n, 3, 3)
    x = torch.arange(3.0)[:, None, None].expand(3, 1, 2)
    padded = pad_edges(x, 2, 1)
    assert padded[:, 0, 0].tolist() == [0, 0, 0, 1, 2, 2]


def test_bn_momentum_schedule():
    assert bn_momentum(0, 80) == pytest.approx(0.1)
    assert bn_momentum(79, 80) == pytest.approx(0.001)
    assert bn_momentum(40, 81) == pytest.approx(0.01)
    net = TemporalConvNet(2, 2, 2, (3, 3), channels=4)
    net.set_bn_momentum(0.02)
    assert all(m.momentum == 0.02 for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d))


def test_bn_momentum_never_freezes_statistics_within_an_epoch():
    # 40 batches per epoch: the running statistics average over at most one epoch.
    assert bn_momentum(79, 80, batches_per_epoch=40) == pytest.approx(1 / 40)
    assert bn_momentum(0, 80, batches_per_epoch=5) == pytest.approx(0.1)
    assert bn_momentum(79, 80, batches_per_epoch=1500) == pytest.approx(0.001)


def test_dropout_probability_is_the_one_the_forward_pass_uses():
    net = TemporalConvNet(17, 2, 17, (3, 3), channels=16, dropout=0.5).train()
    x = torch.randn(8, 9, 17, 2)

    def two_passes():
        torch.manual_seed(0)
        a = net.forward_strided(x)
        torch.manual_seed(1)
        return a, net.forward_strided(x)

    a, b = two_passes()
    assert not torch.allclose(a, b)  # p = 0.5: different masks
    assert net.set_dropout(0.0) is net and net.dropout.p == 0.0
    a, b = two_passes()
    torch.testing.assert_close(a, b)  # no dropout left: train mode is deterministic
    with pytest.raises(ValueError, match="dropout must be in"):
        net.set_dropout(1.0)
