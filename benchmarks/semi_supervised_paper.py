"""The paper's low-label semi-supervised protocol on the large CMU set (issue 10).

The authors' semi-supervised Human3.6M result (ground-truth 2D): labels from 10% of S1 (one
contiguous chunk of each video), S5-S8 as unlabeled video with their cameras, 27 frames, **200
epochs, batch 64, lr decay 0.98, 5 warm-up epochs**: 65.2 vs 80.7 mm supervised (-19%). Here:

- **Data:** ``cmu_mocap17_large.npz`` (every subject with their own skeleton), four virtual
  Human3.6M cameras, detector noise (``_protocol.cmu_large_views``). **Labels:** 10% of subject
  2's views (each clip x camera: one contiguous chunk of 10% of its frames, from a fixed
  seed; 2,568 view-frames). **Unlabeled:** every view of subjects 3, 5, 6 (75,732
  view-frames) with its own camera. **Test:** subjects 7, 8; **held out:** subject 9, on which
  no setting was chosen (its column was added after every choice below was made).
- **Schedule:** the paper's epochs, batch, decay and warm-up; 256 channels, not 1,024 (CPU).
  An epoch: the labeled clips once (40 batches of 64 + 64 unlabeled); 8,000 steps in all.
- **Old settings:** the issue's held-out benchmark's (10 epochs, batch 256, 1 warm-up epoch).
- **Supervised baseline:** :class:`~skpose3d.TemporalPoseLifter` (``trajectory=True``), same
  schedule. Ablations change one thing (``VARIANTS``; probes in ``_semi_probes.py``).
- **Oracle (headroom):** a supervised lifter also given the unlabeled videos' 3D, with the
  recipe's steps and total decay: the largest gain this protocol allows.
- **Fewer labels** (``--label-fraction F``, the paper's Fig. 3 direction): chunks of ``F`` of
  each view, every schedule scaled by ``k = 0.1 / F`` so that the gradient steps, unlabeled
  clips seen, warm-up steps and total lr decay stay the recipe's: epochs x k, warm-up epochs
  x k, decay ** (1 / k) (``scaled``); ``F = 0.025`` gives 20 warm-up epochs (the paper's).
- **Other subjects** (``--labeled-subjects``, ``--unlabeled-subjects``): ``k`` also counts the
  labeled subjects' frames against subject 2's (``stretch``), so ``--labeled-subjects 1
  --label-fraction 0.0261`` labels as many view-frames as the recipe, with its schedule.

``python benchmarks/semi_supervised_paper.py --seeds 0 1 2`` runs every row; ``--rows`` selects,
``--update`` merges into ``results/semi_supervised_paper.{json,md}``, ``--quick`` is a smoke
test that writes only to an explicit ``--output``. Two fits at a time, one torch thread each.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _protocol import (  # noqa: E402
    LARGE_HELD_OUT_SUBJECTS,
    LARGE_TEST_SUBJECTS,
    axis_errors_mm,
    cmu_large_views,
    machine,
    rotation_error_deg,
    subject_frames,
)
from _semi_probes import PROBES, prepare  # noqa: E402

from skpose3d import SemiSupervisedLifter, TemporalPoseLifter, UnlabeledVideos  # noqa: E402
from skpose3d.metrics import mpjpe, n_mpjpe, p_mpjpe  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
LABELED_SUBJECTS = (2,)
LABEL_FRACTION = 0.1
UNLABELED_SUBJECTS = (3, 5, 6)
# what a run's labels and unlabeled videos are (the command line can change each)
PROTOCOL = dict(label_fraction=LABEL_FRACTION, labeled_subjects=list(LABELED_SUBJECTS),
                unlabeled_subjects=list(UNLABELED_SUBJECTS))  # fmt: skip
DATA_SEED = 0
ARCHITECTURE = dict(filter_widths=(3, 3, 3), channels=256, dropout=0.25, learning_rate=1e-3)
SCHEDULES = {
    "recipe": dict(n_epochs=200, batch_size=64, lr_decay=0.98, warmup_epochs=5),
    "old": dict(n_epochs=10, batch_size=256, lr_decay=0.95, warmup_epochs=1),
}
SCHEDULES["recipe, ground-truth 2D"] = SCHEDULES["recipe"]  # the same without detector noise
NOISELESS = {"recipe, ground-truth 2D"}
# row -> (schedule, model, changes to the semi-supervised lifter's parameters, probe)
VARIANTS = {
    "supervised": ("recipe", "supervised", {}, None),
    "semi-supervised": ("recipe", "semi", {}, None),
    "old settings: supervised": ("old", "supervised", {}, None),
    "old settings: semi-supervised": ("old", "semi", {}, None),
    "old settings: warm-up 5 epochs": ("old", "semi", {"warmup_epochs": 5}, None),
    "old settings: default warm-up (auto)": ("old", "semi", {"warmup_epochs": "auto"}, None),
    "no bone term": ("recipe", "semi", {"bone_length_weight": 0.0}, None),
    "bone term L2": ("recipe", "semi", {"bone_length_norm": "l2"}, None),
    "warm-up 1 epoch": ("recipe", "semi", {"warmup_epochs": 1}, None),
    "warm-up 50 epochs": ("recipe", "semi", {"warmup_epochs": 50}, None),
    "2D loss x 0.3": ("recipe", "semi", {"projection_weight": 0.3}, None),
    "2D loss x 3": ("recipe", "semi", {"projection_weight": 3.0}, None),
    "batch 256 (4x fewer steps)": ("recipe", "semi", {"batch_size": 256}, None),
    "ground-truth 2D: supervised": ("recipe, ground-truth 2D", "supervised", {}, None),
    "ground-truth 2D: semi-supervised": ("recipe, ground-truth 2D", "semi", {}, None),
    "one camera for all unlabeled videos": ("recipe", "semi", {}, "one camera"),
    "unlabeled clips not flipped": ("recipe", "semi", {}, "no unlabeled flip"),
    "separate BatchNorm passes": ("recipe", "semi", {}, "separate BN"),
    "true trajectory in the 2D loss": ("recipe", "semi", {}, "true trajectory"),
    "beyond the paper: rigid bones per video": ("recipe", "semi", {}, "rigid bones"),
    **{f"beyond the paper: multi-view consistency{tag}": ("recipe", "semi",
       {"multi_view_weight": w}, None)
       for tag, w in (("", 1.0), (" x 0.1", 0.1), (" x 0.3 (chosen by CV)", 0.3))},
    "oracle: unlabeled videos' 3D as labels": ("recipe", "oracle", {}, None),
}  # fmt: skip
SUPERVISED_OF = {"recipe": "supervised", "old": "old settings: supervised",
                 "recipe, ground-truth 2D": "ground-truth 2D: supervised"}  # fmt: skip


def label_chunks(views, fraction: float, seed: int):
    """One contiguous chunk of ``fraction`` of each view's frames (the paper's ``--subset``)."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for x, pose in zip(views.X, views.poses_3d):
        length = max(1, int(round(fraction * len(x))))
        start = int(rng.integers(0, len(x) - length + 1))
        X.append(x[start : start + length])
        y.append(pose[start : start + length])
    return X, y


