"""The speed-ups keep the results: folded BatchNorm, reduced precision, cheaper dropout."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skpose3d import TemporalPoseLifter
from skpose3d.nn import dropout, products
from skpose3d.nn.dropout import (
    bn_relu_dropout,
    cheap_dropout,
    dropout_keep_probability,
    dropout_mask,
)
from skpose3d.nn.fused import FusedTemporalConvNet
from skpose3d.nn.inference import predict_sequence
from skpose3d.nn.products import onednn_linear
from skpose3d.nn.temporal import TemporalConvNet

from ._nets import trained_like

ROOT = Path(__file__).resolve().parents[1]


def _net(widths, causal=False, channels=48, seed=0):
    """A network with non-trivial BatchNorm statistics and affine parameters, in eval mode."""
    torch.manual_seed(seed)
    return trained_like(TemporalConvNet(17, 2, 16, widths, channels=channels, causal=causal))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("widths", [(1, 1, 1), (3, 3, 3), (3, 5, 3), (5,)])
def test_fused_equals_unfused_in_fp32(widths, causal):
    net = _net(widths, causal)
    x = torch.randn(2, net.receptive_field + 40, 17, 2)
    with torch.no_grad():
        expected = net(x)
    got = FusedTemporalConvNet(net)(x)
    assert got.shape == expected.shape and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_fused_fallback_convolution_gives_the_same_result(monkeypatch):
    """The oneDNN conv+ReLU op and plain F.conv2d (used on GPU / other builds) agree."""
    net = _net((3, 3, 3))
    x = torch.randn(1, 80, 17, 2)
    fast = FusedTemporalConvNet(net)(x)
    monkeypatch.setattr(products, "_conv_relu_onednn", None)
    torch.testing.assert_close(FusedTemporalConvNet(net)(x), fast, atol=1e-5, rtol=0)


def test_fused_uses_running_statistics_and_leaves_the_module_alone():
    net = _net((3, 3))
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(1, 30, 17, 2)
    with torch.no_grad():
        expected = net(x)
    net.train()  # a module still in training mode is fused with eval semantics
    torch.testing.assert_close(FusedTemporalConvNet(net)(x), expected, atol=1e-5, rtol=0)
    assert net.training
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_fused_rejects_bad_input_shapes():
    fused_net = FusedTemporalConvNet(_net((3, 3)))
    with pytest.raises(ValueError, match="frames >= 9"):
        fused_net(torch.randn(1, 8, 17, 2))
    with pytest.raises(ValueError, match=r"\(1, 20, 16, 2\)"):
        fused_net(torch.randn(1, 20, 16, 2))


def test_predict_sequence_with_fused_module_is_chunk_independent():
    net = _net((3, 3, 3))
    x = torch.randn(500, 17, 2)
    one_pass = predict_sequence(net, x, chunk_frames=10_000)
    fused_net = FusedTemporalConvNet(net)
    for chunk in (1, 37, 200, 10_000):
        got = predict_sequence(fused_net, x, chunk_frames=chunk)
        torch.testing.assert_close(got, one_pass, atol=1e-5, rtol=0)


def test_bfloat16_copy_stays_close():
    """bf16 hidden layers (3 significant digits) with a float32 last layer.

    Stated tolerance: max error <= 2% of the largest output value, mean error <= 0.5%.
    """
    net = _net((3, 3, 3, 3), channels=64)
    x = torch.randn(1, 200, 17, 2)
    with torch.no_grad():
        expected = net(x)
    got = FusedTemporalConvNet(net, torch.bfloat16)(x)
    assert got.dtype == torch.float32
    error = (got - expected).abs()
    scale = expected.abs().max()
    assert error.max() <= 0.02 * scale
    assert error.mean() <= 0.005 * scale
    assert error.max() > 0  # it really ran in bf16


@pytest.mark.parametrize("onednn_bf16", [True, False])
def test_bfloat16_runs_with_and_without_onednn_bf16_kernels(monkeypatch, onednn_bf16):
    """CPUs without AVX-512/AVX-NE-CONVERT have no oneDNN bf16 kernels (a raw RuntimeError
    before): bf16 then runs on torch's own kernels with the same rounding."""
    if onednn_bf16 and not products.onednn_supports(torch.bfloat16):
        pytest.skip("this CPU has no oneDNN bfloat16 kernels (needs AVX-512 or AVX-NE-CONVERT)")
    real = products.onednn_supports
    monkeypatch.setattr(
        products,
        "onednn_supports",
        lambda dtype: real(dtype) and (onednn_bf16 or dtype != torch.bfloat16),
    )
    net = _net((3, 3), channels=32)
    x = torch.randn(1, 60, 17, 2)
    with torch.no_grad():
        expected = net(x)
    got = FusedTemporalConvNet(net, torch.bfloat16)(x)
    error = (got - expected).abs()
    assert 0 < error.max() <= 0.02 * expected.abs().max()


