"""The ``skpose3d fit``, ``predict`` and ``evaluate`` commands.

Each command is an object with ``add_arguments(parser)`` and ``run(args)`` (returning the exit
code) registered in :data:`skpose3d.__main__.COMMANDS`. Exit codes: 0 success, 1 a runtime error
(missing or unreadable file, wrong array shapes), 2 a usage error (bad or conflicting options).
Errors are one line on stderr, ``skpose3d <command>: error: <what is wrong>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from ._sequences import check_targets, check_videos
from .nn.temporal import check_filter_widths
from .skeleton import get_skeleton

DATA_LAYOUT = """\
data files (.npz):
  keypoints   2D keypoints, float (n_frames, n_joints, C), C = 2 (x, y) or 3 (x, y,
              confidence), in pixels with --image-size (or for predict and evaluate,
              if the model was fitted with one), else normalised screen units
  poses_3d    3D poses, float (n_frames, n_joints_out, 3), camera space, metres
  lengths     optional int (n_videos,): frames per video when several videos are
              concatenated along the first axis (they must sum to n_frames)
  A 4-D array (n_videos, n_frames, n_joints, C) holds equally long videos. Object arrays
  (one video per entry) need --allow-pickle: pickled data can run code, so only for
  files you trust. predict also reads a .npy file holding the keypoints array alone.
Human3.6M: --h36m DATA_3D DATA_2D reads the VideoPose3D files (data_3d_h36m.npz and
  e.g. data_2d_h36m_cpn_ft_h36m_dbb.npz) with skpose3d.datasets.load_h36m; these files
  are pickled (trusted files only); keypoints are normalised per camera (no --image-size).
