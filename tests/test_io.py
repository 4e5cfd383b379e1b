"""skpose3d.io: detector files written here in each format's documented layout, read back."""

import json

import numpy as np
import pytest

from skpose3d.io import (
    FORMATS,
    KeypointFileError,
    detect_format,
    read_keypoints,
    read_poses,
    write_poses,
)
from skpose3d.preprocessing import GapFiller, KeypointMapper

# COCO-17's keypoints as indices into each layout, written out from the formats' docs
# (OpenPose doc/02_output.md; Halpe-FullBody README), independently of the package's tables.
BODY_25_COCO = [0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11]
COCO_18_COCO = [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10]
HALPE_COCO = list(range(17))


def _person(n, offset=(0.0, 0.0), conf=0.5):
    """n keypoints whose x encodes the index: x = offset + 10 * i + 1, y = offset + i + 1."""
    i = np.arange(n, dtype=float)
    return np.column_stack([offset[0] + 10 * i + 1, offset[1] + i + 1, np.full(n, conf)])


def _flat(keypoints):
    return [float(v) for v in np.asarray(keypoints).ravel()]


def _write_json(path, data):
    path.write_text(json.dumps(data))
    return path


def _openpose_folder(tmp_path, frames, *, name="clip"):
    """frames: {frame number: list of (keypoints, person_id)}; one file per frame."""
    folder = tmp_path / "openpose"
    folder.mkdir()
    for frame, people in frames.items():
        data = {
            "version": 1.3,
            "people": [
                {"person_id": [pid], "pose_keypoints_2d": _flat(kp), "face_keypoints_2d": []}
                for kp, pid in people
            ],
        }
        _write_json(folder / f"{name}_{frame:012d}_keypoints.json", data)
    return folder


def _landmarks(offset=0.0):
    return [
        {"x": 0.01 * j + offset, "y": 0.02 * j, "z": -0.1, "visibility": 0.9} for j in range(33)
    ]


# -- COCO keypoint results ------------------------------------------------------------------


def test_coco_results_are_ordered_by_image_id_with_missing_frames_nan(tmp_path):
    entries = [
        {"image_id": f, "category_id": 1, "keypoints": _flat(_person(17, (f, 0))), "score": 0.9}
        for f in (8, 5, 6)  # out of order; frame 7 has no detection
    ]
    found = read_keypoints(_write_json(tmp_path / "res.json", entries), image_size=(640, 480))
    assert (found.format, found.skeleton, found.layout) == ("coco", "coco", "COCO-17")
    assert found.image_size == (640.0, 480.0)
    np.testing.assert_array_equal(found.frame_ids, [5, 6, 7, 8])
    (video,) = found.videos
    assert video.shape == (4, 17, 3)
    for row, frame in ((0, 5), (1, 6), (3, 8)):
        np.testing.assert_array_equal(video[row], _person(17, (frame, 0)))
    assert np.isnan(video[2]).all()
    assert found.missing_frames == [1] and found.n_frames == 4


def test_undetected_joints_written_as_zeros_become_nan(tmp_path):
    kp = _person(17)
    kp[3] = 0.0  # left ear not detected: (0, 0, 0)
    entries = [{"image_id": 0, "category_id": 1, "keypoints": _flat(kp), "score": 1.0}]
    video = read_keypoints(_write_json(tmp_path / "r.json", entries)).videos[0]
    assert np.isnan(video[0, 3, :2]).all() and video[0, 3, 2] == 0.0
    np.testing.assert_array_equal(np.delete(video[0], 3, axis=0), np.delete(kp, 3, axis=0))


def _two_people(n_frames=6):
    """A confident person walking right at y=100 and a weaker one at y=400, listed in varying
    order; the confident one is missing in frame 3."""
    per_frame = {}
    for f in range(n_frames):
        strong = (_person(17, (100 + 5 * f, 100)), 0.9)
        weak = (_person(17, (120 + 5 * f, 400)), 0.3)
        people = [weak] if f == 3 else [strong, weak]
        per_frame[f] = people[::-1] if f % 2 else people
    return per_frame


