"""The ``skpose3d lift`` command: a detector's keypoint file in, 3D poses out.

read (:func:`skpose3d.io.read_keypoints`) -> fill gaps (:class:`~skpose3d.preprocessing.GapFiller`)
-> map to the model's input skeleton (:class:`~skpose3d.preprocessing.KeypointMapper`) ->
normalise with the image size (:class:`~skpose3d.preprocessing.ScreenNormalizer`) -> predict with
a saved model (:func:`skpose3d.persistence.load_model`) or a pretrained one
(:mod:`skpose3d.pretrained`, by name; the default is the one for the file's skeleton) -> write
(:func:`skpose3d.io.write_poses`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cli import UsageError, _command
from .io import FORMATS, read_keypoints, write_poses

CHUNK_FRAMES = 5000
"""Frames predicted per step on long videos (one progress bar step each)."""


def _add_arguments(parser):
    add = parser.add_argument
    add("input", type=Path, help="keypoint file, or OpenPose's output folder")
    add("--format", default="auto", choices=["auto", *FORMATS], help="default: from the file")
    add(
        "--model",
        help="a pretrained model's name (see skpose3d.pretrained.list_models(); default: the "
        "243-frame one for the file's skeleton) or a model file written by skpose3d fit or "
        "skpose3d.persistence.save_model",
    )
    add(
        "--image-size", nargs=2, metavar=("W", "H"),
        help="image width and height in pixels; needed unless the file records them",
    )  # fmt: skip
    add("--track", help="keep the file's track with this id (default: the highest-scoring one)")
    add("--all-tracks", action="store_true", help="lift every track (one video each)")
    add("--out", type=Path, help=".npz or .csv (default: <input>_poses.npz beside the input)")
    add("--animation", type=Path, help="also animate the first video to .gif or .mp4")
    add("--device", help="override the model's device (e.g. cpu)")
    add("--no-progress", action="store_true", help="no progress bar")


def _image_size(values):
    if values is None:
        return None
    try:
        width, height = (float(v) for v in values)
    except ValueError:
        raise UsageError(f"--image-size {' '.join(values)}: expected W H, e.g. 1920 1080") from None
    if not (width > 0 and height > 0 and np.isfinite(width + height)):
        raise UsageError(f"--image-size {' '.join(values)}: width and height must be positive")
    return width, height


# The pretrained model used when --model is not given, by the skeleton the reader returns.
DEFAULT_PRETRAINED = {
    "h36m": "h36m-243",
    "coco": "coco-243",
    "mpii": "mpii-243",
    "mediapipe": "mediapipe-243",
}


def _load(model, skeleton, device):
    """The lifter named or stored by ``--model``, and how to name it in the output."""
    from . import pretrained
    from .persistence import load_model

    if model is None:
        model = DEFAULT_PRETRAINED.get(skeleton, "coco-243")
    if not Path(model).exists() and model in pretrained.list_models():
        return pretrained._load_lifter(model, device=device), f"pretrained {model}"
    if not Path(model).exists():
        raise UsageError(
            f"--model {model}: no such file, nor a pretrained model name (available: "
            f"{', '.join(pretrained.list_models())})"
        )
    return load_model(model, device=device), str(model)


def _track(text):
    """A track id as the file may hold it: an integer where it looks like one."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _prepare(found, lifter, image_size):
    """Fill, map and normalise the read videos for ``lifter``; return them and a summary."""
    from .preprocessing import GapFiller, KeypointMapper, ScreenNormalizer

    notes = []
    videos = []
    for i, video in enumerate(found.videos):
        if not np.isfinite(video[..., :2]).any():
            who = "" if found.track_ids[i] is None else f" (track {found.track_ids[i]})"
            raise ValueError(f"{found.path}: no keypoint detected in any frame{who}")
        videos.append(video)
    filled = GapFiller().transform(videos)
    n_filled = sum(int((~(v[..., 2] > 0)).sum()) for v in videos)
    notes.append(f"filled {n_filled} missing keypoints by interpolation")
    source, target = found.skeleton, lifter.input_skeleton_.name
    if source != target:
        try:
            filled = KeypointMapper(source, target).transform(filled)
        except ValueError as exc:
            raise ValueError(f"the model's input skeleton is {target!r}: {exc}") from None
        notes.append(f"mapped {source} -> {target}")
    keypoints_px = list(filled)
    normalised = ScreenNormalizer(image_size).transform(filled)
    if lifter.n_channels_in_ == 2:
        normalised = [v[..., :2] for v in normalised]
    notes.append(f"normalised with image size {image_size[0]:g} x {image_size[1]:g}")
    return list(normalised), keypoints_px, notes