def test_lifter_predict_matches_unfused_network_and_bf16_is_close():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(60, 17, 2)).astype(np.float32) for _ in range(2)]
    y = [rng.normal(size=(60, 17, 3)).astype(np.float32) for _ in range(2)]
    lifter = TemporalPoseLifter(channels=32, n_epochs=1, test_time_flip=False, random_state=0)
    lifter.fit(X, y)
    expected = [predict_sequence(lifter.module_.eval(), torch.from_numpy(v)) for v in X]
    expected = [(p - p[:, :1]).numpy() for p in expected]
    got = lifter.predict(X)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    bf16 = lifter.set_params(precision="bfloat16").predict(X)
    for a, b in zip(bf16, expected):
        assert np.abs(a - b).max() <= 0.02 * np.abs(b).max()


@pytest.mark.parametrize("p", [0.25, 0.1, 0.5])
def test_dropout_mask_keep_rate_in_every_lane(p):
    """Each of the 8 (or 4) values cut from one random word is kept with probability 1 - p."""
    torch.manual_seed(0)
    n = 400_000
    mask = dropout_mask((n,), p)
    assert mask.dtype == torch.uint8 and set(mask.unique().tolist()) <= {0, 1}
    lanes = 8 if p in (0.25, 0.5) else 4
    per_lane = mask.view(-1, lanes).float().mean(0)
    # Binomial standard deviation per lane is below 0.0016 here: 0.01 is over 6 sigma.
    assert torch.all((per_lane - (1 - p)).abs() < 0.01), per_lane
    assert abs(dropout_keep_probability(p) - (1 - p)) < 1e-5


def test_dropout_mask_is_reproducible_and_shaped():
    torch.manual_seed(3)
    a = dropout_mask((7, 5, 3), 0.25)
    torch.manual_seed(3)
    b = dropout_mask((7, 5, 3), 0.25)
    assert a.shape == (7, 5, 3) and torch.equal(a, b)
    assert not torch.equal(a, dropout_mask((7, 5, 3), 0.25))


def test_cheap_dropout_scales_kept_values_and_is_identity_in_eval():
    torch.manual_seed(0)
    x = torch.rand(200, 1000) + 0.5
    y = cheap_dropout(x, 0.25)
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] / 0.75)
    assert abs(kept.float().mean().item() - 0.75) < 0.005
    assert abs(y.mean().item() / x.mean().item() - 1) < 0.01  # inverted dropout: same mean
    assert cheap_dropout(x, 0.25, training=False) is x
    assert cheap_dropout(x, 0.0) is x