def test_several_people_keep_the_highest_scoring_track_without_switching(tmp_path):
    entries = [
        {"image_id": f, "category_id": 1, "keypoints": _flat(kp), "score": s}
        for f, people in _two_people().items()
        for kp, s in people
    ]
    path = _write_json(tmp_path / "r.json", entries)
    video = read_keypoints(path).videos[0]
    for f in range(6):
        if f == 3:  # the kept person is not in this frame: NaN, not the other person
            assert np.isnan(video[f]).all()
        else:
            np.testing.assert_array_equal(video[f], _person(17, (100 + 5 * f, 100)))
    every = read_keypoints(path, all_tracks=True)
    assert len(every.videos) == 2 and every.track_ids == [0, 1]
    ys = sorted(np.nanmean(v[..., 1]) for v in every.videos)
    assert ys[0] < 200 < ys[1]  # each linked track stays one person
    for v in every.videos:
        present = ~np.isnan(v[:, 0, 1])
        assert np.ptp(v[present, 0, 1]) == 0  # one y throughout: never the other person


def test_a_person_far_from_every_track_starts_a_new_track(tmp_path):
    entries = [
        {"image_id": 0, "category_id": 1, "keypoints": _flat(_person(17, (0, 0))), "score": 1},
        {"image_id": 1, "category_id": 1, "keypoints": _flat(_person(17, (5000, 0))), "score": 1},
    ]
    found = read_keypoints(_write_json(tmp_path / "r.json", entries), all_tracks=True)
    assert len(found.videos) == 2
    assert found.missing_frames == [1, 1]
    joined = read_keypoints(tmp_path / "r.json", all_tracks=True, match_distance=100.0)
    assert len(joined.videos) == 1 and joined.missing_frames == [0]


# -- OpenPose --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "layout", "index"), [(25, "BODY_25", BODY_25_COCO), (18, "COCO-18", COCO_18_COCO)]
)
def test_openpose_folder_converts_to_coco_order(tmp_path, n, layout, index):
    # Frame 2 has no file and frame 3 nobody in it; both are NaN frames.
    frames = {0: [(_person(n), -1)], 1: [(_person(n), -1)], 3: [], 4: [(_person(n), -1)]}
    found = read_keypoints(_openpose_folder(tmp_path, frames))
    assert (found.format, found.skeleton, found.layout) == ("openpose", "coco", layout)
    np.testing.assert_array_equal(found.frame_ids, [0, 1, 2, 3, 4])
    video = found.videos[0]
    np.testing.assert_array_equal(video[0, :, 0], 10 * np.array(index) + 1)
    np.testing.assert_array_equal(video[4], _person(n)[index])
    assert np.isnan(video[[2, 3]]).all() and found.missing_frames == [2]
    # The frame numbers come from the file names, not their sorted position.
    assert read_keypoints(tmp_path / "openpose", format="openpose").n_frames == 5


def test_openpose_person_ids_are_tracks(tmp_path):
    frames = {f: [(_person(25, (f, 0)), 7), (_person(25, (f, 500)), 3)] for f in range(3)}
    folder = _openpose_folder(tmp_path, frames)
    found = read_keypoints(folder, track=3)
    assert found.track_ids == [3]
    np.testing.assert_array_equal(found.videos[0][2, 0, :2], [2 + 1, 500 + 1])
    assert read_keypoints(folder, all_tracks=True).track_ids == [3, 7]


