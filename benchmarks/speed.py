"""Speed and scale benchmark: inference, reduced precision, training, memory, GPU, hooks.

Every comparison is measured side by side in one run: the contenders of a section alternate in
rounds (their order rotates each round) and the report gives medians of the per-round ratios,
because absolute times on shared CPUs drift by ±30% or more.

Sections (full mode; ``--quick`` shrinks every size for a smoke test):

- **predict**: the paper's 243-frame model (widths 3,3,3,3,3; 1024 channels; 17 joints) on one
  20,000-frame video, fp32, no test-time flip. ``TemporalPoseLifter.predict`` against a plain
  PyTorch network written below (``nn.Conv1d`` → ``BatchNorm1d`` → ``ReLU`` → ``Dropout``, one
  pass over the edge-padded video) with the same weights; also the unfused ``TemporalConvNet``,
  bf16 (``precision="bfloat16"``), the earlier bf16 autocast path, and fp32/bf16 ``torch.mm``
  and oneDNN matmul on square matrices (the best rate is the roofline next to the achieved
  FLOP/s, counted as frames/s × 33.87 MFLOPs per frame, the paper's Table 5).
- **accuracy of bf16**: MPJPE (mm) of the accuracy benchmark's 27-frame model (its protocol,
  ``_protocol.TRAINING``) on the held-out views in fp32 and bf16.
- **training**: samples/s of one Amsgrad step (forward, MPJPE, backward) of the strided
  one-frame form (at the lifter's default batch 256, and at 32) against the dilated form on
  243-frame clips (batch 32: its per-sample rate does not grow with the batch), and the step
  time with ``nn.Dropout`` (the earlier implementation) against the current cheaper dropout.
- **memory**: in a subprocess, RSS high-water mark of ``predict`` (defaults: test-time flip,
  ``chunk_frames=10000``) on a 180,000-frame video above the RSS after model load and input
  creation; then the no-flip prediction against a one-shot pass of the unfused network.
- **GPU** rows when CUDA is present; **hooks**: the semi-supervised step's cost per labeled
  sample and streaming latency, when those modules exist.

Run ``python benchmarks/speed.py`` (about 20-30 minutes on 2 busy cores) to rewrite
``benchmarks/results/speed.{json,md}``; ``--quick`` (well under a minute) writes to a temporary
directory or ``--output``; ``--threads N`` sets torch's CPU threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import skpose3d
from skpose3d import TemporalPoseLifter
from skpose3d.nn.inference import pad_edges, predict_sequence
from skpose3d.nn.products import onednn_supports
from skpose3d.nn.temporal import TemporalConvNet

RESULTS = Path(__file__).resolve().parent / "results"
FLOPS_PER_FRAME_243 = 33.87e6  # paper, Table 5 (matrix multiplies of the 243-frame model)
FULL = dict(
    widths=(3, 3, 3, 3, 3),
    channels=1024,
    frames=20_000,
    rounds=5,
    train_batch=32,
    mm_size=2048,
    memory_frames=180_000,
    dropout_channels=256,
    dropout_batch=256,
)
QUICK = dict(
    widths=(3, 3, 3),
    channels=64,
    frames=2_000,
    rounds=2,
    train_batch=8,
    mm_size=256,
    memory_frames=18_000,
    dropout_channels=32,
    dropout_batch=32,
)
SECTIONS = ["predict", "precision", "training", "memory", "gpu", "semi_supervised", "streaming"]
_FPS = ("predict", "frames_per_s")
TARGETS = [  # (label, path in the results, comparison, goal)
    ("predict fp32: lifter / plain PyTorch",
     (*_FPS, "TemporalPoseLifter fp32", "ratio_vs_plain PyTorch fp32"), ">=", 1.0),
    ("predict bf16 / fp32 (lifter)",
     (*_FPS, "TemporalPoseLifter bf16", "ratio_vs_lifter_fp32"), ">=", 2.5),
    ("bf16 MPJPE change (mm)", ("precision", "mpjpe_change_mm"), "<=", 0.5),
    ("training: strided / dilated samples/s",
     ("training", "strided_vs_dilated"), ">=", 10.0),
    ("predict peak memory above baseline (MB)", ("memory", "peak_above_baseline_mb"), "<=", 1024),
    ("chunked vs one-shot max abs diff (m)", ("memory", "max_abs_difference_m"), "<=", 1e-5),
]  # fmt: skip


# -- timing ---------------------------------------------------------------------------------------


def alternate(contenders: dict, rounds: int) -> dict:
    """Time each ``name: fn`` once per round, rotating the order; ``fn()`` returns the work done.

    Returns ``{name: [work per second in each round]}``.
    """
    names, rates = list(contenders), {name: [] for name in contenders}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            work = contenders[name]()
            rates[name].append(work / (time.perf_counter() - start))
    return rates


def summary(rates: dict, reference: str | None = None) -> dict:
    """Median/min/max per contender and, against ``reference``, the median per-round ratio."""
    out = {}
    for name, values in rates.items():
        row = {"median": statistics.median(values), "min": min(values), "max": max(values)}
        if reference is not None:
            ratios = [a / b for a, b in zip(values, rates[reference])]
            row["ratio_vs_" + reference] = statistics.median(ratios)
        out[name] = row
    return out


# -- the plain network ----------------------------------------------------------------------------


class PlainTemporalConvNet(nn.Module):
    """The paper's network written the obvious way, without any speed-up.

    ``nn.Conv1d`` → ``nn.BatchNorm1d`` → ``nn.ReLU`` → ``nn.Dropout`` layers, dilated block
    convolutions, residuals sliced symmetrically, input ``(batch, joints * 2, frames)``.
    """

    def __init__(self, n_in, n_out, widths, channels, dropout=0.25):
        super().__init__()

        def layer(c_in, width, dilation=1):
            conv = nn.Conv1d(c_in, channels, width, dilation=dilation, bias=False)
            return [conv, nn.BatchNorm1d(channels), nn.ReLU(), nn.Dropout(dropout)]

        self.expand = nn.Sequential(*layer(n_in, widths[0]))
        self.blocks, self.pads, dilation = nn.ModuleList(), [], widths[0]
        for width in widths[1:]:
            self.blocks.append(
                nn.Sequential(*layer(channels, width, dilation), *layer(channels, 1))
            )
            self.pads.append((width - 1) * dilation // 2)
            dilation *= width
        self.shrink = nn.Conv1d(channels, n_out, 1)

    def forward(self, x):
        x = self.expand(x)
        for block, pad in zip(self.blocks, self.pads):
            x = x[:, :, pad : x.shape[2] - pad] + block(x)
        return self.shrink(x)

    def load_from(self, net: TemporalConvNet) -> PlainTemporalConvNet:
        """Copy the weights and BatchNorm statistics of a (non-causal) TemporalConvNet."""
        convs = [self.expand[0]] + [b[i] for b in self.blocks for i in (0, 4)]
        bns = [self.expand[1]] + [b[i] for b in self.blocks for i in (1, 5)]
        for mine, theirs in zip(
            convs + bns, [net.expand_conv, *net.block_convs] + [net.expand_bn, *net.block_bns]
        ):
            mine.load_state_dict(theirs.state_dict())
        self.shrink.load_state_dict(net.shrink.state_dict())
        return self


def plain_predict(plain: PlainTemporalConvNet, video: np.ndarray, pad: int) -> np.ndarray:
    """Root-relative poses of one video: edge padding, one pass, as a user would write it."""
    with torch.no_grad():
        x = pad_edges(torch.from_numpy(video), pad, pad).flatten(1).T[None]
        pose = plain(x)[0].T.unflatten(1, (-1, 3))
        return (pose - pose[:, :1]).numpy()


def paper_lifter(widths, channels, seed=0) -> TemporalPoseLifter:
    """A lifter with the requested network, fitted for one step on random data (speed only)."""
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(64, 17, 2)).astype(np.float32)]
    y = [rng.normal(size=(64, 17, 3)).astype(np.float32)]
    lifter = TemporalPoseLifter(
        filter_widths=widths,
        channels=channels,
        n_epochs=1,
        batch_size=64,
        test_time_flip=False,
        device="cpu",
        random_state=seed,
    )
    return lifter.fit(X, y)


def smooth_video(frames, seed=0) -> np.ndarray:
    """Smoothly moving random keypoints in normalised screen units, float32."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(scale=0.01, size=(frames, 17, 2)), axis=0)
    return (0.3 * np.tanh(walk) + rng.normal(scale=0.2, size=(1, 17, 2))).astype(np.float32)