def stretch(label_fraction: float, labeled_subjects=LABELED_SUBJECTS) -> float:
    """``k``: how many times fewer labeled frames than the recipe's (10% of subject 2) a run
    has, so how many times the recipe's epochs give the recipe's steps."""
    k = LABEL_FRACTION / label_fraction
    if tuple(labeled_subjects) != LABELED_SUBJECTS:
        k *= subject_frames(LABELED_SUBJECTS) / subject_frames(labeled_subjects)
    return k


def scaled(params: dict, k: float) -> dict:
    """``params`` with its schedule stretched ``k`` times (module docstring)."""
    out = dict(params)
    out["n_epochs"] = max(1, round(params["n_epochs"] * k))
    if isinstance(params.get("warmup_epochs"), int):
        out["warmup_epochs"] = round(params["warmup_epochs"] * k)
    out["lr_decay"] = params["lr_decay"] ** (1 / k)
    return out


def load(quick: bool, noise: bool = True, protocol: dict = PROTOCOL) -> dict:
    limits = dict(max_clips=1, max_frames=120, noise=noise) if quick else {"noise": noise}
    lab = cmu_large_views(protocol["labeled_subjects"], seed=DATA_SEED, **limits)
    X, y = label_chunks(lab, protocol["label_fraction"], DATA_SEED)
    # (a test subject among them gets another draw of detector noise than its test views)
    unl = cmu_large_views(protocol["unlabeled_subjects"], seed=DATA_SEED + 3, **limits)
    test = cmu_large_views(LARGE_TEST_SUBJECTS, seed=1, **limits)
    held = cmu_large_views(LARGE_HELD_OUT_SUBJECTS, seed=2, **limits)
    return dict(X=X, y=y, unlabeled=unl, test=test, held_out=held, groups=lab.video_ids)