def test_openpose_single_frame_file_and_folder_errors(tmp_path):
    folder = _openpose_folder(tmp_path, {12: [(_person(25), -1)]})
    one = read_keypoints(folder / "clip_000000000012_keypoints.json")
    assert one.format == "openpose" and list(one.frame_ids) == [12]
    _write_json(folder / "other_000000000012_keypoints.json", {"people": []})
    with pytest.raises(KeypointFileError, match="are both frame 12; the folder mixes"):
        read_keypoints(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(KeypointFileError, match=r"empty: no OpenPose files \(\*_keypoints"):
        read_keypoints(empty)


def test_openpose_wrong_keypoint_count_names_file_frame_and_field(tmp_path):
    folder = _openpose_folder(tmp_path, {0: [(_person(25), -1)], 1: [(_person(24), -1)]})
    with pytest.raises(KeypointFileError) as info:
        read_keypoints(folder)
    message = str(info.value)
    assert "clip_000000000001_keypoints.json" in message
    assert "frame 1, people[0], field 'pose_keypoints_2d': has 72 values" in message
    assert "25 (BODY_25) or 18 (COCO-18)" in message


def test_openpose_files_mixing_layouts_are_an_error(tmp_path):
    folder = _openpose_folder(tmp_path, {0: [(_person(25), -1)], 1: [(_person(18), -1)]})
    with pytest.raises(KeypointFileError, match=r"frame 1.*\(COCO-18\).*BODY_25 layout"):
        read_keypoints(folder)


# -- MediaPipe -------------------------------------------------------------------------------


def test_mediapipe_json_in_pixels_with_null_frames(tmp_path):
    path = _write_json(tmp_path / "mp.json", [_landmarks(), None, _landmarks(0.1)])
    found = read_keypoints(path, image_size=(640, 480))
    assert (found.format, found.skeleton, found.layout) == (
        "mediapipe",
        "mediapipe",
        "BlazePose-33",
    )
    video = found.videos[0]
    assert video.shape == (3, 33, 3)
    j = np.arange(33)
    np.testing.assert_allclose(video[0, :, 0], 0.01 * j * 640)
    np.testing.assert_allclose(video[2, :, 0], (0.01 * j + 0.1) * 640)
    np.testing.assert_allclose(video[0, :, 1], 0.02 * j * 480)
    np.testing.assert_allclose(video[0, :, 2], 0.9)
    assert np.isnan(video[1]).all()
    h36m = KeypointMapper(found.skeleton, "h36m").transform(GapFiller().transform(video))
    assert h36m.shape == (3, 17, 3) and np.isfinite(h36m).all()


def test_mediapipe_needs_an_image_size(tmp_path):
    path = _write_json(tmp_path / "mp.json", [_landmarks()])
    with pytest.raises(KeypointFileError, match=r"mp\.json: MediaPipe .* pass image_size="):
        read_keypoints(path)
    wrapped = _write_json(tmp_path / "w.json", {"image_size": [100, 50], "frames": [_landmarks()]})
    found = read_keypoints(wrapped)
    assert found.image_size == (100.0, 50.0)
    np.testing.assert_allclose(found.videos[0][0, 32, :2], [0.32 * 100, 0.64 * 50])
    with pytest.raises(KeypointFileError, match="says .100.0, 50.0. but image_size="):
        read_keypoints(wrapped, image_size=(200, 100))


def test_mediapipe_json_several_poses_and_bad_landmarks(tmp_path):
    two = [[_landmarks(), _landmarks(0.5)] for _ in range(3)]
    found = read_keypoints(
        _write_json(tmp_path / "two.json", two), image_size=(10, 10), all_tracks=True
    )
    assert len(found.videos) == 2
    short = [_landmarks(), _landmarks()[:32]]
    with pytest.raises(KeypointFileError, match=r"short\.json, frame 1: has 32 landmarks"):
        read_keypoints(_write_json(tmp_path / "short.json", short), image_size=(10, 10))
    bad = _landmarks()
    del bad[5]["visibility"]
    with pytest.raises(
        KeypointFileError, match=r"frame 0, landmark 5: field 'visibility' is missing"
    ):
        read_keypoints(_write_json(tmp_path / "bad.json", [bad]), image_size=(10, 10))


def _mediapipe_csv(path, frames, header="frame,landmark,x,y,z,visibility"):
    lines = [header]
    for frame, landmarks in frames.items():
        if landmarks is None:
            lines.append(f"{frame},,,,,")
            continue
        for j, lm in reversed(list(enumerate(landmarks))):  # any row order
            lines.append(f"{frame},{j},{lm['x']},{lm['y']},{lm['z']},{lm['visibility']}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_mediapipe_csv_layout(tmp_path):
    # Frame 1 has an empty row (no pose), frame 2 no rows at all, frame 4 is the last.
    path = _mediapipe_csv(tmp_path / "mp.csv", {0: _landmarks(), 1: None, 4: _landmarks(0.2)})
    found = read_keypoints(path, image_size=(200, 100))
    assert found.format == "mediapipe" and list(found.frame_ids) == [0, 1, 2, 3, 4]
    video = found.videos[0]
    np.testing.assert_allclose(video[4, :, 0], (0.01 * np.arange(33) + 0.2) * 200)
    assert np.isnan(video[1:4]).all() and found.missing_frames == [3]
    alias = _mediapipe_csv(tmp_path / "j.csv", {0: _landmarks()}, "frame,joint,x,y,z,visibility")
    np.testing.assert_allclose(read_keypoints(alias, image_size=(200, 100)).videos[0], video[:1])


def test_mediapipe_csv_errors_name_line_frame_and_field(tmp_path):
    path = _mediapipe_csv(tmp_path / "mp.csv", {0: _landmarks()})
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("0.9", "high")
    path.write_text("\n".join(lines))
    with pytest.raises(
        KeypointFileError, match=r"mp\.csv, line 4 \(frame 0\), field 'visibility': 'high'"
    ):
        read_keypoints(path, image_size=(10, 10))
    path.write_text("\n".join(lines[:1] + lines[2:]).replace("high", "0.9"))  # drop one row
    with pytest.raises(KeypointFileError, match=r"frame 0: has 32 landmarks.*missing landmarks"):
        read_keypoints(path, image_size=(10, 10))
    path.write_text("frame,x,y\n0,1,2\n")
    with pytest.raises(KeypointFileError, match=r"header: columns \['landmark', 'visibility'\]"):
        read_keypoints(path, image_size=(10, 10))


# -- AlphaPose -------------------------------------------------------------------------------


def _alphapose(n, frames=4):
    entries = []
    for f in range(frames):
        for track, y in ((1, 0), (2, 300)):
            if track == 2 and f == 1:
                continue
            entries.append(
                {
                    "image_id": f"{f}.jpg",
                    "category_id": 1,
                    "keypoints": _flat(_person(n, (f, y))),
                    "score": 2.5 if track == 1 else 1.0,
                    "box": [0, 0, 10, 10],
                    "idx": track if track == 1 else [float(track)],
                }
            )
    return entries


@pytest.mark.parametrize(("n", "layout"), [(26, "Halpe-26"), (17, "COCO-17"), (136, "Halpe-136")])
def test_alphapose_tracks_and_layouts(tmp_path, n, layout):
    path = _write_json(tmp_path / "alphapose-results.json", _alphapose(n))
    found = read_keypoints(path)
    assert (found.format, found.skeleton, found.layout) == ("alphapose", "coco", layout)
    assert found.track_ids == [1]  # the higher total score
    np.testing.assert_array_equal(found.videos[0][3], _person(n, (3, 0))[HALPE_COCO])
    other = read_keypoints(path, track=2)
    assert other.track_ids == [2] and other.missing_frames == [1]
    assert np.isnan(other.videos[0][1]).all()
    with pytest.raises(KeypointFileError, match=r"no track with id 5; the file's track ids"):
        read_keypoints(path, track=5)
    assert read_keypoints(path, all_tracks=True).track_ids == [1, 2]


def test_alphapose_image_id_without_frame_number(tmp_path):
    entries = _alphapose(26)
    entries[2]["image_id"] = "cover.jpg"
    with pytest.raises(KeypointFileError, match=r"entry 2, field 'image_id': 'cover.jpg' has no"):
        read_keypoints(_write_json(tmp_path / "a.json", entries))


# -- errors common to every format -----------------------------------------------------------


def test_bad_json_names_file_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"image_id": 0,\n "keypoints": [1, 2 3]}]')
    with pytest.raises(KeypointFileError, match=r"broken\.json: not valid JSON: .* line 2"):
        read_keypoints(path, format="coco")
    with pytest.raises(KeypointFileError, match="broken.json: not valid JSON"):
        read_keypoints(path)


