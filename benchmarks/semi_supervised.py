"""Low-label benchmark of semi-supervised back-projection on the bundled CMU motion capture.

Data and split are those of the accuracy benchmark (``_protocol.py``,
:func:`skpose3d.demo.cmu_split`): the CMU clips at 60 fps filmed by four virtual Human3.6M
cameras with detector noise and per-subject bone lengths; training subjects 1, 2, 3, 5; test
subjects 6 and 7. In the low-label setting the 3D labels of **one** training subject are used;
the other training subjects' 2D views are unlabeled video (their 3D is never seen).
Three lifters share the architecture (27 frames, 256 channels) and the schedule:

- ``supervised``: :class:`~skpose3d.TemporalPoseLifter` with ``trajectory=True`` (labels only);
- ``semi-supervised``: :class:`~skpose3d.SemiSupervisedLifter` with the unlabeled views;
- ``semi-supervised, no bone term``: the same with ``bone_length_weight=0`` (the ablation);
- ``semi-supervised, confidence-weighted 2D``: the semi-supervised lifter with
  ``projection_confidence=True`` (each joint's 2D error weighted by its detector confidence; not
  in the paper). Only in settings with ``confidence`` input, where every model gets the
  detector confidence as a third input channel.

Each *setting* (:data:`SETTINGS`) fixes the labeled subject and the schedule. Reported on the test
subjects, in mm: MPJPE, N-MPJPE, P-MPJPE (root-relative) and the trajectory error (MPJPE of the
root in camera space). ``python benchmarks/semi_supervised.py`` runs every setting with seed 0
(about 20 minutes on 2 CPU cores, two models at a time, one torch thread each) and writes
``benchmarks/results/semi_supervised.{json,md}``; ``--seeds 0 1 2`` repeats each fit with other
lifter seeds, ``--settings``/``--models`` select, ``--update`` merges into the existing results.
The committed results were made with::

    python benchmarks/semi_supervised.py --seeds 0 1 2 \\
        --settings "subject 1, long schedule" "subject 1, long schedule, confidence input"
    python benchmarks/semi_supervised.py --update --settings "subject 2, long schedule" \\
        "subject 2, protocol schedule" "subject 3, tiny-label schedule"

``--quick`` is a smoke test (tiny data and network) that writes only to an explicit ``--output``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from _protocol import LOW_LABEL_WIDTHS, SEED, TRAINING, machine
from joblib import Parallel, delayed

from skpose3d import SemiSupervisedLifter, TemporalPoseLifter, UnlabeledVideos
from skpose3d.demo import cmu_split
from skpose3d.metrics import mpjpe, n_mpjpe, p_mpjpe

RESULTS = Path(__file__).resolve().parent / "results"

# Schedules: the accuracy benchmark's own (10 epochs, decay 0.9, 1 warm-up epoch as in the paper
# for a full subject), and a longer one with a longer warm-up.
SETTINGS = {
    "subject 2, protocol schedule": dict(labeled_subject=2, n_epochs=10, lr_decay=0.9, warmup=1),
    "subject 2, long schedule": dict(labeled_subject=2, n_epochs=40, lr_decay=0.95, warmup=10),
    "subject 1, long schedule": dict(labeled_subject=1, n_epochs=40, lr_decay=0.95, warmup=10),
    # The same with (x, y, confidence) input for every model: the setting of the
    # confidence-weighted reprojection loss.
    "subject 1, long schedule, confidence input": dict(
        labeled_subject=1, n_epochs=40, lr_decay=0.95, warmup=10, confidence=True
    ),
    # The same without the added per-subject bone lengths (the recorded CMU skeletons, whose
    # bones differ by at most 1.7 cm): what do differing body sizes cost, which the bone-length
    # term pulls towards the labeled subject's and the projection cannot tell from depth?
    "subject 1, long schedule, recorded bones": dict(
        labeled_subject=1, n_epochs=40, lr_decay=0.95, warmup=10, bone_scale=0.0
    ),
    # Subject 3 has one clip (215 frames x 4 views): the paper's tiny-subset regime (20 warm-up
    # epochs); an epoch is 4 batches, hence many epochs and a slow decay.
    "subject 3, tiny-label schedule": dict(
        labeled_subject=3, n_epochs=200, lr_decay=0.99, warmup=20
    ),
}
HISTORY_KEYS = ("loss", "pose", "trajectory", "projection", "bone_length")  # saved loss curves
MODELS = (
    "supervised",
    "semi-supervised",
    "semi-supervised, no bone term",
    "semi-supervised, confidence-weighted 2D",
)


def _subset(views, keep):
    idx = np.flatnonzero(keep)
    return [views.X[i] for i in idx], [views.poses_3d[i] for i in idx], idx


def _lifter(model: str, setting: dict, seed: int, quick: bool):
    params = {**TRAINING, "n_epochs": setting["n_epochs"], "lr_decay": setting["lr_decay"]}
    if quick:
        params.update(channels=16, n_epochs=2)
    params.update(filter_widths=LOW_LABEL_WIDTHS, random_state=seed)
    if model == "supervised":
        return TemporalPoseLifter(trajectory=True, **params)
    return SemiSupervisedLifter(
        **params, warmup_epochs=min(setting["warmup"], params["n_epochs"] - 1),
        bone_length_weight=0.0 if model.endswith("no bone term") else 1.0,
        projection_confidence=model.endswith("confidence-weighted 2D"),
    )  # fmt: skip


def _applies(setting: str, model: str) -> bool:
    """Confidence weighting needs the confidence channel, which only some settings feed."""
    return SETTINGS[setting].get("confidence", False) or not model.endswith(
        "confidence-weighted 2D"
    )


def evaluate(lifter, test) -> dict:
    pred = [np.asarray(p) for p in lifter.predict(test.X)]
    truth = test.poses_3d
    return {
        "mpjpe_mm": 1000 * mpjpe(truth, pred),
        "n_mpjpe_mm": 1000 * n_mpjpe(truth, pred),
        "p_mpjpe_mm": 1000 * p_mpjpe(truth, pred),
        "trajectory_mm": 1000
        * mpjpe([t[:, :1] for t in truth], [p[:, :1] for p in pred], root=None),
    }


def fit_one(name: str, model: str, seed: int, quick: bool, threads: int) -> dict:
    """Fit and evaluate one model of one setting with one seed (runs in its own process)."""
    torch.set_num_threads(threads)
    setting = SETTINGS[name]
    limits = dict(max_clips=1, max_frames=90) if quick else {}
    options = {k: setting[k] for k in ("confidence", "bone_scale") if k in setting}
    train, test = cmu_split(seed=SEED, **options, **limits)
    labeled = train.subjects == setting["labeled_subject"]
    X, y, _ = _subset(train, labeled)
    X_unl, _, idx = _subset(train, ~labeled)
    lifter = _lifter(model, setting, seed, quick)
    start = time.perf_counter()
    if model == "supervised":
        lifter.fit(X, y)
    else:
        cameras = [train.intrinsics[i] for i in idx]  # keypoints are normalised per camera
        lifter.fit(X, y, X2d_unlabeled=UnlabeledVideos(X_unl, intrinsics=cameras))
    row = {"setting": name, "model": model, "seed": seed, **evaluate(lifter, test)}
    row["fit_seconds"] = time.perf_counter() - start
    row["labeled_frames"] = int(sum(map(len, X)))
    row["unlabeled_frames"] = int(sum(map(len, X_unl)))
    row["test_frames"] = int(sum(map(len, test.X)))
    row["git"] = machine()["git"]
    # Loss curves, rounded (the file is committed); each term is None in warm-up epochs.
    row["history"] = [
        {k: None if e.get(k) is None else round(e[k], 4) for k in HISTORY_KEYS}
        for e in lifter.history_
    ]
    print(json.dumps({k: v for k, v in row.items() if k != "history"}), flush=True)
    return row


METRIC_COLUMNS = {"MPJPE": "mpjpe_mm", "N-MPJPE": "n_mpjpe_mm", "P-MPJPE": "p_mpjpe_mm",
                  "trajectory": "trajectory_mm"}  # fmt: skip


def _mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{values.mean():.1f} ± {values.std(ddof=1):.1f}"


def grouped(rows) -> dict:
    """``{(setting, model): {seed: row}}`` in the order of SETTINGS and MODELS."""
    groups = {}
    for r in sorted(rows, key=lambda r: (list(SETTINGS).index(r["setting"]),
                                         MODELS.index(r["model"]), r["seed"])):  # fmt: skip
        groups.setdefault((r["setting"], r["model"]), {})[r["seed"]] = r
    return groups


def changes(groups: dict, setting: str, model: str) -> list[float]:
    """MPJPE change (%) of ``model`` against the supervised lifter, paired by seed."""
    own, sup = groups.get((setting, model), {}), groups.get((setting, "supervised"), {})
    return [100 * (own[s]["mpjpe_mm"] / sup[s]["mpjpe_mm"] - 1) for s in own if s in sup]


def markdown(report: dict) -> str:
    groups = grouped(report["results"])
    lines = [
        "# Semi-supervised back-projection, low-label CMU settings",
        "",
        "Generated by `benchmarks/semi_supervised.py`: labels of one CMU training subject, the "
        "other training subjects' 2D views as unlabeled video, test on the held-out subjects "
        "6 and 7 (the accuracy benchmark's data, 60 fps, 4 virtual cameras, detector noise, "
        "per-subject bone lengths). All models: 27 frames, 256 channels, batch 256 (+256 "
        "unlabeled clips for the semi-supervised ones), Amsgrad lr 1e-3. Errors in mm on the "
        "test subjects; trajectory: MPJPE of the root joint in camera space. With several "
        "seeds (the lifters' `random_state`; data and noise fixed): mean ± standard deviation.",
        "",
        "| setting | model | seeds | " + " | ".join(METRIC_COLUMNS) + " | fit (s) |",
        "|---|---|---|" + "---:|" * (len(METRIC_COLUMNS) + 1),
    ]
    for (setting, model), by_seed in groups.items():
        runs = list(by_seed.values())
        cells = [_mean_std([r[key] for r in runs]) for key in METRIC_COLUMNS.values()]
        fit = np.mean([r["fit_seconds"] for r in runs])
        seeds = ",".join(str(s) for s in by_seed)
        lines.append(f"| {setting} | {model} | {seeds} | " + " | ".join(cells) + f" | {fit:.0f} |")
    lines += ["", "MPJPE change against the supervised lifter of the same setting and seed:", ""]
    for name, s in sorted(report["settings"].items(), key=lambda kv: list(SETTINGS).index(kv[0])):
        parts = [
            f"{model} {np.mean(c):+.1f}%" + (f" ± {np.std(c, ddof=1):.1f}%" if len(c) > 1 else "")
            for model in MODELS[1:]
            if (c := changes(groups, name, model))
        ]
        if parts:
            lines.append(
                f"- {name} (labels: subject {s['labeled_subject']}, {s['n_epochs']} epochs, "
                f"lr decay {s['lr_decay']}, warm-up {s['warmup']}): " + "; ".join(parts) + "."
            )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[SEED], help="lifter seeds")
    parser.add_argument("--jobs", type=int, default=2, help="models fitted at the same time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per model")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (see --output)")
    parser.add_argument(
        "--output", type=Path, default=None,
        help="output path without suffix (default: results/semi_supervised; with --quick: "
        "nothing is written unless given)",
    )  # fmt: skip
    parser.add_argument(
        "--update", action="store_true",
        help="keep the other rows of an existing output file, replace the (setting, model, "
        "seed) rows run now",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.output is None and not args.quick:
        args.output = RESULTS / "semi_supervised"
    start = time.perf_counter()
    tasks = [
        (s, m, seed)
        for s in args.settings for m in args.models for seed in args.seeds if _applies(s, m)
    ]  # fmt: skip
    rows = Parallel(n_jobs=args.jobs)(
        delayed(fit_one)(s, m, seed, args.quick, args.threads) for s, m, seed in tasks
    )
    settings = {name: SETTINGS[name] for name in args.settings}
    seconds = round(time.perf_counter() - start, 1)
    if args.update and args.output is not None and args.output.with_suffix(".json").exists():
        previous = args.output.with_suffix(".json")
        old = json.loads(previous.read_text())
        done = {(r["setting"], r["model"], r["seed"]) for r in rows}
        kept = [r for r in old["results"] if (r["setting"], r["model"], r["seed"]) not in done]
        rows = kept + rows
        settings = {**old["settings"], **settings}
        seconds += old.get("total_seconds", 0)
    report = {
        "settings": settings,
        "training": {**TRAINING, "filter_widths": LOW_LABEL_WIDTHS, "data_seed": SEED},
        "results": rows,
        "machine": {**machine(), "jobs": args.jobs, "threads_per_model": args.threads},
        "total_seconds": seconds,
    }
    text = markdown(report)
    print(text)
    report["quick"] = args.quick
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.with_suffix(".json").write_text(json.dumps(report) + "\n")
        args.output.with_suffix(".md").write_text(text)
    return report


if __name__ == "__main__":
    main()
