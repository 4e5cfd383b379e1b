"""Why the reference's weights beat the package's (issue 12): one probe per difference.

At 20 epochs the plain reference loop's weights with re-estimated BatchNorm statistics reached
53.6 mm against the package's 57.6 (``results/reference_comparison_20ep.md``, before
``pose_loss="raw"`` became the default). Each probe trains ``TemporalPoseLifter`` exactly as
``reference_comparison.py`` does (same data, samples and schedule, ``precise_bn=True``) with one
of the loop's differences switched to the reference's way, on top of the earlier package
(``pose_loss="recentred"``):

- ``"raw loss"``: ``pose_loss="raw"``, ``mean ||pred - (y - y_root)||`` on the raw prediction
  (the default since these probes); the earlier package re-centred the prediction first.
- ``"torch dropout"``: ``nn.functional.dropout`` (torch's Bernoulli masks) after BatchNorm and
  ReLU instead of the package's cheaper lane masks (``skpose3d.nn.dropout``).
- ``"paired flips"``: in each pair of package epochs every frame is seen once plain and once
  mirrored (the reference's epoch) instead of mirrored with probability 1/2 each time.
- ``"all three"``: all of the above.

Benchmark-only code: the flip probe overrides the lifter's ``_training_plan`` hook.
``python benchmarks/reference_probes.py --seeds 0 1 2`` (two fits at a time, one thread each);
``--quick`` for a smoke run. Results: ``results/reference_probes_<E>ep.{json,md}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _protocol import machine  # noqa: E402
from reference_comparison import MODEL, QUICK_MODEL, package_lifter, protocol_views  # noqa: E402

import skpose3d.nn.temporal as temporal  # noqa: E402
from skpose3d import TemporalPoseLifter  # noqa: E402
from skpose3d._fit_context import MirroredBatch  # noqa: E402
from skpose3d._sequences import batch_indices  # noqa: E402
from skpose3d.camera import flip_keypoints, flip_poses  # noqa: E402
from skpose3d.demo import evaluate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BASELINE = "package, re-centred loss"
# probe -> (lifter parameters, benchmark-only changes)
PROBES = {
    BASELINE: ({"pose_loss": "recentred"}, set()),
    "raw loss": ({"pose_loss": "raw"}, set()),
    "torch dropout": ({"pose_loss": "recentred"}, {"torch dropout"}),
    "paired flips": ({"pose_loss": "recentred"}, {"paired flips"}),
    "all three": ({"pose_loss": "raw"}, {"torch dropout", "paired flips"}),
}


def _paired_flip_batches(ctx, bank, poses, batch_size):
    """``labeled_batches`` with each frame's flip in an odd epoch the opposite of the epoch
    before, so that every pair of epochs shows each frame once plain and once mirrored."""
    bank.add_mirror(lambda data: flip_keypoints(data, ctx.skel_in))
    poses = torch.cat([poses, flip_poses(poses, ctx.skel_out)])
    n = len(bank)
    state = {}

    def batches(epoch):
        if epoch % 2 == 0 or "flips" not in state:
            state["flips"] = ctx.draw_flips(n).long()
        else:
            state["flips"] = 1 - state["flips"]
        order = torch.from_numpy(ctx.rng.permutation(n)).to(ctx.device)
        for ids in batch_indices(order, batch_size):
            flips = state["flips"][ids]
            yield MirroredBatch(bank.clips(ids, flips.bool()), poses[ids + flips * n])

    return batches


class ProbeLifter(TemporalPoseLifter):
    """``TemporalPoseLifter`` with the probes in ``self.probes`` (set after construction)."""

    probes: set = set()

    def _training_plan(self, ctx, bank, poses):
        if "paired flips" not in self.probes:
            return super()._training_plan(ctx, bank, poses)
        return _paired_flip_batches(ctx, bank, poses, self.batch_size), ctx.supervised_step


@contextlib.contextmanager
def _torch_dropout(on: bool):
    """Replace the network's fused BatchNorm + ReLU + lane-mask dropout by torch's own."""
    original = temporal.bn_relu_dropout
    if on:
        temporal.bn_relu_dropout = lambda x, bn, p, training: F.dropout(F.relu(bn(x)), p, training)
    try:
        yield
    finally:
        temporal.bn_relu_dropout = original


def fit_one(name, seed, epochs, quick):
    torch.set_num_threads(1)
    train, test, held_out = protocol_views(quick)
    base = package_lifter(QUICK_MODEL if quick else MODEL, epochs, seed, precise_bn=True)
    params, probes = PROBES[name]
    lifter = ProbeLifter(**{**base.get_params(), **params})
    lifter.probes = probes
    start = time.perf_counter()
    with _torch_dropout("torch dropout" in lifter.probes):
        lifter.fit(train.X, train.poses_3d)
    row = {"probe": name, "seed": seed, "fit_seconds": round(time.perf_counter() - start, 1)}
    for label, views in (("test", test), ("held_out", held_out)):
        row[label] = {
            k: round(v, 3) for k, v in evaluate(views.poses_3d, lifter.predict(views.X)).items()
        }
    print(json.dumps(row), flush=True)
    return row


def _by_probe(results, split="test", metric="mpjpe_mm"):
    out = {}
    for r in results:
        out.setdefault(r["probe"], {})[r["seed"]] = r[split][metric]
    return out


def markdown(report) -> str:
    m = report["machine"]
    lines = [
        f"# Probes of the package against the reference's weights, {report['epochs']} epochs",
        "",
        f"`{report['command']}`; {report['total_seconds'] / 60:.0f} min of fits. Machine: "
        f"{m['cpu']}, {m['cpu_count']} CPUs, torch {m['torch']}; two fits at a time, one thread "
        f"each; load average {report['load'][0]} at start, {report['load'][1]} at end. Protocol "
        "of `reference_comparison.py` (train subjects 2, 3, 5, 6 by one camera, test 7 and 8, "
        "held out 9; 27 frames, 256 channels, batch 1024). MPJPE in mm."
        + (f" Note: {report['note']}." if "note" in report else ""),
        "",
        "| probe | seed | MPJPE | P-MPJPE | N-MPJPE | MPJVE | held-out MPJPE | fit (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(report["results"], key=lambda r: (list(PROBES).index(r["probe"]), r["seed"])):
        t = r["test"]
        lines.append(
            f"| {r['probe']} | {r['seed']} | {t['mpjpe_mm']:.1f} | {t['p_mpjpe_mm']:.1f} | "
            f"{t['n_mpjpe_mm']:.1f} | {t['mpjve_mm']:.2f} | {r['held_out']['mpjpe_mm']:.1f} | "
            f"{r['fit_seconds']:.0f} |"
        )
    lines += ["", f"MPJPE against `{BASELINE}` of the same seed (test; held out in brackets):", ""]
    test, held = _by_probe(report["results"]), _by_probe(report["results"], "held_out")
    for name in PROBES:
        seeds = sorted(set(test.get(name, {})) & set(test.get(BASELINE, {})))
        if name == BASELINE or not seeds:
            continue
        d = [test[name][s] - test[BASELINE][s] for s in seeds]
        h = [held[name][s] - held[BASELINE][s] for s in seeds]
        per_seed = ", ".join(f"{a:+.1f} ({b:+.1f})" for a, b in zip(d, h))
        lines.append(
            f"- {name}: mean {statistics.mean(d):+.1f} mm ({statistics.mean(h):+.1f}); "
            f"seeds {seeds}: {per_seed}"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="reference epochs (2 N samples)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--probes", nargs="+", choices=list(PROBES), default=list(PROBES))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--output", type=Path, default=None, help="folder of the results")
    parser.add_argument(
        "--update", action="store_true", help="keep the results file's other (probe, seed) rows"
    )
    args = parser.parse_args(argv)
    out = args.output or (Path(tempfile.mkdtemp(prefix="probes_")) if args.quick else RESULTS)
    stem = out / f"reference_probes_{args.epochs}ep"
    old = json.loads(stem.with_suffix(".json").read_text()) if args.update else None
    start, load0 = time.perf_counter(), machine()["load_average"][0]
    results = Parallel(n_jobs=args.jobs)(
        delayed(fit_one)(name, seed, args.epochs, args.quick)
        for seed in args.seeds
        for name in args.probes
    )
    report = {
        "command": "python benchmarks/reference_probes.py " + " ".join(argv),
        "epochs": args.epochs,
        "results": results,
        "machine": machine(),
        "total_seconds": time.perf_counter() - start,
    }
    report["load"] = [load0, report["machine"]["load_average"][0]]
    if old is not None:
        done = {(r["probe"], r["seed"]) for r in results}
        kept = [r for r in old["results"] if (r["probe"], r["seed"]) not in done]
        report["results"] = kept + results
        report["command"] = f"{old['command']} (and `--update` runs)"
        report["total_seconds"] += old["total_seconds"]
    text = markdown(report)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(text)
    return report


if __name__ == "__main__":
    main()