def test_wrong_keypoint_count_and_types_name_entry_frame_and_field(tmp_path):
    entries = [
        {"image_id": 0, "keypoints": _flat(_person(17)), "score": 1},
        {"image_id": 4, "keypoints": _flat(_person(17))[:-1], "score": 1},
    ]
    path = _write_json(tmp_path / "r.json", entries)
    with pytest.raises(
        KeypointFileError,
        match=r"r\.json, entry 1 \(frame 4\), field 'keypoints': has 50 values; .* 17 \(COCO-17\)",
    ):
        read_keypoints(path, format="coco")
    entries[1]["keypoints"] = _flat(_person(17))
    entries[1]["keypoints"][4] = "x"
    with pytest.raises(KeypointFileError, match=r"entry 1 \(frame 4\), field 'keypoints': 'x'"):
        read_keypoints(_write_json(path, entries))
    entries[1] = {"image_id": 4, "score": 1}
    with pytest.raises(KeypointFileError, match=r"entry 1: field 'keypoints' is missing"):
        read_keypoints(_write_json(path, entries), format="coco")
    entries[1] = {"image_id": "4.jpg", "keypoints": _flat(_person(17))}
    with pytest.raises(KeypointFileError, match=r"entry 1, field 'image_id': '4.jpg' is not an"):
        read_keypoints(_write_json(path, entries), format="coco")