# -- sections -------------------------------------------------------------------------------------


def mm_contenders(n: int) -> dict:
    """torch.mm (MKL for fp32 here) and oneDNN's matmul, the library our convolutions use."""
    onednn = getattr(torch.ops.mkldnn, "_linear_pointwise", None)
    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        name = str(dtype)[6:]
        out[f"torch.mm {name}"] = lambda a=a, b=b: (torch.mm(a, b), 2 * n**3)[1]
        if onednn is not None and onednn_supports(dtype):  # bf16 needs AVX-512 or AVX-NE-CONVERT
            out[f"oneDNN matmul {name}"] = lambda a=a, b=b: (
                onednn(a, b, None, "none", [], ""),
                2 * n**3,
            )[1]
    return out


def flops_per_frame(widths, channels, joints_in=17, joints_out=17) -> float:
    """Multiply-add FLOPs (2 per MAC) of the dilated form per output frame."""
    macs = joints_in * 2 * widths[0] * channels + joints_out * 3 * channels
    macs += sum(w * channels * channels + channels * channels for w in widths[1:])
    return 2.0 * macs


def predict_section(cfg, rounds) -> dict:
    lifter = paper_lifter(cfg["widths"], cfg["channels"])
    module = lifter.module_.eval()
    plain = PlainTemporalConvNet(34, 51, cfg["widths"], cfg["channels"]).load_from(module).eval()
    video, n = smooth_video(cfg["frames"]), cfg["frames"]
    bf16 = TemporalPoseLifter(**{**lifter.get_params(), "precision": "bfloat16"})
    bf16.__dict__.update({k: v for k, v in lifter.__dict__.items() if k.endswith("_")})
    x = torch.from_numpy(video)

    def autocast_bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            predict_sequence(module, x, lifter.chunk_frames)
        return n

    contenders = {
        "plain PyTorch fp32": lambda: (plain_predict(plain, video, module.pad), n)[1],
        "TemporalPoseLifter fp32": lambda: (lifter.predict(video), n)[1],
        "TemporalConvNet unfused fp32": lambda: (predict_sequence(module, x), n)[1],
        "TemporalPoseLifter bf16": lambda: (bf16.predict(video), n)[1],
        "unfused bf16 autocast (earlier)": autocast_bf16,
        **mm_contenders(cfg["mm_size"]),
    }
    for fn in contenders.values():  # warm-up: one-off allocations and oneDNN kernel choice
        fn()
    rates = alternate(contenders, rounds)
    is_mm = lambda name: "mm" in name or "matmul" in name  # noqa: E731
    rows = summary({k: v for k, v in rates.items() if not is_mm(k)}, "plain PyTorch fp32")
    for name, row in rows.items():
        fp32 = rates["TemporalPoseLifter fp32"]
        row["ratio_vs_lifter_fp32"] = statistics.median(a / b for a, b in zip(rates[name], fp32))
        row["gflops"] = row["median"] * flops_per_frame(cfg["widths"], cfg["channels"]) / 1e9
    mm = summary({k: v for k, v in rates.items() if is_mm(k)})
    exact = np.abs(lifter.predict(video) - plain_predict(plain, video, module.pad)).max()
    return {
        "frames_per_s": rows,
        "matmul_flops": mm,
        "plain_vs_lifter_max_abs_m": float(exact),
        "flops_per_frame": flops_per_frame(cfg["widths"], cfg["channels"]),
        "paper_flops_per_frame_243": FLOPS_PER_FRAME_243,
        "video_frames": n,
    }