def make_lifter(row: str, seed: int, quick: bool, k: float = 1.0):
    """The lifter of ``row``, its schedule stretched ``k`` times (``scaled``)."""
    schedule, model, changes, _ = VARIANTS[row]
    params = {**ARCHITECTURE, **SCHEDULES[schedule], "random_state": seed, "n_jobs": 1}
    if quick:
        params.update(channels=16, n_epochs=3, warmup_epochs=1)
    if model in ("supervised", "oracle"):
        params.pop("warmup_epochs")
        return TemporalPoseLifter(trajectory=True, **scaled(params, k))
    params = scaled({**params, **changes}, k)
    if quick:
        params["warmup_epochs"] = min(params["warmup_epochs"], 1)
    probe = VARIANTS[row][3]
    cls = PROBES[probe] if probe in PROBES else SemiSupervisedLifter
    return cls(**params)


def evaluate(lifter, views) -> dict:
    pred = [np.asarray(p) for p in lifter.predict(views.X)]
    truth = views.poses_3d
    return {
        "mpjpe_mm": 1000 * mpjpe(truth, pred),
        "n_mpjpe_mm": 1000 * n_mpjpe(truth, pred),
        "p_mpjpe_mm": 1000 * p_mpjpe(truth, pred),
        "trajectory_mm": 1000
        * mpjpe([t[:, :1] for t in truth], [p[:, :1] for p in pred], root=None),
        "rotation_deg": rotation_error_deg(truth, pred),
        **axis_errors_mm(truth, pred),
    }