def test_bn_relu_dropout_equals_reference_in_train_mode():
    """Same mask (same seed) as relu(bn(x)) * mask / keep; same gradients and running stats."""
    torch.manual_seed(0)
    bn_ref = torch.nn.BatchNorm1d(8, momentum=0.3)
    bn_ref.weight.data.uniform_(0.5, 1.5)
    bn_ref.bias.data.normal_(0, 0.5)
    bn = torch.nn.BatchNorm1d(8, momentum=0.3)
    bn.load_state_dict(bn_ref.state_dict())
    x = torch.randn(16, 8, 30, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    torch.manual_seed(1)
    got = bn_relu_dropout(x, bn, 0.25, training=True)
    torch.manual_seed(1)
    mask = dropout_mask(x.shape, 0.25).float()
    expected = F.relu(bn_ref(x_ref)) * mask / 0.75
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    grad = torch.randn_like(got)
    got.backward(grad)
    expected.backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(bn.weight.grad, bn_ref.weight.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(bn.bias.grad, bn_ref.bias.grad, atol=1e-4, rtol=1e-4)
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(bn, key), getattr(bn_ref, key))


def test_bn_relu_dropout_in_eval_mode_is_relu_bn():
    bn = torch.nn.BatchNorm1d(4).eval()
    bn.running_mean.normal_()
    x = torch.randn(3, 4, 10)
    torch.testing.assert_close(bn_relu_dropout(x, bn, 0.25, training=False), F.relu(bn(x)))


def test_network_dropout_rate_in_training_mode():
    """A hidden layer zeroes ReLU's ~half plus p of the rest in train mode; eval: deterministic."""
    net = TemporalConvNet(17, 2, 17, (3, 3), channels=256, dropout=0.25).train()
    torch.manual_seed(0)
    x = torch.randn(64, 9, 17, 2)
    hidden = net._layer(net.expand_conv, net.expand_bn, net._to_channels(x))
    assert abs((hidden == 0).float().mean().item() - (0.5 + 0.5 * 0.25)) < 0.03
    assert not torch.equal(net.forward_strided(x), net.forward_strided(x))
    net.eval()
    assert torch.equal(net.forward_strided(x), net.forward_strided(x))
    no_dropout = TemporalConvNet(17, 2, 17, (3, 3), channels=32, dropout=0.0).train()
    assert torch.equal(no_dropout.forward_strided(x), no_dropout.forward_strided(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_onednn_linear_value_and_gradients_match_f_linear(dtype):
    torch.manual_seed(0)
    x = torch.randn(37, 24, dtype=dtype, requires_grad=True)
    w = torch.randn(11, 24, dtype=dtype, requires_grad=True)
    grad = torch.randn(37, 11, dtype=dtype)
    out = onednn_linear(x, w)
    got = torch.autograd.grad(out, (x, w), grad)
    ref = torch.autograd.grad(F.linear(x, w), (x, w), grad)
    tol = dict(atol=1e-4, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-12, rtol=0)
    torch.testing.assert_close(out, F.linear(x, w), **tol)
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b, **tol)
    # Only the weight needs a gradient (the first layer's input): no input gradient computed.
    (gw,) = torch.autograd.grad(onednn_linear(x.detach(), w), (w,), grad)
    torch.testing.assert_close(gw, ref[1], **tol)


@pytest.mark.parametrize("causal", [False, True])
def test_strided_form_gradients_equal_dilated_form_gradients(causal):
    """Training through the strided form moves the weights as the dilated form would."""
    net = _net((3, 3, 3), causal=causal, channels=32)
    clips = torch.randn(6, net.receptive_field, 17, 2)
    target = torch.randn(6, 1, 16, 3)
    grads = []
    for forward in (net.forward_strided, net.forward):
        net.zero_grad()
        ((forward(clips) - target) ** 2).mean().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for strided, dilated in zip(*grads):
        torch.testing.assert_close(strided, dilated, atol=1e-5, rtol=1e-4)


def test_speed_benchmark_quick_smoke(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--quick", "--rounds", "1"]
    done = subprocess.run(
        [*cmd, "--output", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "speed.json").read_text())
    assert results["quick"] is True and results["machine"]["torch"] == torch.__version__
    assert {t["target"] for t in results["targets"]} and "cpu" in results["machine"]
    fps = results["predict"]["frames_per_s"]
    assert fps["TemporalPoseLifter fp32"]["median"] > 0
    assert results["predict"]["plain_vs_lifter_max_abs_m"] < 1e-5
    assert results["memory"]["max_abs_difference_m"] < 1e-5
    assert results["gpu"]["available"] == torch.cuda.is_available()
    assert "## Targets" in (tmp_path / "speed.md").read_text()


@pytest.mark.parametrize("by_mm", [False, True])
def test_onednn_linear_weight_gradient_equals_f_linear_on_both_paths(monkeypatch, by_mm):
    """The weight gradient through torch.mm on the transposed views (AVX2 CPUs) or through
    oneDNN on transposed copies (AVX-512): both equal F.linear's."""
    monkeypatch.setattr(products, "_GRAD_WEIGHT_BY_MM", by_mm)
    torch.manual_seed(0)
    x = torch.randn(300, 40, requires_grad=True)
    w = torch.randn(24, 40, requires_grad=True)
    grad = torch.randn(300, 24)
    got = torch.autograd.grad(onednn_linear(x, w), (x, w), grad)
    ref = torch.autograd.grad(F.linear(x, w), (x, w), grad)
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_relu_dropout_gradient_is_grad_times_mask_where_relu_passes():
    """The in-place ReLU x mask and its one-op backward, against a slow written-out gradient:
    d out / d z = keep * (z > 0), so the gradient is grad there and 0 elsewhere."""
    torch.manual_seed(0)
    z0 = torch.randn(50, 12, dtype=torch.float64)
    keep = torch.rand(50, 12) < 0.75
    z = z0.clone().requires_grad_(True)
    out = dropout._ReluDropout.apply(z * 1.0, keep)  # a non-leaf, as a BatchNorm output is
    grad = torch.randn_like(out)
    (got,) = torch.autograd.grad(out, (z,), grad)
    expected_out = torch.zeros_like(z0)
    expected_grad = torch.zeros_like(z0)
    for i in range(50):
        for j in range(12):
            if keep[i, j] and z0[i, j] > 0:
                expected_out[i, j], expected_grad[i, j] = z0[i, j], grad[i, j]
    torch.testing.assert_close(out.detach(), expected_out, atol=0, rtol=0)
    torch.testing.assert_close(got, expected_grad, atol=0, rtol=0)


@pytest.mark.parametrize("use", ["both", "product", "kept"])
def test_window_linear_values_and_gradients_equal_the_plain_ops(use):
    """One op for a window layer's product and its residual's rows: values and gradients
    equal those of the view, matmul and slice it replaces, whichever outputs are used."""
    torch.manual_seed(0)
    rows = torch.randn(5 * 3, 8, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(6, 3 * 8, dtype=torch.float64, requires_grad=True)
    g_out, g_kept = torch.randn(5, 6, dtype=torch.float64), torch.randn(5, 8, dtype=torch.float64)
    got = products.window_linear(rows, weight, 3, 2)
    ref = (rows.view(5, 24) @ weight.T, rows.view(5, 3, 8)[:, 2])
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)

    def loss(outputs):
        out, kept = outputs
        return {"both": (out * g_out).sum() + (kept * g_kept).sum(),
                "product": (out * g_out).sum(), "kept": (kept * g_kept).sum()}[use]  # fmt: skip

    grads = torch.autograd.grad(loss(got), (rows, weight))
    expected = torch.autograd.grad(loss(ref), (rows, weight), allow_unused=True)
    for a, b, x in zip(grads, expected, (rows, weight)):
        torch.testing.assert_close(a, torch.zeros_like(x) if b is None else b, atol=1e-12, rtol=0)
