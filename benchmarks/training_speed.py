"""Training throughput of ``TemporalPoseLifter.fit`` against the plain reference loop (issue 12).

- **throughput:** samples/s of one ``fit`` epoch (``history_[0]["seconds"]``: the epoch loop,
  without building the clip bank and the network) against ``ReferenceTrainer.train_epoch``
  (``reference_trainer.py``) on the same number of samples, timed alternately in rounds (order
  rotated each round) in one run; medians and the median of the per-round ratios. Models: 27
  frames x 256 channels and 243 frames x 1024 channels, batch 1024, random smooth keypoints,
  flip augmentation on (the package mirrors a random half of each batch, the reference mirrors
  the pairs it draws), with 2 and 1 torch threads. GFLOP/s counts the strided form's multiply-adds
  (2 FLOPs each) per sample times 3 (forward, input and weight gradients), beside this CPU's fp32
  ``torch.mm`` rate on 2048 x 2048 matrices measured in the same run (``speed.mm_contenders``).
- **profile:** one package training step at 27 x 256, batch 1024: (a) torch.profiler over a
  whole ``fit`` epoch, self CPU time per op and per category in ms per step; (b) the step
  replayed section by section (clip gather, flip, forward, loss, zero_grad, backward, Amsgrad
  step, ``float(loss)``) with the lifter's own network, timed with ``perf_counter``.

``python benchmarks/training_speed.py`` rewrites ``results/training_speed.{json,md}``;
``--quick`` is a smoke test (tiny sizes, temporary directory unless ``--output``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _protocol import machine, thread_params  # noqa: E402
from reference_trainer import ReferenceNet, ReferenceTrainer, flip_permutation  # noqa: E402
from speed import alternate, mm_contenders, smooth_video, summary  # noqa: E402

from skpose3d import TemporalPoseLifter  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# configs: label -> (filter widths, channels, steps per measurement, rounds, warm-up call,
# thread counts). 243 x 1024 costs ~1 GFLOP per sample: one step per measurement, no warm-up
# call, 2 threads only (on the shared 2-core machine of the last run 1 thread did not fit in time).
FULL = dict(
    configs={
        "27 frames x 256": ((3, 3, 3), 256, 16, 3, True, (2, 1)),
        "243 frames x 1024": ((3,) * 5, 1024, 1, 2, False, (2,)),
    },
    batch=1024,
    threads=(2, 1),
    mm_size=2048,
    profile_steps=12,
)
QUICK = dict(
    configs={
        "27 frames x 16": ((3, 3, 3), 16, 2, 2, True, (2, 1)),
        "81 frames x 32": ((3,) * 4, 32, 2, 2, True, (2,)),
    },
    batch=64,
    threads=(2, 1),
    mm_size=128,
    profile_steps=2,
)


def train_flops(widths, channels, joints_in=17, joints_out=17) -> float:
    """FLOPs per training sample of the strided form: 3 x forward (2 FLOPs per multiply-add)."""
    frames = math.prod(widths) // widths[0]
    macs = frames * joints_in * 2 * widths[0] * channels
    for w in widths[1:]:
        frames //= w
        macs += frames * (w + 1) * channels * channels
    macs += joints_out * 3 * channels
    return 3 * 2.0 * macs


def _data(n_frames, seed=0):
    x = smooth_video(n_frames, seed)
    y = np.cumsum(np.random.default_rng(seed).normal(scale=0.01, size=(n_frames, 17, 3)), 0).astype(
        np.float32
    )
    return [x], [y]


def contenders(widths, channels, n_steps, batch):
    """``{name: fn}``; each ``fn()`` trains ``n_steps`` batches and returns (samples, seconds)."""
    X, y = _data(n_steps * batch)
    wall = defaultdict(list)

    def package():
        lifter = TemporalPoseLifter(
            filter_widths=widths,
            channels=channels,
            n_epochs=1,
            batch_size=batch,
            device="cpu",
            random_state=0,
            **thread_params(torch.get_num_threads()),
        )
        start = time.perf_counter()
        lifter.fit(X, y)
        wall["TemporalPoseLifter.fit"].append(time.perf_counter() - start)
        return n_steps * batch, lifter.history_[0]["seconds"]

    ref = ReferenceTrainer(widths, channels, batch_size=batch, n_epochs=1)
    ref.perm_in = ref.perm_out = torch.from_numpy(flip_permutation(17))
    bank = ref._padded_bank(X, y)
    rng = np.random.default_rng(0)

    def reference():
        torch.manual_seed(0)
        ref.net = ReferenceNet(34, 51, widths, channels)
        ref.optimizer = torch.optim.Adam(ref.net.parameters(), lr=1e-3, amsgrad=True)
        row = ref.train_epoch(bank, 0, rng, max_batches=n_steps)
        return row["samples"], row["seconds"]

    return {"TemporalPoseLifter.fit": package, "reference loop": reference}, wall


def _rates(fns: dict, rounds: int) -> dict:
    """Like ``speed.alternate`` but with the time each contender reports for its own work."""
    names, rates = list(fns), {n: [] for n in fns}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples, seconds = fns[name]()
            rates[name].append(samples / seconds)
    return rates


def throughput(cfg) -> dict:
    out = {}
    for threads in cfg["threads"]:
        torch.set_num_threads(threads)
        mm = {k: v for k, v in mm_contenders(cfg["mm_size"]).items() if k == "torch.mm float32"}
        mm_rate = summary(alternate(mm, 3))["torch.mm float32"]["median"]
        for label, (widths, channels, steps, rounds, warm_up, counts) in cfg["configs"].items():
            if threads not in counts:
                continue
            fns, wall = contenders(widths, channels, steps, cfg["batch"])
            for fn in fns.values() if warm_up else ():  # allocations, oneDNN kernel choice
                fn()
            wall.clear()
            rows = summary(_rates(fns, cfg["rounds"] or rounds), "reference loop")
            # whole fit() call: also clip bank, network build, precise BN, final copies
            fit_seconds = statistics.median(wall["TemporalPoseLifter.fit"])
            rows["TemporalPoseLifter.fit"]["whole_fit_samples_per_s"] = (
                steps * cfg["batch"] / fit_seconds
            )
            flops = train_flops(widths, channels)
            for row in rows.values():
                row["gflops"] = row["median"] * flops / 1e9
                row["fraction_of_fp32_mm"] = row["median"] * flops / mm_rate
            out[f"{label}, {threads} thread{'s' * (threads > 1)}"] = {
                "samples_per_s": rows,
                "train_mflop_per_sample": flops / 1e6,
                "fp32_mm_gflops": mm_rate / 1e9,
                "steps_per_measurement": steps,
                "rounds": cfg["rounds"] or rounds,
                "warm_up_call": warm_up,
                "batch": cfg["batch"],
            }
            ratio = rows["TemporalPoseLifter.fit"]["ratio_vs_reference loop"]
            print(
                f"[throughput] {label}, {threads} threads: package/reference {ratio:.2f}",
                file=sys.stderr,
                flush=True,
            )
    return out


# -- profile ------------------------------------------------------------------------------------

KINDS = [  # (kind, substrings of op names), first match wins
    ("matmul", ("mkldnn", "linear", "addmm", "aten::mm", "aten::bmm", "matmul", "convolution")),
    ("BatchNorm", ("batch_norm",)),
    ("dropout mask", ("rand", "bernoulli", "uniform", "dropout")),
    ("gather/index/where", ("index", "gather", "where", "take")),
    ("host read (item)", ("item", "_local_scalar_dense")),
    ("copy/clone", ("copy_", "clone", "_to_copy")),
]
PHASES = [  # an op's phase: the first of these names among its ancestors
    ("backward", "autograd::engine::evaluate_function"),
    ("optimizer step", "Optimizer.step"),
    ("zero_grad", "Optimizer.zero_grad"),
]


def _kind(name: str) -> str:
    for kind, keys in KINDS:
        if any(k in name for k in keys):
            return kind
    return "other elementwise"


def _phase(event) -> str:
    node = event
    while node is not None:
        for phase, prefix in PHASES:
            if node.name.startswith(prefix):
                return phase
        node = node.cpu_parent
    return "forward, gather, flip, loss"


def profile_fit(widths, channels, steps, batch) -> dict:
    """torch.profiler over one fit epoch of ``steps`` batches: self CPU ms per step, by phase
    (forward / backward / optimizer, from each op's ancestors) and op kind."""
    from torch.profiler import ProfilerActivity, profile

    X, y = _data(steps * batch)

    def make():
        return TemporalPoseLifter(
            filter_widths=widths,
            channels=channels,
            n_epochs=1,
            batch_size=batch,
            device="cpu",
            random_state=0,
        )

    make().fit(X, y)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        lifter = make().fit(X, y)
    table = defaultdict(float)
    for event in prof.events():
        table[(_phase(event), _kind(event.name))] += event.self_cpu_time_total / 1e3 / steps
    phases = defaultdict(float)
    for (phase, _), ms in table.items():
        phases[phase] += ms
    ops = {e.key: e.self_cpu_time_total / 1e3 / steps for e in prof.key_averages()}
    top = sorted(ops.items(), key=lambda kv: -kv[1])[:20]
    return {
        "epoch_ms_per_step_under_profiler": lifter.history_[0]["seconds"] * 1e3 / steps,
        "self_ms_per_step_by_phase": dict(sorted(phases.items(), key=lambda kv: -kv[1])),
        "self_ms_per_step_by_phase_and_kind": {
            f"{p}: {k}": round(v, 3) for (p, k), v in sorted(table.items(), key=lambda kv: -kv[1])
        },
        "top_ops_self_ms_per_step": {k: round(v, 3) for k, v in top},
        "note": "self CPU time of ops (both threads' work counted once, as the ops run); the "
        "epoch also copies the state_dict once at its end (the 'copy/clone' rows)",
    }


def replay_step(widths, channels, steps, batch) -> dict:
    """The package's training step replayed section by section on its own fitted network."""
    from skpose3d.camera import flip_keypoints, flip_poses
    from skpose3d.nn.losses import mpjpe_loss

    X, y = _data(steps * batch + 64)
    lifter = TemporalPoseLifter(
        filter_widths=widths,
        channels=channels,
        n_epochs=1,
        batch_size=batch,
        device="cpu",
        random_state=0,
        **thread_params(torch.get_num_threads()),
    ).fit(X, y)
    net = lifter.module_.train()
    rf, pad = net.receptive_field, net.pad
    video = torch.from_numpy(X[0])
    padded = torch.cat([video[:1].expand(pad, -1, -1), video, video[-1:].expand(pad, -1, -1)])
    poses = torch.from_numpy(y[0])
    offsets = torch.arange(rf)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, amsgrad=True)
    rng = np.random.default_rng(0)
    times = defaultdict(list)
    clock = [0.0]

    def lap(name):  # time since the previous lap, booked to ``name``
        now = time.perf_counter()
        times[name].append((now - clock[0]) * 1e3)
        clock[0] = now

    for _ in range(steps + 2):  # the first two are warm-up
        ids = torch.from_numpy(rng.integers(0, len(video), batch))
        mask = torch.from_numpy(rng.random(batch) < 0.5)
        clock[0] = time.perf_counter()
        x, t = padded[ids[:, None] + offsets], poses[ids]
        lap("clip and target gather")
        x = torch.where(mask[:, None, None, None], flip_keypoints(x, "h36m"), x)
        t = torch.where(mask[:, None, None], flip_poses(t, "h36m"), t)
        lap("flip half (where)")
        pred = net.forward_strided(x)[:, 0]
        lap("forward (strided, BN, ReLU, dropout)")
        loss = mpjpe_loss(pred - pred[:, :1], t - t[:, :1])
        lap("loss")
        bool(torch.isfinite(loss))
        lap("isfinite check")
        optimizer.zero_grad(set_to_none=True)
        lap("zero_grad")
        loss.backward()
        lap("backward")
        optimizer.step()
        lap("Amsgrad step")
        float(loss.detach())
        lap("float(loss)")
    ms = {k: statistics.median(v[2:]) for k, v in times.items()}
    total = sum(ms.values())
    return {
        "ms_per_step": ms,
        "sum_ms": total,
        "share": {k: v / total for k, v in ms.items()},
        "fit_epoch_ms_per_step": lifter.history_[0]["seconds"] * 1e3 / steps,
        "forward_flops_per_sample": train_flops(widths, channels) / 3,
    }