def precision_section(quick: bool) -> dict:
    """MPJPE change of bf16 on the accuracy benchmark's 27-frame model (its protocol)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _protocol import QUICK_TRAINING, SEED, TRAINING

    from skpose3d.demo import cmu_split, evaluate

    limits = dict(max_clips=1, max_frames=90) if quick else {}
    train, test = cmu_split(seed=SEED, **limits)
    settings = QUICK_TRAINING if quick else TRAINING
    lifter = TemporalPoseLifter(
        filter_widths=(3, 3, 3), random_state=SEED, device="cpu", **settings
    ).fit(train.X, train.poses_3d)
    out = {"model": f"27 frames, {settings}", "test_frames": int(sum(map(len, test.X)))}
    preds = {}
    for precision in ("float32", "bfloat16"):
        preds[precision] = lifter.set_params(precision=precision).predict(test.X)
        out[precision] = evaluate(test.poses_3d, preds[precision])
    diff = [np.abs(a - b).max() for a, b in zip(preds["float32"], preds["bfloat16"])]
    out["mpjpe_change_mm"] = out["bfloat16"]["mpjpe_mm"] - out["float32"]["mpjpe_mm"]
    out["max_abs_pose_difference_mm"] = 1000 * float(max(diff))
    return out


class NNDropoutNet(TemporalConvNet):
    """TemporalConvNet with the earlier activation: ``nn.Dropout`` after ReLU (the reference)."""

    def _activate(self, bn, x):
        return self.dropout(F.relu(bn(x)))


class Conv1dStridedNet(TemporalConvNet):
    """TemporalConvNet with the earlier strided form: ``conv1d(stride=width)`` on
    ``(batch, channels, frames)`` instead of matrix products on frame rows (the reference)."""

    def forward_strided(self, x):
        widths, convs, bns = self.filter_widths, self.block_convs, self.block_bns
        conv = lambda i, h, w: self._activate(bns[i], F.conv1d(h, convs[i].weight, stride=w))  # noqa: E731
        h = F.conv1d(self._to_channels(x), self.expand_conv.weight, stride=widths[0])
        h = self._activate(self.expand_bn, h)
        for i, width in enumerate(widths[1:]):
            res = h[:, :, (width - 1 if self.causal else width // 2) :: width]
            h = res + conv(2 * i + 1, conv(2 * i, h, width), 1)
        return self._to_joints(self.shrink(h))


def _trainer(net, batch, form):
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, amsgrad=True)
    x, y = torch.randn(batch, net.receptive_field, 17, 2), torch.randn(batch, 17, 3)
    forward = net.forward_strided if form == "strided" else net.forward

    def step():
        pred = forward(x)[:, 0]
        loss = torch.linalg.vector_norm(pred - pred[:, :1] - y, dim=-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return batch

    return step


def training_section(cfg, rounds) -> dict:
    """Strided vs dilated form (per-sample rate), and the dropout step time before/after."""
    widths, small, large = cfg["widths"], cfg["train_batch"], cfg["dropout_batch"]
    make = lambda cls, c, p=0.25: cls(17, 2, 17, widths, c, p).train()  # noqa: E731
    channels = cfg["channels"]
    forms = {
        f"strided, batch {large}": _trainer(make(TemporalConvNet, channels), large, "strided"),
        f"strided conv1d (earlier), batch {large}": _trainer(
            make(Conv1dStridedNet, channels), large, "strided"
        ),
        f"strided, batch {small}": _trainer(make(TemporalConvNet, channels), small, "strided"),
        f"dilated, batch {small}": _trainer(make(TemporalConvNet, channels), small, "dilated"),
    }
    c = cfg["dropout_channels"]
    dropout = {
        f"nn.Dropout, {c} ch": _trainer(make(NNDropoutNet, c), large, "strided"),
        f"cheap dropout, {c} ch": _trainer(make(TemporalConvNet, c), large, "strided"),
        f"no dropout (p=0), {c} ch": _trainer(make(TemporalConvNet, c, 0.0), large, "strided"),
    }
    for fn in [*forms.values(), *dropout.values()]:
        fn()
    out = {"samples_per_s": summary(alternate(forms, rounds), f"dilated, batch {small}")}
    out["strided_vs_dilated"] = out["samples_per_s"][f"strided, batch {large}"][
        f"ratio_vs_dilated, batch {small}"
    ]
    out["dropout_steps_per_s"] = summary(alternate(dropout, rounds), f"nn.Dropout, {c} ch")
    steps = out["dropout_steps_per_s"]
    out["dropout_step_ms"] = {k: large / v["median"] * 1e3 for k, v in steps.items()}
    out["settings"] = (
        f"one Amsgrad step (forward, MPJPE, backward) on {int(np.prod(widths))}-frame clips, "
        f"{channels} channels; the strided form at the lifter's default batch ({large}) and at "
        f"{small}; the dilated form at {small} (its samples/s no longer grows with the batch: "
        f"{small} clips already give GEMMs of {small * (int(np.prod(widths)) - 2)} rows); "
        f"dropout rows: strided form, batch {large}"
    )
    return out


def memory_child(frames, widths, channels, threads) -> dict:
    """Run in a subprocess: peak RSS of predict above the post-load baseline, and exactness."""
    torch.set_num_threads(threads)
    lifter = paper_lifter(widths, channels).set_params(test_time_flip=True, chunk_frames=10_000)
    video = smooth_video(frames)
    status = lambda key: int(Path("/proc/self/status").read_text().split(key + ":")[1].split()[0])  # noqa: E731
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    baseline = status("VmRSS")
    start = time.perf_counter()
    lifter.predict(video)
    seconds = time.perf_counter() - start
    out = {
        "frames": frames,
        "baseline_mb": baseline / 1024,
        "seconds": seconds,
        "peak_above_baseline_mb": (status("VmHWM") - baseline) / 1024,
        "settings": "test_time_flip=True, chunk_frames=10000, float32",
    }
    chunked = lifter.set_params(test_time_flip=False).predict(video)
    Path("/proc/self/clear_refs").write_text("5")
    before = status("VmRSS")
    one_shot = predict_sequence(lifter.module_.eval(), torch.from_numpy(video), frames)
    out["one_shot_peak_above_baseline_mb"] = (status("VmHWM") - before) / 1024
    one_shot = (one_shot - one_shot[:, :1]).numpy()
    out["max_abs_difference_m"] = float(np.abs(chunked - one_shot).max())
    out["compared"] = (
        "predict(test_time_flip=False) vs predict_sequence(unfused module, "
        "chunk_frames=n_frames) on the whole video, root-relative"
    )
    return out


def memory_section(cfg, threads) -> dict:
    args = [cfg["memory_frames"], list(cfg["widths"]), cfg["channels"], threads]
    cmd = [sys.executable, __file__, "--memory-child", json.dumps(args)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"error": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def gpu_section(cfg, rounds) -> dict:
    if not torch.cuda.is_available():
        return {"available": False, "note": "no CUDA device on this machine"}
    lifter = paper_lifter(cfg["widths"], cfg["channels"]).set_params(device="cuda")
    video, n = smooth_video(cfg["frames"]), cfg["frames"]

    def run(precision):
        lifter.set_params(precision=precision).predict(video)
        torch.cuda.synchronize()
        return n

    contenders = {f"predict {p}": lambda p=p: run(p) for p in ("float32", "float16", "bfloat16")}
    for fn in contenders.values():
        fn()
    rates = summary(alternate(contenders, rounds), "predict float32")
    return {
        "available": True,
        "device": torch.cuda.get_device_name(),
        "frames_per_s": rates,
        "paper": "about 150,000 frames/s on one NVIDIA GP100 (one long video)",
    }


def semi_supervised_hook(quick: bool, rounds: int) -> dict | None:
    """Cost per labeled sample of a SemiSupervisedLifter epoch vs a supervised epoch."""
    try:
        from skpose3d import SemiSupervisedLifter, UnlabeledVideos
        from skpose3d.demo import cmu_split
    except ImportError:
        return None
    train, _ = cmu_split(seed=0, max_clips=1, max_frames=60 if quick else 600)
    labeled = train.subjects == train.subjects[0]
    pick = lambda seq, keep: [v for v, k in zip(seq, keep) if k]  # noqa: E731
    X, y = pick(train.X, labeled), pick(train.poses_3d, labeled)
    unl = UnlabeledVideos(pick(train.X, ~labeled), intrinsics=pick(train.intrinsics, ~labeled))
    common = dict(channels=16 if quick else 256, batch_size=256, device="cpu", random_state=0)
    n_labeled = sum(map(len, X))

    def supervised():
        lifter = TemporalPoseLifter(n_epochs=1, **common).fit(X, y)
        return n_labeled / lifter.history_[-1]["seconds"]

    def semi():
        lifter = SemiSupervisedLifter(n_epochs=2, warmup_epochs=1, **common)
        return n_labeled / lifter.fit(X, y, X2d_unlabeled=unl).history_[-1]["seconds"]

    rates = {"supervised": [], "semi-supervised": []}
    for _ in range(rounds):
        rates["supervised"].append(supervised())
        rates["semi-supervised"].append(semi())
    rows = summary(rates, "supervised")
    ms = {k: 1e3 / v["median"] for k, v in rows.items()}
    return {
        "labeled_samples_per_s": rows,
        "ms_per_labeled_sample": ms,
        "settings": {**common, "labeled_frames": n_labeled, "widths": (3, 3, 3)},
    }


def streaming_hook(cfg) -> dict | None:
    """Per-frame latency (median, p99) of the streaming causal lifter, if it exists."""
    try:
        from skpose3d.streaming import benchmark_latency
    except ImportError:
        return None
    n, warm = (20, 2) if cfg is QUICK else (300, 30)
    return benchmark_latency(cfg["widths"], cfg["channels"], n_frames=n, warmup=warm)


# -- report ---------------------------------------------------------------------------------------


def _git_state() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from _protocol import _git_state as state
    except ImportError:
        return "unknown"
    return state()


def machine(threads) -> dict:
    cpuinfo = Path("/proc/cpuinfo")
    models = (
        [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        if cpuinfo.exists()
        else []
    )
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    return {
        "cpu": models[0] if models else platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "torch": torch.__version__,
        "avx512_bf16": "avx512_bf16" in flags,
        "python": platform.python_version(),
        "skpose3d": skpose3d.__version__,
        "platform": platform.platform(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "git": _git_state(),
    }


def _at(results: dict, path: tuple):
    for key in path:
        results = results.get(key, {}) if isinstance(results, dict) else {}
    return results if isinstance(results, (int, float)) else float("nan")


def targets(r: dict) -> list[dict]:
    """Each target of TARGETS with its measured value and whether it is met (NaN: not met)."""
    out = []
    for label, path, op, goal in TARGETS:
        value = _at(r, path)
        value = abs(value) if "change" in label else value
        met = value >= goal if op == ">=" else value <= goal
        out.append({"target": label, "goal": f"{op} {goal:g}", "measured": value, "met": met})
    return out


def _render(value) -> list[str]:
    """A dict of dicts as a markdown table, other dicts as a list of ``key: value`` lines."""
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    if not isinstance(value, dict):
        return [fmt(value)]
    is_table = lambda v: isinstance(v, dict) and v and all(isinstance(r, dict) for r in v.values())  # noqa: E731
    tables = {k: v for k, v in value.items() if is_table(v)}
    lines = []
    for key, item in value.items():
        if isinstance(item, dict) and key not in tables:
            lines.append(f"- {key}: " + ", ".join(f"{k} {fmt(v)}" for k, v in item.items()))
        elif key not in tables:
            lines.append(f"- {key}: {fmt(item)}")
    for name, rows in tables.items():
        columns = list(dict.fromkeys(c for row in rows.values() for c in row))
        lines += ["", f"{name}:", "", "| | " + " | ".join(columns) + " |"]
        lines.append("|---" * (len(columns) + 1) + "|")
        for row_name, row in rows.items():
            lines.append(
                f"| {row_name} | " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |"
            )
    return lines


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"# Speed benchmark{' (quick)' if r['quick'] else ''}",
        "",
        f"Machine: {m['cpu']}, {m['cpu_count']} CPUs, torch {m['torch']}, {m['torch_threads']} "
        f"torch threads, CUDA: {m['cuda']}. Load average (1 min) at start / end: "
        f"{r['load_average'][0]} / {r['load_average'][1]} (a shared machine). Medians of "
        f"{r['config']['rounds']} alternating rounds; ratios are medians of per-round ratios.",
        "",
        "## Targets",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for t in r["targets"]:
        met = "yes" if t["met"] else "**no**"
        lines.append(f"| {t['target']} | {t['goal']} | {t['measured']:.4g} | {met} |")
    for key in SECTIONS:
        lines += ["", f"## {key}", ""] + _render(r[key] if r[key] is not None else "not available")
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--output", type=Path, default=None, help="results directory")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.memory_child is not None:
        print(json.dumps(memory_child(*json.loads(args.memory_child))))
        return 0
    torch.set_num_threads(args.threads)
    cfg = QUICK if args.quick else FULL
    rounds = args.rounds or cfg["rounds"]
    start, load = time.perf_counter(), [os.getloadavg()[0]]
    r = {"quick": args.quick, "machine": machine(args.threads), "config": {**cfg, "rounds": rounds}}
    for name, fn in [
        ("predict", lambda: predict_section(cfg, rounds)),
        ("precision", lambda: precision_section(args.quick)),
        ("training", lambda: training_section(cfg, rounds)),
        ("memory", lambda: memory_section(cfg, args.threads)),
        ("gpu", lambda: gpu_section(cfg, rounds)),
        ("semi_supervised", lambda: semi_supervised_hook(args.quick, min(rounds, 3))),
        ("streaming", lambda: streaming_hook(cfg)),
    ]:
        print(f"[{name}] ...", file=sys.stderr, flush=True)
        r[name] = fn()
    r["load_average"] = [round(v, 2) for v in (*load, os.getloadavg()[0])]
    r["targets"] = targets(r)
    r["total_seconds"] = time.perf_counter() - start
    out = args.output or (Path(tempfile.mkdtemp(prefix="speed_")) if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(r)
    (out / "speed.json").write_text(json.dumps(r, indent=1, default=float) + "\n")
    (out / "speed.md").write_text(text)
    print(text)
    print(f"wrote {out / 'speed.json'} and {out / 'speed.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