def _margin(lifter) -> int:
    fields = [lifter.receptive_field_]
    trajectory = getattr(lifter, "trajectory_module_", None)
    if trajectory is not None:
        fields.append(trajectory.receptive_field)
    return max(fields) - 1


def predict_in_chunks(lifter, video, chunk=CHUNK_FRAMES, progress=None):
    """``lifter.predict([video])[0]``, computed ``chunk`` frames at a time.

    Each chunk is predicted with ``receptive_field - 1`` real frames of context on both sides
    (fewer at the video's ends, where the lifter pads as it does for the whole video), so every
    output frame sees the same input frames as in one call and the result is the same.
    """
    margin, n = _margin(lifter), len(video)
    out = []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        lo, hi = max(0, start - margin), min(n, stop + margin)
        pred = lifter.predict([video[lo:hi]])[0]
        out.append(pred[start - lo : start - lo + stop - start])
        if progress is not None:
            progress.update(stop - start)
    return np.concatenate(out)


def _progress_bar(total, disabled):
    if disabled or total <= CHUNK_FRAMES:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="lifting", unit="frame")


def _lift(args) -> int:
    size_arg = _image_size(args.image_size)
    if args.track is not None and args.all_tracks:
        raise UsageError("--track and --all-tracks exclude each other")
    out = args.out or args.input.with_name(f"{args.input.stem}_poses.npz")
    if out.suffix.lower() not in (".npz", ".csv"):
        raise UsageError(f"--out {out}: use a .npz or .csv file name")
    if args.animation is not None and args.animation.suffix.lower() not in (".gif", ".mp4"):
        raise UsageError(f"--animation {args.animation}: use a .gif or .mp4 file name")
    found = read_keypoints(
        args.input,
        args.format,
        image_size=size_arg,
        track=_track(args.track),
        all_tracks=args.all_tracks,
    )
    tracks = "track" if len(found.videos) == 1 else "tracks"
    print(
        f"read {found.path} ({found.format}, {found.layout or 'no detections'} -> "
        f"{found.skeleton}): {len(found.videos)} {tracks}, {found.n_frames} frames "
        f"({found.frame_ids[0]}-{found.frame_ids[-1]}), frames without a detection: "
        f"{', '.join(map(str, found.missing_frames))}"
    )
    if found.image_size is None:
        raise UsageError(
            f"{found.path}: the {found.format} file does not record the image size; pass "
            "--image-size W H in pixels"
        )
    lifter, model_name = _load(args.model, found.skeleton, args.device)
    if not all(hasattr(lifter, a) for a in ("input_skeleton_", "receptive_field_", "predict")):
        raise ValueError(f"{args.model}: holds a {type(lifter).__name__}, not a fitted lifter")
    X, keypoints_px, notes = _prepare(found, lifter, found.image_size)
    print("; ".join(notes))
    # Normalised here, so the lifter must not normalise again.
    if getattr(lifter, "image_size", None) is not None:
        lifter.set_params(image_size=None)
    print(
        f"model {model_name}: {type(lifter).__name__}, receptive field "
        f"{lifter.receptive_field_} frames, {lifter.input_skeleton_.name} -> "
        f"{lifter.output_skeleton_.name}"
    )
    bar = _progress_bar(sum(len(v) for v in X), args.no_progress)
    try:
        poses = [predict_in_chunks(lifter, video, progress=bar) for video in X]
    finally:
        if bar is not None:
            bar.close()
    ids = ["0" if t is None else str(t) for t in found.track_ids]
    write_poses(
        out,
        poses,
        skeleton=lifter.output_skeleton_,
        video_names=[f"track_{t}" for t in ids],
        frame_ids=[found.frame_ids] * len(poses),
    )
    print(
        f"wrote {out}: {len(poses)} video(s) of {found.n_frames} frames, "
        f"{lifter.output_skeleton_.n_joints} joints ({lifter.output_skeleton_.name}), metres"
    )
    if args.animation is not None:
        from .plotting import animate_poses

        animate_poses(
            poses[0],
            keypoints_2d=keypoints_px[0],
            skeleton=lifter.output_skeleton_,
            keypoints_skeleton=lifter.input_skeleton_,
            path=args.animation,
        )
        print(f"wrote {args.animation} (track {ids[0]})")
    return 0


lift = _command("lift", _add_arguments, _lift)
