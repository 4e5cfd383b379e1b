"""Accuracy of ``TemporalPoseLifter`` against a plain re-implementation of the paper (issue 12).

Both train on the same data for the same number of samples with the same schedules, for several
seeds, and are scored on held-out subjects with MPJPE, P-MPJPE, N-MPJPE and MPJVE.

- **Data:** ``cmu_mocap17_large.npz`` (8 CMU subjects, each with its own skeleton; see
  ``_protocol.cmu_large_views``), filmed by the four virtual Human3.6M cameras with detector
  noise; (x, y) in normalised screen coordinates. Train on subjects 2, 3, 5, 6 (25,344 frames)
  seen by one camera (45°; 25,344 view-frames: CPU budget); test on 7 and 8 (3,960
  frames x 4 views); subject 9 (1,726 x 4) is a final held-out set on which no setting was
  chosen. Subject 1 is left out (CPU budget). The
  noise seeds (0 train, 1 test, 2 held-out) stay fixed; the seed varies only the training.
- **Model:** 27 frames (widths 3, 3, 3), 256 channels, dropout 0.25, batch 1024.
- **Same samples, same schedules:** the reference (``reference_trainer.py``) uses every frame
  once plain and once mirrored per epoch (2 N samples). ``TemporalPoseLifter`` draws every
  frame once per epoch and mirrors a random half of each batch, so it gets ``n_epochs = 2 E``
  and ``lr_decay = sqrt(0.95)``: the same number of samples (2 N E) and the same learning rate
  after every 2 N samples. Both use Amsgrad at 1e-3 and their own BatchNorm momentum schedule
  (that is what is compared): the reference ``0.1 * exp(-e / E * ln 100)`` per epoch, the
  package its ``bn_momentum`` over its 2 E epochs. When the lifter has a ``precise_bn``
  parameter, it is run with it off and on.
- **Verdict:** per seed, the difference package - reference; "package <= reference within one
  standard error" holds when the mean difference is at most the standard error of the paired
  differences (std / sqrt(n_seeds)).

Commands: ``python benchmarks/reference_comparison.py --epochs 3`` (short schedule) and
``--epochs 20`` (long); ``--seeds 0 1 2``; ``--quick`` for a smoke test (writes to a temporary
directory unless ``--output``). Results: ``results/reference_comparison_<E>ep.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _protocol import (  # noqa: E402
    LARGE_HELD_OUT_SUBJECTS,
    LARGE_TEST_SUBJECTS,
    LARGE_TRAIN_SUBJECTS,
    cmu_large_views,
    machine,
    thread_params,
)
from reference_trainer import ReferenceTrainer  # noqa: E402

from skpose3d import TemporalPoseLifter  # noqa: E402
from skpose3d.demo import METRICS, evaluate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MODEL = dict(widths=(3, 3, 3), channels=256, dropout=0.25, batch_size=1024, lr=1e-3, lr_decay=0.95)
TRAIN_CAMERAS = 1  # training views from the camera at 45° only (CPU budget); tests: all 4
QUICK_MODEL = {**MODEL, "channels": 16, "batch_size": 128}


def variants() -> list[str]:
    names = ["package", "reference", REESTIMATED]
    if "precise_bn" in TemporalPoseLifter().get_params():
        names.insert(1, "package, precise_bn")
    return names


def package_lifter(model, epochs, seed, precise_bn=None) -> TemporalPoseLifter:
    extra = {} if precise_bn is None else {"precise_bn": precise_bn}
    return TemporalPoseLifter(
        filter_widths=model["widths"],
        channels=model["channels"],
        dropout=model["dropout"],
        n_epochs=2 * epochs,
        batch_size=model["batch_size"],
        learning_rate=model["lr"],
        lr_decay=math.sqrt(model["lr_decay"]),
        flip_augmentation=True,
        test_time_flip=True,
        device="cpu",
        random_state=seed,
        **thread_params(torch.get_num_threads()),
        **extra,
    )


def protocol_views(quick=False):
    """(train, test, held-out) views: training subjects by ``TRAIN_CAMERAS`` cameras, the
    others by all four; ``quick``: one short clip per subject."""
    limits = dict(max_clips=1, max_frames=120) if quick else {}
    return tuple(
        cmu_large_views(s, seed=i, n_cameras=TRAIN_CAMERAS if i == 0 else 4, **limits)
        for i, s in enumerate((LARGE_TRAIN_SUBJECTS, LARGE_TEST_SUBJECTS, LARGE_HELD_OUT_SUBJECTS))
    )


REESTIMATED = "reference, BN re-estimated"  # diagnostic: the reference's weights, fresh BN stats


def train_one(name, model, epochs, seed, train):
    """Fit one contender; returns (predict function, training losses in mm per 2 N samples)."""
    if name == REESTIMATED:
        return None, None  # scored from the reference's fit (see run)
    if name == "reference":
        trainer = ReferenceTrainer(
            model["widths"],
            model["channels"],
            model["dropout"],
            epochs,
            model["batch_size"],
            model["lr"],
            model["lr_decay"],
            seed,
        ).fit(train.X, train.poses_3d)
        train_one.last_reference = (seed, trainer)
        return trainer.predict, [round(1000 * h["loss"], 2) for h in trainer.history_]
    has_precise = "precise_bn" in TemporalPoseLifter().get_params()
    precise = (name == "package, precise_bn") if has_precise else None
    lifter = package_lifter(model, epochs, seed, precise).fit(train.X, train.poses_3d)
    losses = [h["loss"] for h in lifter.history_]  # two package epochs = one reference epoch
    pairs = [(a + b) / 2 for a, b in zip(losses[::2], losses[1::2])]
    return lifter.predict, [round(1000 * v, 2) for v in pairs]


def run(model, epochs, seeds, data, names, previous=None) -> dict:
    """Train and score every contender for every seed; ``previous`` runs (same protocol, from an
    earlier results file) are kept and not re-run."""
    train, test, held_out = data
    runs = {name: {} for name in names}
    for name, by_seed in (previous or {}).items():
        runs.setdefault(name, {}).update({int(s): row for s, row in by_seed.items()})
    for seed in seeds:
        for name in names:
            if seed in runs[name]:
                continue
            start = time.perf_counter()
            predict, losses = train_one(name, model, epochs, seed, train)
            if name == REESTIMATED:  # needs the reference of this seed, fitted just before
                fitted_seed, trainer = getattr(train_one, "last_reference", (None, None))
                if fitted_seed != seed or seed not in runs.get("reference", {}):
                    continue
                trainer.reestimate_bn(seed=seed)
                predict, losses = trainer.predict, runs["reference"][seed]["train_loss_mm"]
            fit_seconds = time.perf_counter() - start
            row = {"fit_seconds": round(fit_seconds, 1), "train_loss_mm": losses}
            for label, views in (("test", test), ("held_out", held_out)):
                row[label] = {
                    k: round(v, 3) for k, v in evaluate(views.poses_3d, predict(views.X)).items()
                }
            runs[name][seed] = row
            print(
                f"seed {seed} {name:>20}: test MPJPE {row['test']['mpjpe_mm']:.1f}, held-out "
                f"{row['held_out']['mpjpe_mm']:.1f} mm, fit {fit_seconds:.0f} s, losses "
                f"{losses}",
                flush=True,
            )
    return runs


def _mean_std(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _differences(runs, seeds, split, baseline):
    """Paired ``package - baseline`` differences per package contender and metric."""
    diffs = {}
    for name in runs:
        if name in ("reference", REESTIMATED):
            continue
        row = {}
        for k in METRICS:
            d = [runs[name][s][split][k] - runs[baseline][s][split][k] for s in seeds]
            mean, std = _mean_std(d)
            se = std / math.sqrt(len(d))
            row[k] = {
                "per_seed": [round(v, 2) for v in d],
                "mean": mean,
                "std": std,
                "se": se,
                "package_le_reference_within_1se": mean <= se,
            }
        diffs[name] = row
    return diffs


def summarise(runs, seeds) -> dict:
    """Mean ± std per contender and metric; paired differences of each package contender
    against the reference (and against its re-estimated weights when every seed has them)."""
    out = {}
    for split in ("test", "held_out"):
        table = {}
        for name, by_seed in runs.items():
            have = [s for s in seeds if s in by_seed]
            table[name] = {k: _mean_std([by_seed[s][split][k] for s in have]) for k in METRICS}
        out[split] = {
            "mean_std": table,
            "difference_vs_reference": _differences(runs, seeds, split, "reference"),
        }
        if all(s in runs.get(REESTIMATED, {}) for s in seeds):
            out[split]["difference_vs_reestimated"] = _differences(runs, seeds, split, REESTIMATED)
    return out


def markdown(r) -> str:
    m = r["machine"]
    lines = [
        f"# Package vs plain reference trainer, {r['epochs']}-epoch schedule"
        f"{' (quick)' if r['quick'] else ''}",
        "",
        f"`python benchmarks/reference_comparison.py {' '.join(r['argv'])}`; "
        f"{r['total_seconds'] / 60:.1f} min. Machine: {m['cpu']} ({', '.join(m['cpu_flags'])}), "
        f"{m['cpu_count']} CPUs, {m['torch_threads']} torch threads, torch {m['torch']}, git "
        f"{m['git']}; load average (1 min) at start / end {r['load'][0]} / {r['load'][1]}.",
        "",
        f"Model {r['model']}. Reference: {r['epochs']} epochs of 2 N samples (N = "
        f"{r['train_view_frames']} training view-frames); package: n_epochs={2 * r['epochs']}, "
        f"lr_decay=sqrt({r['model']['lr_decay']}), same 2 N E samples. Seeds {r['seeds']}.",
    ]
    if len(r.get("machines", [])) > 1:
        lines += [
            "",
            "Runs merged from several invocations (`--reuse`): "
            + "; ".join(
                f"git {mm['git']}, package {mm['skpose3d_path']}, load {mm['load_average'][0]}"
                for mm in r["machines"]
            ),
        ]
    for split, title in (
        ("test", f"test subjects {list(LARGE_TEST_SUBJECTS)}"),
        ("held_out", f"held-out subject {list(LARGE_HELD_OUT_SUBJECTS)}"),
    ):
        s = r["summary"][split]
        cols = [f"{t} ({u})" for t, u, _ in METRICS.values()]
        lines += [
            "",
            f"## {title}",
            "",
            "| run | seed | " + " | ".join(cols) + " | fit (s) |",
            "|---|---|" + "---:|" * (len(cols) + 1),
        ]
        for name, by_seed in r["runs"].items():
            for seed, row in by_seed.items():
                vals = " | ".join(f"{row[split][k]:.2f}" for k in METRICS)
                lines.append(f"| {name} | {seed} | {vals} | {row['fit_seconds']:.0f} |")
        for name, row in s["mean_std"].items():
            vals = " | ".join(f"**{a:.2f} ± {b:.2f}**" for a, b in row.values())
            lines.append(f"| {name} | mean ± std | {vals} | |")
        baselines = [("difference_vs_reference", "reference")]
        if "difference_vs_reestimated" in s:
            baselines.append(("difference_vs_reestimated", REESTIMATED))
        for key, baseline in baselines:
            for name, row in s[key].items():
                vals = " | ".join(
                    f"{d['mean']:+.2f} ± {d['se']:.2f} ("
                    + ", ".join(f"{v:+.1f}" for v in d["per_seed"])
                    + ")"
                    for d in row.values()
                )
                lines.append(f"| {name} − {baseline} | mean ± SE (per seed) | {vals} | |")
        lines.append("")
        for key, baseline in baselines:
            for name, row in s[key].items():
                verdict = {
                    METRICS[k][0]: "yes" if d["package_le_reference_within_1se"] else "**no**"
                    for k, d in row.items()
                }
                lines.append(
                    f"- {name} ≤ {baseline} within one standard error: "
                    + ", ".join(f"{k} {v}" for k, v in verdict.items())
                )
    lines += ["", "Training loss (mm) per 2 N samples, per seed:", ""]
    for name, by_seed in r["runs"].items():
        for seed, row in by_seed.items():
            lines.append(f"- {name}, seed {seed}: {row['train_loss_mm']}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="reference epochs (2 N samples)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--quick", action="store_true", help="tiny smoke test")
    parser.add_argument("--only", nargs="+", default=None, help="run only these contenders")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--tag", default="", help="suffix of the results file names")
    parser.add_argument(
        "--reuse",
        type=Path,
        default=None,
        help="keep the runs of this earlier results json (same --epochs)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start, load0 = time.perf_counter(), machine()["load_average"][0]
    data = protocol_views(args.quick)
    model = QUICK_MODEL if args.quick else MODEL
    names = args.only or variants()
    previous = None
    if args.reuse is not None:
        old = json.loads(args.reuse.read_text())
        if old["epochs"] != args.epochs or old["model"] != json.loads(json.dumps(model)):
            raise SystemExit(f"{args.reuse} has another protocol")
        previous = {k: v for k, v in old["runs"].items() if k not in names}  # names: re-run
        machines = old.get("machines", [old["machine"]])
    runs = run(model, args.epochs, args.seeds, data, names, previous)
    runs = {name: by_seed for name, by_seed in runs.items() if by_seed}
    r = {
        "quick": args.quick,
        "argv": argv,
        "epochs": args.epochs,
        "seeds": args.seeds,
        "model": model,
        "train_view_frames": int(sum(map(len, data[0].X))),
        "subjects": {
            "train": LARGE_TRAIN_SUBJECTS,
            "test": LARGE_TEST_SUBJECTS,
            "held_out": LARGE_HELD_OUT_SUBJECTS,
        },
        "machine": machine(),
        "runs": runs,
        "summary": summarise(runs, args.seeds) if "reference" in runs else {},
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    r["load"] = [load0, r["machine"]["load_average"][0]]
    r["machines"] = (machines if previous is not None else []) + [r["machine"]]
    out = args.output or (Path(tempfile.mkdtemp(prefix="refcmp_")) if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"reference_comparison_{args.epochs}ep{args.tag}"
    (out / f"{stem}.json").write_text(json.dumps(r, indent=1) + "\n")
    text = markdown(r) if r["summary"] else json.dumps(runs, indent=1)
    (out / f"{stem}.md").write_text(text)
    print(text)
    print(f"wrote {out / stem}.json / .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