"""


class UsageError(Exception):
    """Options that do not fit together (exit code 2)."""


# -- option types ---------------------------------------------------------------------------


def _int_tuple(text: str) -> tuple[int, ...]:
    try:
        return check_filter_widths(int(v) for v in text.split(","))
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _pixels(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive number of pixels (give W H, e.g. 1920 1080)"
        )
    return value


def _add_image_size(parser, help_text: str) -> None:
    # One spelling for every command (``lift`` takes it the same way): two numbers, W H.
    parser.add_argument("--image-size", nargs=2, type=_pixels, metavar=("W", "H"), help=help_text)


def _device(text: str) -> str:
    if text == "auto":
        return text
    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a torch device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: CUDA is not available on this machine")
    return text


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _skeleton_name(text: str) -> str:
    try:
        get_skeleton(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _add_data_arguments(parser, *, labelled: bool):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = DATA_LAYOUT
    what = "keypoints and poses_3d" if labelled else "keypoints"
    parser.add_argument("data", nargs="?", type=Path, help=f".npz file with {what}")
    parser.add_argument(
        "--h36m", nargs=2, type=Path, metavar=("DATA_3D", "DATA_2D"),
        help="read Human3.6M from the VideoPose3D files instead of DATA",
    )  # fmt: skip
    parser.add_argument("--subjects", type=_names, help="Human3.6M subjects, e.g. S9,S11")
    parser.add_argument(
        "--allow-pickle", action="store_true", help="allow object arrays (trusted files only)"
    )


# -- reading and writing arrays -------------------------------------------------------------


def _read_arrays(path: Path, allow_pickle: bool) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        data = np.load(path, allow_pickle=allow_pickle)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ValueError(
                f"{path} holds object arrays (pickled data); store each key as one array plus "
                "'lengths', or pass --allow-pickle if you trust the file"
            ) from None
        raise ValueError(f"{path} is not a readable .npy/.npz file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable .npy/.npz file ({exc})") from None
    if isinstance(data, np.ndarray):
        return {"keypoints": data}
    try:
        with data:
            return {key: data[key] for key in data.files}
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}; pass --allow-pickle if you trust the file") from None


def _split(arrays: dict, key: str, path: Path):
    """The videos stored under ``key``: a list, or a 3-D/4-D array kept as is."""
    if key not in arrays:
        raise ValueError(f"{path} has no {key!r} array (it holds {sorted(arrays)})")
    value = arrays[key]
    if value.dtype == object:
        return list(value)
    lengths = arrays.get("lengths")
    if lengths is None:
        return value
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu" or (lengths < 1).any():
        raise ValueError(f"{path}: 'lengths' must be a 1-D array of positive integers")
    if value.ndim < 1 or lengths.sum() != len(value):
        raise ValueError(
            f"{path}: 'lengths' sums to {int(lengths.sum())} but {key!r} has "
            f"{len(value) if value.ndim else 0} frames"
        )
    return np.split(value, np.cumsum(lengths)[:-1])


def _load_h36m(args, labelled: bool):
    try:
        from .datasets import load_h36m
    except ImportError:
        raise UsageError("--h36m needs skpose3d.datasets.load_h36m, not in this version") from None
    from .camera import normalize_screen_coordinates

    path_3d, path_2d = args.h36m
    data = load_h36m(path_3d, path_2d, subjects=args.subjects)
    X = [
        normalize_screen_coordinates(kp, cam.width, cam.height).astype(np.float32)
        for kp, cam in zip(data.keypoints, data.intrinsics)
    ]
    return X, (list(data.poses_3d) if labelled else None), list(data.actions)


def _load_data(args, labelled: bool):
    """Keypoints, poses (or None) and per-video action labels (or None) from DATA or --h36m."""
    if (args.data is None) == (args.h36m is None):
        raise UsageError("give either DATA or --h36m DATA_3D DATA_2D (exactly one)")
    if args.h36m is not None:
        if getattr(args, "image_size", None) is not None:
            raise UsageError("--image-size does not apply to --h36m (normalised per camera)")
        return _load_h36m(args, labelled)
    if args.subjects is not None:
        raise UsageError("--subjects applies to --h36m only")
    arrays = _read_arrays(args.data, args.allow_pickle)
    X = _split(arrays, "keypoints", args.data)
    y = _split(arrays, "poses_3d", args.data) if labelled else None
    return X, y, None


def _check(X, y, name: str, n_joints_in, n_joints_out, channels=(2, 3)):
    """Validate; errors name the file and its arrays. Return the videos and poses as lists."""
    try:
        X_list, structure = check_videos(X, "keypoints", n_joints=n_joints_in, channels=channels)
        if y is None:
            return X_list, None
        y_list, _ = check_videos(y, "poses_3d", n_joints=n_joints_out, channels=(3,))
        if len(y_list) != len(X_list):
            raise ValueError(f"poses_3d holds {len(y_list)} videos but keypoints {len(X_list)}")
        for i, (pose, video) in enumerate(zip(y_list, X_list)):
            if len(pose) != len(video):
                at = "" if structure.kind == "array3" else f"[{i}]"  # one video: no index
                raise ValueError(
                    f"poses_3d{at} has {len(pose)} frames but keypoints{at} has {len(video)}"
                )
        return X_list, check_targets(y_list, X_list, "poses_3d", n_joints=n_joints_out)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _write_predictions(path: Path, poses, structure_kind: str):
    if structure_kind == "list":
        lengths = np.array([len(p) for p in poses])
        array = np.concatenate(list(poses)) if len(poses) else np.zeros((0, 0, 3))
    else:
        lengths, array = None, np.asarray(poses)
    if path.suffix == ".npy":
        np.save(path, array)
    elif path.suffix == ".npz":
        extra = {} if lengths is None else {"lengths": lengths}
        np.savez(path, poses_3d=array, **extra)
    else:
        raise UsageError(f"--output {path}: use a .npz or .npy file name")


# -- commands -------------------------------------------------------------------------------


def _guard(command: str, run, args) -> int:
    """Run a command; turn expected failures into one-line messages and exit codes."""
    try:
        return run(args)
    except UsageError as exc:
        code, message = 2, str(exc)
    except FileNotFoundError as exc:
        code, message = 1, str(exc) if exc.filename is None else f"{exc.filename}: no such file"
    except (ValueError, TypeError, OSError, KeyError, RuntimeError) as exc:
        code, message = 1, str(exc)
    print(f"skpose3d {command}: error: {message}", file=sys.stderr)
    return code


def _fit_arguments(parser):
    from .lifters import TemporalPoseLifter

    d = TemporalPoseLifter().get_params()
    _add_data_arguments(parser, labelled=True)
    parser.add_argument("-o", "--output", type=Path, required=True, help="model file to write")
    add = parser.add_argument
    add("--filter-widths", type=_int_tuple, default=d["filter_widths"], help="e.g. 3,3,3,3,3")
    add("--channels", type=int, default=d["channels"], help="hidden channels (paper: 1024)")
    add("--dropout", type=float, default=d["dropout"])
    add("--epochs", type=int, default=d["n_epochs"], help="training epochs (paper: 80)")
    add("--batch-size", type=int, default=d["batch_size"])
    add("--learning-rate", type=float, default=d["learning_rate"])
    add("--lr-decay", type=float, default=d["lr_decay"])
    add("--causal", action="store_true", help="use past frames only (real-time use)")
    _add_image_size(parser, "keypoints are pixels of W x H images (stored in the model)")
    add("--input-skeleton", type=_skeleton_name, default="h36m", help="h36m, coco or mpii")
    add("--output-skeleton", type=_skeleton_name, help="default: the input skeleton")
    add("--no-flip-augmentation", action="store_true")
    add("--no-test-time-flip", action="store_true")
    add("--early-stopping", action="store_true", help="hold out videos, keep the best epoch")
    add("--device", type=_device, default=d["device"], help="auto, cpu, cuda, cuda:1, ...")
    add("--seed", type=int, help="random seed")
    add("-v", "--verbose", action="count", default=0, help="show training progress")


def _fit(args) -> int:
    from .lifters import TemporalPoseLifter

    lifter = TemporalPoseLifter(
        filter_widths=args.filter_widths, channels=args.channels, dropout=args.dropout,
        causal=args.causal, input_skeleton=args.input_skeleton,
        output_skeleton=args.output_skeleton, image_size=_size(args), n_epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, lr_decay=args.lr_decay,
        flip_augmentation=not args.no_flip_augmentation,
        test_time_flip=not args.no_test_time_flip, early_stopping=args.early_stopping,
        device=args.device, random_state=args.seed, verbose=args.verbose,
    )  # fmt: skip
    try:
        lifter._check_config()
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    X, y, _ = _load_data(args, labelled=True)
    skel_in = get_skeleton(args.input_skeleton)
    skel_out = get_skeleton(args.output_skeleton or args.input_skeleton)
    X, y = _check(X, y, str(args.data or args.h36m[1]), skel_in.n_joints, skel_out.n_joints)
    lifter.fit(X, y)
    path = lifter.save(args.output)
    print(f"fitted on {len(X)} videos in {lifter.n_iter_} epochs; wrote {path}")
    return 0


def _size(args):
    return None if args.image_size is None else tuple(args.image_size)


def _model_argument(parser):
    parser.add_argument("model", type=Path, help="model file written by skpose3d fit")
    parser.add_argument("--device", type=_device, help="override the model's device (e.g. cpu)")
    _add_image_size(
        parser,
        "keypoints are pixels of W x H images (default: the image size the model was fitted "
        "with; normalised screen units if it has none)",
    )


def _load_lifter(args):
    from .persistence import load

    lifter = load(args.model, device=args.device)
    if not hasattr(lifter, "n_joints_in_"):
        raise ValueError(f"{args.model} holds no fitted lifter (write one with skpose3d fit)")
    if args.image_size is not None:  # the lifter normalises with the image size it is given
        lifter.set_params(image_size=_size(args))
    elif args.h36m is not None:  # already normalised per camera: must not be divided again
        lifter.set_params(image_size=None)
    return lifter


def _predict_arguments(parser):
    _model_argument(parser)
    _add_data_arguments(parser, labelled=False)
    parser.add_argument(
        "-o", "--output", type=Path, required=True,
        help=".npz (poses_3d, plus lengths for several videos) or .npy (poses only; several "
        "videos concatenated along frames)",
    )  # fmt: skip


def _predict(args) -> int:
    if args.output.suffix not in (".npz", ".npy"):
        raise UsageError(f"--output {args.output}: use a .npz or .npy file name")
    lifter = _load_lifter(args)
    X, _, _ = _load_data(args, labelled=False)
    name = str(args.data or args.h36m[1])
    _check(X, None, name, lifter.n_joints_in_, None, channels=(lifter.n_channels_in_,))
    poses = lifter.predict(X)
    _write_predictions(args.output, poses, "list" if isinstance(X, list) else "array")
    print(f"wrote {args.output}")
    return 0


def _evaluate_arguments(parser):
    _model_argument(parser)
    _add_data_arguments(parser, labelled=True)


def _evaluate(args) -> int:
    from . import metrics

    lifter = _load_lifter(args)
    X, y, actions = _load_data(args, labelled=True)
    name = str(args.data or args.h36m[1])
    n_out = lifter.output_skeleton_.n_joints
    X, y_true = _check(X, y, name, lifter.n_joints_in_, n_out, channels=(lifter.n_channels_in_,))
    y_pred = list(lifter.predict(X))
    n_frames = sum(len(v) for v in y_true)
    print(f"{len(y_true)} videos, {n_frames} frames (errors in mm, poses read as metres)")
    for label, fn in [("MPJPE", metrics.mpjpe), ("P-MPJPE", metrics.p_mpjpe),
                      ("N-MPJPE", metrics.n_mpjpe), ("MPJVE", metrics.mpjve)]:  # fmt: skip
        line = f"{label:8s} {1000 * fn(y_true, y_pred):8.1f}"
        if actions is not None:
            per_action = [
                fn([t for t, a in zip(y_true, actions) if a == act],
                   [p for p, a in zip(y_pred, actions) if a == act])
                for act in sorted(set(actions))
            ]  # fmt: skip
            line += f"   averaged over {len(per_action)} actions: {1000 * np.mean(per_action):.1f}"
        print(line)
    return 0


def _command(name, add_arguments, run):
    return SimpleNamespace(add_arguments=add_arguments, run=lambda args: _guard(name, run, args))


fit = _command("fit", _fit_arguments, _fit)
predict = _command("predict", _predict_arguments, _predict)
evaluate = _command("evaluate", _evaluate_arguments, _evaluate)
