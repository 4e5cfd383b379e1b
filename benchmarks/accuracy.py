"""Accuracy benchmark on the bundled CMU motion capture: single-frame vs temporal lifters.

Protocol (frozen in ``_protocol.py``):

- **Data:** the 49 bundled CMU clips (60 fps), filmed by the four virtual Human3.6M cameras of
  :func:`skpose3d.datasets.make_views` (4.5 m away, 1.6 m high, following the subject), with
  the detector noise model on (``DetectorNoise()``: jitter, drift, outliers, missing joints held
  at their last detection) and per-subject bone lengths (``bone_scale=0.05``). The lifters see
  (x, y) in normalised screen coordinates, per camera; the confidence channel is dropped, as in
  the paper.
- **Split (by subject, frozen):** train on CMU subjects 1, 2, 3, 5 (13,990 frames x 4 views),
  test on the held-out subjects 6 and 7 (6,498 frames x 4 views), whose motion is never seen in
  training. Train and test noise use different seeds.
- **Rows:** single-frame (widths 1,1,1), 27 frames (3,3,3), 81 frames (3,3,3,3), causal 27
  frames; all with 256 channels, batch 256, 10 epochs, Amsgrad lr 1e-3 decayed 0.9 per epoch,
  flip augmentation and test-time flip, seed 0. When ``skpose3d.SemiSupervisedLifter`` exists,
  low-label rows at 27 frames: supervised on subject 2's labels only; semi-supervised with the
  2D views of subjects 1, 3, 5 as unlabeled video; the same without the bone-length term.
- **Metrics:** on the held-out views, root-relative, every frame counted once: MPJPE, P-MPJPE,
  N-MPJPE (mm) and MPJVE (mm/frame at 60 fps).

Run ``python benchmarks/accuracy.py`` (full: about 25 minutes on 2 busy CPU cores, one torch
thread) to rewrite ``benchmarks/results/accuracy.{json,md}``; ``--quick`` is a smoke test on a
few short clips with tiny models that writes to a temporary directory (or ``--output``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _protocol import (
    LABELED_SUBJECT,
    LOW_LABEL_ROWS,
    LOW_LABEL_WIDTHS,
    PAPER,
    QUICK_TRAINING,
    ROWS,
    SEED,
    TRAINING,
    machine,
    verdicts,
)

from skpose3d import TemporalPoseLifter
from skpose3d.demo import METRICS, cmu_split, evaluate, format_table

try:  # the low-label rows need the semi-supervised lifter
    from skpose3d import SemiSupervisedLifter, UnlabeledVideos
except ImportError:
    SemiSupervisedLifter = UnlabeledVideos = None

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke test (CI)")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="results directory (default: benchmarks/results, or a temporary one with --quick)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)"
    )
    parser.add_argument("--verbose", type=int, default=1, help="1 shows progress bars")
    return parser.parse_args(argv)


def _subset(views, keep) -> tuple[list, list, list]:
    """(X, poses_3d, intrinsics) of the views where ``keep`` is True."""
    idx = np.flatnonzero(keep)
    return (
        [views.X[i] for i in idx],
        [views.poses_3d[i] for i in idx],
        [views.intrinsics[i] for i in idx],
    )


def fit_and_score(name, lifter, X, y, test, **fit_params) -> dict:
    """Fit, predict the held-out views, and return the metrics with timings."""
    print(f"\n[{name}] receptive field {np.prod(lifter.filter_widths)}, {len(X)} views", flush=True)
    start = time.perf_counter()
    lifter.fit(X, y, **fit_params)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pred = lifter.predict(test.X)
    result = evaluate(test.poses_3d, pred)
    result.update(
        fit_seconds=round(fit_seconds, 1),
        predict_seconds=round(time.perf_counter() - start, 1),
        receptive_field=int(lifter.receptive_field_),
        train_views=len(X),
        train_frames=int(sum(len(x) for x in X)),
        # history_'s "loss": MPJPE in metres, or the weighted sum of the semi-supervised terms
        final_training_loss=round(lifter.history_[-1]["loss"], 5),
    )
    print(
        "  " + ", ".join(f"{METRICS[k][0]} {result[k]:.1f}" for k in METRICS),
        f"(fit {fit_seconds:.0f} s)",
        flush=True,
    )
    return result


def supervised_rows(train, test, training, verbose) -> dict:
    rows = {}
    for name, (widths, causal) in ROWS.items():
        lifter = TemporalPoseLifter(
            filter_widths=widths, causal=causal, random_state=SEED, verbose=verbose, **training
        )
        rows[name] = fit_and_score(name, lifter, train.X, train.poses_3d, test)
    return rows


def low_label_rows(train, test, training, verbose) -> dict:
    """Labels of one training subject; the others' 2D views as unlabeled video."""
    labeled = train.subjects == LABELED_SUBJECT
    X, y, _ = _subset(train, labeled)
    X2d_unlabeled, _, cameras = _subset(train, ~labeled)
    common = dict(filter_widths=LOW_LABEL_WIDTHS, random_state=SEED, verbose=verbose, **training)
    rows = {}
    for name, extra in LOW_LABEL_ROWS.items():
        if extra is None:
            rows[name] = fit_and_score(name, TemporalPoseLifter(**common), X, y, test)
            continue
        lifter = SemiSupervisedLifter(**common, **extra)
        # Keypoints are normalised per camera, so the lifter gets pixel cameras per video.
        unlabeled = UnlabeledVideos(X2d_unlabeled, intrinsics=cameras)
        rows[name] = fit_and_score(name, lifter, X, y, test, X2d_unlabeled=unlabeled)
        rows[name]["unlabeled_frames"] = int(sum(len(x) for x in X2d_unlabeled))
    return rows