def test_option_errors(tmp_path):
    path = _write_json(tmp_path / "r.json", [{"image_id": 0, "keypoints": _flat(_person(17))}])
    with pytest.raises(KeypointFileError, match="has no track ids of its own"):
        read_keypoints(path, track=0)
    with pytest.raises(ValueError, match="exclude each other"):
        read_keypoints(path, track=0, all_tracks=True)
    with pytest.raises(ValueError, match="format='yolo' is not one of"):
        read_keypoints(path, format="yolo")
    with pytest.raises(ValueError, match="match_distance must be a positive"):
        read_keypoints(path, match_distance=0)
    with pytest.raises(FileNotFoundError, match="nope.json: no such file"):
        read_keypoints(tmp_path / "nope.json")
    with pytest.raises(KeypointFileError, match=r"cannot tell the keypoint format.*'\.txt'"):
        read_keypoints(_write_json(tmp_path / "r.txt", []))
    with pytest.raises(KeypointFileError, match="cannot tell the keypoint format from the content"):
        read_keypoints(_write_json(tmp_path / "o.json", {"hello": 1}))


def test_detect_format(tmp_path):
    folder = _openpose_folder(tmp_path, {0: [(_person(25), -1)]})
    coco = [{"image_id": 0, "keypoints": _flat(_person(17)), "score": 1}]
    assert detect_format(folder) == "openpose"
    assert detect_format(_write_json(tmp_path / "c.json", coco)) == "coco"
    assert detect_format(_write_json(tmp_path / "a.json", _alphapose(17))) == "alphapose"
    assert detect_format(_write_json(tmp_path / "m.json", [None, _landmarks()])) == "mediapipe"
    assert detect_format(_mediapipe_csv(tmp_path / "m.csv", {0: _landmarks()})) == "mediapipe"
    assert set(FORMATS) == {"coco", "openpose", "mediapipe", "alphapose"}


# -- writers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_write_poses_round_trip(tmp_path, suffix, rng):
    videos = [rng.normal(size=(5, 17, 3)), rng.normal(size=(2, 17, 3))]
    videos[0][1, 3] = np.nan
    path = write_poses(
        tmp_path / f"poses{suffix}",
        videos,
        video_names=["walk", "run"],
        frame_ids=[np.arange(10, 15), np.array([0, 2])],
    )
    back = read_poses(path)
    assert back.video_names == ["walk", "run"] and back.skeleton == "h36m"
    assert back.joint_names[:3] == ("hip", "right_hip", "right_knee")
    for got, want in zip(back.videos, videos, strict=True):
        np.testing.assert_array_equal(got, want)  # exact, NaN included
    np.testing.assert_array_equal(back.frame_ids[0], np.arange(10, 15))
    np.testing.assert_array_equal(back.frame_ids[1], [0, 2])


def test_written_files_have_the_documented_layout(tmp_path):
    poses = np.arange(2 * 17 * 3, dtype=float).reshape(2, 17, 3)
    lines = write_poses(tmp_path / "p.csv", poses).read_text().splitlines()
    assert lines[0] == "video,frame,joint,x,y,z"
    assert lines[1] == "0,0,hip,0.0,1.0,2.0"
    assert lines[18] == "0,1,hip,51.0,52.0,53.0" and len(lines) == 1 + 2 * 17
    with np.load(write_poses(tmp_path / "p.npz", poses), allow_pickle=False) as data:
        assert set(data) == {"poses_0", "frame_ids_0", "video_names", "joint_names", "skeleton"}
        np.testing.assert_array_equal(data["poses_0"], poses)
        assert str(data["skeleton"]) == "h36m" and data["joint_names"][10] == "head"


def test_write_poses_errors(tmp_path):
    with pytest.raises(ValueError, match="has 16 joints; skeleton 'h36m' has 17"):
        write_poses(tmp_path / "p.npz", np.zeros((3, 16, 3)))
    with pytest.raises(ValueError, match=r"use \.npz or \.csv"):
        write_poses(tmp_path / "p.txt", np.zeros((3, 17, 3)))
    with pytest.raises(ValueError, match=r"poses\[0\] must have shape"):
        write_poses(tmp_path / "p.npz", np.zeros((3, 17, 2)))
    with pytest.raises(ValueError, match="video_names must be unique"):
        write_poses(tmp_path / "p.npz", [np.zeros((1, 17, 3))] * 2, video_names=["a", "a"])
    assert (
        read_poses(write_poses(tmp_path / "m.csv", np.zeros((1, 16, 3)), skeleton="mpii")).skeleton
        == "mpii"
    )