def markdown(r) -> str:
    m = r["machine"]
    lines = [
        f"# Training throughput: TemporalPoseLifter.fit vs the plain reference loop"
        f"{' (quick)' if r['quick'] else ''}",
        "",
        f"`{r.get('command', 'python benchmarks/training_speed.py')}`; "
        f"{r['total_seconds'] / 60:.1f} min. Machine: {m['cpu']} ({', '.join(m['cpu_flags'])}), "
        f"{m['cpu_count']} CPUs, torch {m['torch']}, git {m['git']}, package "
        f"{m['skpose3d_path']}; load average (1 min) at start / end {r['load'][0]} / "
        f"{r['load'][1]}. Medians of alternating rounds (order rotated each round; rounds per "
        "model in the json); ratio = median of per-round ratios.",
        "",
        "| model, threads | package samples/s (epoch) | package samples/s (whole fit) "
        "| reference samples/s | package / reference "
        "| package GFLOP/s | reference GFLOP/s | fp32 mm GFLOP/s | package / mm | "
        "reference / mm |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in r["throughput"].items():
        p, q = (
            row["samples_per_s"]["TemporalPoseLifter.fit"],
            row["samples_per_s"]["reference loop"],
        )
        lines.append(
            f"| {label} | {p['median']:.0f} | {p['whole_fit_samples_per_s']:.0f} | "
            f"{q['median']:.0f} | "
            f"**{p['ratio_vs_reference loop']:.2f}** | {p['gflops']:.1f} | {q['gflops']:.1f} | "
            f"{row['fp32_mm_gflops']:.0f} | {p['fraction_of_fp32_mm']:.1%} | "
            f"{q['fraction_of_fp32_mm']:.1%} |"
        )
    lines += [
        "",
        "Training MFLOP per sample (3 x forward): "
        + ", ".join(
            f"{k.split(',')[0]} {v['train_mflop_per_sample']:.1f}"
            for k, v in list(r["throughput"].items())[: len(r["config"]["configs"])]
        )
        + ".",
    ]
    if "profile" not in r:
        return "\n".join(lines) + "\n"
    rp = r["profile"]["replay"]
    lines += [
        "",
        f"## Profile of one package step ({r['profile']['model']}, "
        f"{r['profile']['threads']} threads)",
        "",
        f"(b) replayed section by section (median of {r['config']['profile_steps']} steps; "
        f"sum {rp['sum_ms']:.1f} ms; the package's own fit epoch took "
        f"{rp['fit_epoch_ms_per_step']:.1f} ms per step):",
        "",
        "| section | ms per step | share |",
        "|---|---:|---:|",
    ]
    for k, v in rp["ms_per_step"].items():
        lines.append(f"| {k} | {v:.2f} | {rp['share'][k]:.0%} |")
    pf = r["profile"]["profiler"]
    lines += [
        "",
        "(a) torch.profiler over a fit epoch (self CPU ms per step; the epoch ran "
        f"{pf['epoch_ms_per_step_under_profiler']:.1f} ms per step under the profiler):",
        "",
        "| phase | self ms per step |",
        "|---|---:|",
    ]
    for k, v in pf["self_ms_per_step_by_phase"].items():
        lines.append(f"| {k} | {v:.2f} |")
    lines += ["", "| phase: op kind | self ms per step |", "|---|---:|"]
    for k, v in pf["self_ms_per_step_by_phase_and_kind"].items():
        lines.append(f"| {k} | {v:.2f} |")
    lines += ["", "Top ops (self CPU ms per step):", "", "| op | ms |", "|---|---:|"]
    for k, v in pf["top_ops_self_ms_per_step"].items():
        lines.append(f"| `{k}` | {v:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="only the models whose label starts with one of these (e.g. 27)",
    )
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="skip the per-step profile (at 243 x 1024 it alone outlasts a 10-minute slot)",
    )
    parser.add_argument("--tag", default="", help="suffix of the results file names")
    args = parser.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    cfg["rounds"] = args.rounds  # None: each config's own
    if args.models:
        cfg["configs"] = {
            k: v for k, v in cfg["configs"].items() if any(k.startswith(m) for m in args.models)
        }
    start, load0 = time.perf_counter(), machine()["load_average"][0]
    r = {"quick": args.quick, "config": cfg, "throughput": throughput(cfg)}
    r["command"] = " ".join(["python benchmarks/training_speed.py", *(argv or sys.argv[1:])])
    if not args.no_profile:
        torch.set_num_threads(cfg["threads"][0])
        label, (widths, channels, *_) = next(iter(cfg["configs"].items()))
        steps = cfg["profile_steps"]
        r["profile"] = {
            "model": f"{label}, batch {cfg['batch']}",
            "threads": cfg["threads"][0],
            "replay": replay_step(widths, channels, steps, cfg["batch"]),
            "profiler": profile_fit(widths, channels, steps, cfg["batch"]),
        }
    r["machine"] = machine()
    r["load"] = [load0, r["machine"]["load_average"][0]]
    r["total_seconds"] = time.perf_counter() - start
    out = args.output or (Path(tempfile.mkdtemp(prefix="trainspeed_")) if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    name = "training_speed" + (f"_{args.tag}" if args.tag else "")
    (out / f"{name}.json").write_text(json.dumps(r, indent=1, default=float) + "\n")
    text = markdown(r)
    (out / f"{name}.md").write_text(text)
    print(text)
    print(f"wrote {out / name}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