def markdown(results: dict) -> str:
    """The results as a markdown report: table, paper's claims and verdicts, protocol."""
    cols = [f"{t} ({u})" for t, u, _ in METRICS.values()]
    lines = [
        "# Accuracy benchmark (bundled CMU motion capture, held-out subjects)",
        "",
        f"Generated by `benchmarks/accuracy.py`{' --quick' if results['quick'] else ''} in "
        f"{results['total_seconds'] / 60:.1f} min on {results['machine']['cpu_count']} CPU "
        f"cores ({results['machine']['torch_threads']} torch thread(s)), torch "
        f"{results['machine']['torch']}. Protocol: see the docstring of `accuracy.py`.",
        "",
        "| model | receptive field | " + " | ".join(cols) + " | fit (s) |",
        "|---|---:|" + "---:|" * len(cols) + "---:|",
    ]
    for name, row in results["rows"].items():
        values = " | ".join(
            f"{row[k]:.1f}" if k != "mpjve_mm" else f"{row[k]:.2f}" for k in METRICS
        )
        lines.append(f"| {name} | {row['receptive_field']} | {values} | {row['fit_seconds']:.0f} |")
    lines += ["", "## The paper's claims (Human3.6M) and what these numbers show", ""]
    for key, verdict in results["verdicts"].items():
        lines += [f"- **Paper:** {PAPER[key]}.", f"  **Here:** {verdict}."]
    lines += ["", "## Settings", ""]
    lines += [f"- `{key}`: `{json.dumps(value)}`" for key, value in results["protocol"].items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    training = QUICK_TRAINING if args.quick else TRAINING
    limits = dict(max_clips=1, max_frames=90) if args.quick else {}
    train, test = cmu_split(seed=SEED, **limits)
    rows = supervised_rows(train, test, training, args.verbose)
    if SemiSupervisedLifter is not None:
        rows.update(low_label_rows(train, test, training, args.verbose))
    else:
        print("skpose3d.SemiSupervisedLifter is not available: low-label rows skipped")
    results = {
        "quick": args.quick,
        "protocol": {
            "training": training,
            "seed": SEED,
            "rows": {k: {"filter_widths": w, "causal": c} for k, (w, c) in ROWS.items()},
            "low_label": {"labeled_subject": LABELED_SUBJECT, "filter_widths": LOW_LABEL_WIDTHS},
            "train_subjects": sorted(set(train.subjects.tolist())),
            "test_subjects": sorted(set(test.subjects.tolist())),
            "train_frames": int(sum(map(len, train.X))),
            "test_frames": int(sum(map(len, test.X))),
            "cameras": sorted(set(test.cameras)),
        },
        "machine": machine(),
        "rows": rows,
        "paper": PAPER,
        "verdicts": verdicts(rows),
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    out = args.output or (Path(tempfile.mkdtemp(prefix="accuracy_")) if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    (out / "accuracy.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "accuracy.md").write_text(markdown(results))
    main_rows = {k: v for k, v in rows.items() if k in ROWS}
    print("\n" + format_table(main_rows, reference="single-frame"))
    low = {k: v for k, v in rows.items() if k in LOW_LABEL_ROWS}
    if low:
        print("\n" + format_table(low, reference="low-label supervised"))
    print("\nThe paper's claims (Human3.6M) against these numbers:")
    for key, verdict in results["verdicts"].items():
        print(f"- paper: {PAPER[key]}\n  here:  {verdict}")
    print(f"\nresults: {out / 'accuracy.json'}, {out / 'accuracy.md'}")
    print(f"total {results['total_seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
