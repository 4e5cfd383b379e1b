"""Writing lifted 3D poses to ``.npz`` and ``.csv``, and reading them back."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..skeleton import SKELETONS, get_skeleton

_CSV_HEADER = ["video", "frame", "joint", "x", "y", "z"]


@dataclass
class PoseFile:
    """3D poses read back by :func:`read_poses`.

    Attributes
    ----------
    videos : list of ndarray of shape (n_frames, n_joints, 3)
        The poses, float64.
    joint_names : tuple of str
        Name of every joint, in array order.
    skeleton : str or None
        The skeleton's name; for CSV, the preset whose joint names match, else None.
    video_names : list of str
        Name of every video.
    frame_ids : list of ndarray of int
        Frame number of every frame of every video.
    """

    videos: list
    joint_names: tuple
    skeleton: str | None
    video_names: list
    frame_ids: list


def _as_videos(poses) -> list[np.ndarray]:
    if isinstance(poses, np.ndarray) and poses.dtype != object:
        poses = [poses]
    videos = []
    for i, video in enumerate(poses):
        video = np.asarray(video, dtype=np.float64)
        if video.ndim != 3 or video.shape[2] != 3:
            raise ValueError(
                f"poses[{i}] must have shape (n_frames, n_joints, 3) (x, y, z), got {video.shape}"
            )
        videos.append(video)
    if not videos:
        raise ValueError("poses is empty: expected at least one video")
    return videos


def _names(video_names, n: int) -> list[str]:
    names = [str(i) for i in range(n)] if video_names is None else [str(v) for v in video_names]
    if len(names) != n:
        raise ValueError(f"video_names has {len(names)} names for {n} videos")
    if len(set(names)) != n:
        raise ValueError(f"video_names must be unique, got {names}")
    return names


def _frames(frame_ids, videos) -> list[np.ndarray]:
    if frame_ids is None:
        return [np.arange(len(v)) for v in videos]
    if len(videos) == 1 and np.ndim(frame_ids) == 1 and not isinstance(frame_ids[0], np.ndarray):
        frame_ids = [frame_ids]
    if len(frame_ids) != len(videos):
        raise ValueError(f"frame_ids has {len(frame_ids)} entries for {len(videos)} videos")
    out = []
    for i, (ids, video) in enumerate(zip(frame_ids, videos)):
        ids = np.asarray(ids)
        if ids.shape != (len(video),) or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(
                f"frame_ids[{i}] must be {len(video)} integers (one per frame), got "
                f"shape {ids.shape}, dtype {ids.dtype}"
            )
        out.append(ids.astype(np.int64))
    return out


def write_poses(path, poses, *, skeleton="h36m", video_names=None, frame_ids=None) -> Path:
    """Write 3D pose videos to ``.npz`` or ``.csv`` (chosen by the extension).

    ``.npz`` (read with :func:`numpy.load`, no pickle needed): ``poses_<i>`` float
    ``(n_frames, n_joints, 3)`` and ``frame_ids_<i>`` int ``(n_frames,)`` for video ``i`` = 0,
    1, ...; ``video_names`` (str, one per video); ``joint_names`` (str, one per joint);
    ``skeleton`` (str, the skeleton's name).

    ``.csv``: a header ``video,frame,joint,x,y,z`` and one row per video, frame and joint,
    ``joint`` being the joint's name; NaN is written ``nan``.

    Coordinates are written as given (the lifters give camera-space metres, root-relative).

    Parameters
    ----------
    path : str or path-like
        Output file, ending in ``.npz`` or ``.csv``; its folder must exist.
    poses : ndarray (n_frames, n_joints, 3), or list of such arrays
        One video, or several.
    skeleton : str or Skeleton, default="h36m"
        Joint layout of the poses (names the joints).
    video_names : list of str or None, default=None
        Unique name of every video; default ``"0"``, ``"1"``, ...
    frame_ids : array-like of int, list of them, or None, default=None
        Frame number of every frame (e.g. :attr:`KeypointFile.frame_ids`); default 0, 1, ...

    Returns
    -------
    Path
        The file written.

    See Also
    --------
    read_poses : Read the file back.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skpose3d.io import read_poses, write_poses
    >>> poses = np.zeros((4, 17, 3))
    >>> path = write_poses(pathlib.Path(tempfile.mkdtemp()) / "poses.csv", poses)
    >>> path.read_text().splitlines()[:2]
    ['video,frame,joint,x,y,z', '0,0,hip,0.0,0.0,0.0']
    >>> read_poses(path).videos[0].shape
    (4, 17, 3)
    """
    path = Path(path)
    videos = _as_videos(poses)
    skel = get_skeleton(skeleton)
    for i, video in enumerate(videos):
        if video.shape[1] != skel.n_joints:
            raise ValueError(
                f"poses[{i}] has {video.shape[1]} joints; skeleton {skel.name!r} has "
                f"{skel.n_joints}"
            )
    names, frames = _names(video_names, len(videos)), _frames(frame_ids, videos)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = {"video_names": np.array(names), "joint_names": np.array(skel.joint_names)}
        arrays["skeleton"] = np.array(skel.name)
        for i, (video, ids) in enumerate(zip(videos, frames)):
            arrays[f"poses_{i}"], arrays[f"frame_ids_{i}"] = video, ids
        with path.open("wb") as handle:  # a handle: numpy would append .npz to other names
            np.savez_compressed(handle, **arrays)
    elif suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(_CSV_HEADER)
            for name, video, ids in zip(names, videos, frames):
                for frame, pose in zip(ids, video):
                    for joint, xyz in zip(skel.joint_names, pose):
                        # repr of a Python float reads back as the same float
                        writer.writerow([name, int(frame), joint, *map(repr, map(float, xyz))])
    else:
        raise ValueError(f"{path}: cannot write poses as {suffix!r}; use .npz or .csv")
    return path


def _read_npz(path: Path) -> PoseFile:
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("video_names", "joint_names", "skeleton") if k not in data]
        if missing:
            raise ValueError(f"{path}: arrays {missing} are missing; not a write_poses file")
        names = [str(v) for v in data["video_names"]]
        videos = [data[f"poses_{i}"].astype(np.float64) for i in range(len(names))]
        frames = [data[f"frame_ids_{i}"] for i in range(len(names))]
        return PoseFile(
            videos=videos,
            joint_names=tuple(str(j) for j in data["joint_names"]),
            skeleton=str(data["skeleton"]),
            video_names=names,
            frame_ids=frames,
        )


def _read_csv(path: Path) -> PoseFile:
    rows = {}  # video -> {frame: {joint: xyz}}
    joints = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != _CSV_HEADER:
            raise ValueError(f"{path}, header: expected {','.join(_CSV_HEADER)}, got {header}")
        for line, row in enumerate(reader, start=2):
            try:
                video, frame, joint, *xyz = row
                xyz = [float(v) for v in xyz]
                frame = int(frame)
            except ValueError:
                raise ValueError(f"{path}, line {line}: cannot read {row}") from None
            if joint not in joints:
                joints.append(joint)
            rows.setdefault(video, {}).setdefault(frame, {})[joint] = xyz
    videos, frames = [], []
    for name, by_frame in rows.items():
        ids = sorted(by_frame)
        for frame in ids:
            if len(by_frame[frame]) != len(joints):
                raise ValueError(
                    f"{path}: video {name!r}, frame {frame} has {len(by_frame[frame])} joints; "
                    f"the file names {len(joints)}"
                )
        videos.append(np.array([[by_frame[f][j] for j in joints] for f in ids]))
        frames.append(np.array(ids, dtype=np.int64))
    names = tuple(joints)
    skeleton = next((k for k, s in SKELETONS.items() if s.joint_names == names), None)
    return PoseFile(videos, names, skeleton, list(rows), frames)


def read_poses(path) -> PoseFile:
    """Read poses written by :func:`write_poses`.

    Parameters
    ----------
    path : str or path-like
        A ``.npz`` or ``.csv`` file written by :func:`write_poses`.

    Returns
    -------
    PoseFile
        ``videos``, ``joint_names``, ``skeleton``, ``video_names`` and ``frame_ids``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_npz(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise ValueError(f"{path}: cannot read poses from {suffix!r}; use .npz or .csv")