def fit_one(row: str, seed: int, quick: bool, protocol: dict = PROTOCOL) -> dict:
    """Fit and score one row with one seed (in its own process, one torch thread)."""
    torch.set_num_threads(1)
    data = load(quick, noise=VARIANTS[row][0] not in NOISELESS, protocol=protocol)
    unl = data["unlabeled"]
    k = stretch(protocol["label_fraction"], protocol["labeled_subjects"])
    if VARIANTS[row][1] == "oracle":  # every frame labeled; as many steps as the recipe
        n_labeled = sum(map(len, data["X"]))
        data["X"], data["y"] = data["X"] + list(unl.X), data["y"] + list(unl.poses_3d)
        k *= n_labeled / sum(map(len, data["X"]))
    lifter = make_lifter(row, seed, quick, k)
    start = time.perf_counter()
    if isinstance(lifter, SemiSupervisedLifter):
        cameras = list(unl.intrinsics)
        if VARIANTS[row][3] == "one camera":  # every video given the first camera's intrinsics
            cameras = [cameras[0]] * len(cameras)
        prepare(lifter, unl)
        unlabeled = UnlabeledVideos(  # the rig's rotations: used by multi_view_weight > 0 only
            unl.X, intrinsics=cameras, rotations=unl.rotations, recordings=unl.video_ids
        )
        lifter.fit(data["X"], data["y"], X2d_unlabeled=unlabeled)
    else:
        lifter.fit(data["X"], data["y"])
    result = {"row": row, "seed": seed, "fit_seconds": time.perf_counter() - start}
    result["schedule"] = {k: getattr(lifter, k) for k in ("n_epochs", "lr_decay", "batch_size")}
    result["schedule"]["warmup_epochs"] = getattr(lifter, "warmup_epochs", None)
    result["test"] = evaluate(lifter, data["test"])
    result["held_out"] = evaluate(lifter, data["held_out"])
    result["labeled_frames"] = int(sum(map(len, data["X"])))
    result["unlabeled_frames"] = int(sum(map(len, unl.X)))
    result["steps"] = int(
        len(lifter.history_) * np.ceil(result["labeled_frames"] / lifter.batch_size)
    )
    result["history"] = [
        {k: None if h.get(k) is None else round(h[k], 5)
         for k in ("loss", "pose", "trajectory", "projection", "bone_length")}
        for h in lifter.history_[:: max(1, len(lifter.history_) // 20)]
    ]  # fmt: skip
    print(json.dumps({k: v for k, v in result.items() if k != "history"}), flush=True)
    return result


COLUMNS = {"MPJPE": "mpjpe_mm", "N-MPJPE": "n_mpjpe_mm", "P-MPJPE": "p_mpjpe_mm",
           "trajectory": "trajectory_mm", "orientation (°)": "rotation_deg",
           "in-plane": "in_plane_mm", "depth": "depth_mm"}  # fmt: skip


def _mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 0:  # a metric added after the run
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{values.mean():.1f} ± {values.std(ddof=1):.1f}"


def by_row(results) -> dict:
    """``{row: {seed: result}}`` in the order of VARIANTS."""
    rows = {}
    for r in sorted(results, key=lambda r: (list(VARIANTS).index(r["row"]), r["seed"])):
        rows.setdefault(r["row"], {})[r["seed"]] = r
    return rows


def changes(rows, row, split="test", against=None) -> dict:
    """Per-seed MPJPE change (%) of ``row`` against ``against`` (default: its schedule's
    supervised lifter), paired by seed."""
    against = against or SUPERVISED_OF[VARIANTS[row][0]]
    own, base = rows.get(row, {}), rows.get(against, {})
    return {
        s: 100 * (own[s][split]["mpjpe_mm"] / base[s][split]["mpjpe_mm"] - 1)
        for s in own
        if s in base
    }


def markdown(report: dict) -> str:
    rows = by_row(report["results"])
    d = report["data"]
    m = report["machine"]
    fraction = report.get("label_fraction", LABEL_FRACTION)
    labeled = report.get("labeled_subjects", LABELED_SUBJECTS)
    unlabeled = report.get("unlabeled_subjects", UNLABELED_SUBJECTS)
    recipe = scaled(SCHEDULES["recipe"], report.get("stretch", LABEL_FRACTION / fraction))
    stretched = (
        ""
        if recipe["n_epochs"] == SCHEDULES["recipe"]["n_epochs"]  # the recipe, to rounding
        else f" stretched to {recipe['n_epochs']} epochs, {recipe['warmup_epochs']} warm-up "
        f"epochs, decay {recipe['lr_decay']:.4f} (the recipe's steps and total decay for "
        f"these labels)"
    )
    lines = [
        "# Semi-supervised back-projection: the paper's low-label protocol on the large CMU set",
        "",
        f"`{report['command']}` (and `--update` runs for added rows); "
        f"{report['total_seconds'] / 60:.0f} min of fits in all. Labels: {fraction:.1%} of "
        f"subject {', '.join(map(str, labeled))}'s views, one contiguous chunk each "
        f"({d['labeled_frames']:,} view-frames); unlabeled: subjects "
        f"{', '.join(map(str, unlabeled))} ({d['unlabeled_frames']:,} view-frames, each "
        f"with its own camera); test: subjects {', '.join(map(str, LARGE_TEST_SUBJECTS))}; held "
        f"out: subject {', '.join(map(str, LARGE_HELD_OUT_SUBJECTS))} (no setting was chosen on "
        "it). 27 frames, 256 channels, Amsgrad lr 1e-3, precise BatchNorm (the default). Recipe: "
        "200 epochs, batch 64 (+64 unlabeled), lr decay 0.98, 5 warm-up epochs (the paper's "
        f"command){stretched}. Old settings: 10 epochs, batch 256, decay 0.95, 1 warm-up epoch. "
        "Errors in mm, mean ± std over the seeds (the lifters' `random_state`; data fixed); "
        f"trajectory: MPJPE of the root in camera space; orientation: mean angle of P-MPJPE's "
        "Procrustes rotation (the body's global orientation error); in-plane and depth: mean "
        "error of the root-relative joints in the image plane and along the camera axis. "
        f"Machine: {m['cpu']}, {m['cpu_count']} CPUs, torch {m['torch']}, two fits at a time "
        f"with one thread each; load average {report['load'][0]} at start, "
        f"{report['load'][1]} at end.",
        "",
        "| row | seeds | " + " | ".join(COLUMNS) + " | held-out MPJPE | MPJPE change | fit (s) |",
        "|---|---|" + "---:|" * (len(COLUMNS) + 3),
    ]
    for row, seeds in rows.items():
        runs = list(seeds.values())
        cells = [
            _mean_std([r["test"][k] for r in runs if k in r["test"]]) for k in COLUMNS.values()
        ]
        held = _mean_std([r["held_out"]["mpjpe_mm"] for r in runs])
        change = changes(rows, row)
        if row in SUPERVISED_OF.values():
            text = "–"
        else:
            c = list(change.values())
            text = f"{np.mean(c):+.1f}%" if c else "?"
        fit = np.mean([r["fit_seconds"] for r in runs])
        seed_text = ",".join(map(str, seeds))
        lines.append(
            f"| {row} | {seed_text} | " + " | ".join(cells) + f" | {held} | {text} | {fit:.0f} |"
        )
    lines += [
        "",
        "MPJPE change against the supervised lifter of the same schedule, per seed (test; held "
        "out in brackets):",
        "",
    ]
    for row in rows:
        if row in SUPERVISED_OF.values():
            continue
        test, held = changes(rows, row), changes(rows, row, "held_out")
        per_seed = ", ".join(f"seed {s}: {c:+.1f}% ({held[s]:+.1f}%)" for s, c in test.items())
        if per_seed:
            lines.append(f"- {row}: {per_seed}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--jobs", type=int, default=2, help="fits at the same time")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (see --output)")
    parser.add_argument("--output", type=Path, default=None, help="path without suffix")
    parser.add_argument("--update", action="store_true", help="merge into the existing results")
    parser.add_argument(
        "--label-fraction", type=float, default=LABEL_FRACTION,
        help="labeled fraction of each view (schedule stretched to the recipe's steps)",
    )  # fmt: skip
    parser.add_argument(
        "--labeled-subjects", nargs="+", type=int, default=list(LABELED_SUBJECTS),
        help="subjects whose views give the labels (schedule stretched to the recipe's steps)",
    )  # fmt: skip
    parser.add_argument(
        "--unlabeled-subjects", nargs="+", type=int, default=list(UNLABELED_SUBJECTS),
        help="subjects whose views are the unlabeled videos",
    )  # fmt: skip
    args = parser.parse_args(argv)
    protocol = {k: getattr(args, k) for k in PROTOCOL}
    if args.output is None and not args.quick:
        args.output = RESULTS / "semi_supervised_paper"
    previous = args.output.with_suffix(".json") if args.output is not None else None
    old = None
    if args.update and previous is not None and previous.exists():
        old = json.loads(previous.read_text())  # checked before any fit is spent
        for key, value in protocol.items():
            if old.get(key, PROTOCOL[key]) != value:
                parser.error(f"--update: {previous} holds another --{key.replace('_', '-')}")
    start, load0 = time.perf_counter(), machine()["load_average"][0]
    tasks = [(row, seed) for seed in args.seeds for row in args.rows]
    results = Parallel(n_jobs=args.jobs)(
        delayed(fit_one)(row, seed, args.quick, protocol) for row, seed in tasks
    )
    seconds = time.perf_counter() - start
    command = "python benchmarks/semi_supervised_paper.py " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    if old is not None:
        done = {(r["row"], r["seed"]) for r in results}
        results = [r for r in old["results"] if (r["row"], r["seed"]) not in done] + results
        seconds += old["total_seconds"]
        load0 = old["load"][0]
        command = old["command"]  # the run that made the table; updates only add rows
    # the header states the protocol's labels (an oracle row counts the unlabeled frames too)
    real = next((r for r in results if VARIANTS[r["row"]][1] != "oracle"), results[0])
    report = {
        "command": command,
        "data": {k: real[k] for k in ("labeled_frames", "unlabeled_frames")},
        "results": results,
        "machine": machine(),
        "total_seconds": seconds,
        "quick": args.quick,
        **protocol,
        "stretch": stretch(args.label_fraction, args.labeled_subjects),
    }
    report["load"] = [load0, report["machine"]["load_average"][0]]
    if old is not None:  # merged rows ran on each machine named
        cpus = [*old["machine"]["cpu"].split(" + "), report["machine"]["cpu"]]
        report["machine"]["cpu"] = " + ".join(dict.fromkeys(cpus))
    text = markdown(report)
    print(text)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.with_suffix(".json").write_text(json.dumps(report, default=float) + "\n")
        args.output.with_suffix(".md").write_text(text)
    return report


if __name__ == "__main__":
    main()
