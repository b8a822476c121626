"""Ground-truth boxes of UCF101-24 (pyannot.pkl) in the per-frame structure
shared with the synthetic dataset. Reads ../shared/data; skips without it."""
import os.path as osp

import pytest

from mmaction_aosa.datasets import (load_synthetic_boxes, load_ucf24_boxes,
                                    transform_boxes, ucf24_video_info,
                                    ucf24_video_keys)

DATA = osp.normpath(
    osp.join(osp.dirname(__file__), '..', '..', 'shared', 'data'))
PKL = osp.join(DATA, 'ucf101-24', 'pyannot.pkl')
KEY = 'CliffDiving/v_CliffDiving_g01_c01'

pytestmark = pytest.mark.skipif(
    not osp.isfile(PKL),
    reason=f'UCF101-24 annotations not found at {PKL} (../shared/data '
    'beside the checkout; see MANIFEST.md)')


def test_cliffdiving_known_boxes():
    boxes = load_ucf24_boxes(PKL, KEY)
    # one tube, sf=0 ef=68: frames 0..67, one person box each
    assert sorted(boxes) == list(range(68))
    assert all(len(v) == 1 for v in boxes.values())
    assert boxes[0] == [(162, 51, 87, 102)]
    assert boxes[1] == [(151, 61, 95, 92)]
    assert boxes[2] == [(136, 68, 112, 83)]
    assert boxes[66] == [(137, 141, 27, 28)]
    assert boxes[67] == [(141, 135, 27, 28)]
    for (x, y, w, h), in boxes.values():
        assert all(type(v) is int for v in (x, y, w, h))
        assert 0 <= x and x + w <= 320 and 0 <= y and y + h <= 240
    info = ucf24_video_info(PKL, KEY)
    assert info == dict(key=KEY, num_frames=90, label=3)


def test_key_forms():
    ref = load_ucf24_boxes(PKL, KEY)
    assert load_ucf24_boxes(PKL, 'v_CliffDiving_g01_c01') == ref
    assert load_ucf24_boxes(PKL, 'v_CliffDiving_g01_c01.avi') == ref
    with pytest.raises(KeyError):
        load_ucf24_boxes(PKL, 'v_NoSuchClass_g01_c01')


def test_frames_exist_for_boxes():
    frames_dir = osp.join(DATA, 'ucf101-24', 'CliffDiving',
                          'v_CliffDiving_g01_c01')
    if not osp.isdir(frames_dir):
        pytest.skip(f'{frames_dir} absent')
    boxes = load_ucf24_boxes(PKL, KEY)
    # frame t is image_{t+1:05d}.jpg
    for t in (0, max(boxes)):
        assert osp.isfile(osp.join(frames_dir, f'image_{t + 1:05d}.jpg'))


def test_several_actors_and_big_coordinates():
    import pickle
    with open(PKL, 'rb') as f:
        db = pickle.load(f, encoding='latin1')
    # a video with two tubes overlapping in time gives two boxes per frame
    for key in ucf24_video_keys(PKL):
        tubes = db[key]['annotations']
        if len(tubes) == 2 and tubes[0]['sf'] < tubes[1]['ef'] and \
                tubes[1]['sf'] < tubes[0]['ef']:
            break
    boxes = load_ucf24_boxes(PKL, key)
    t = max(tubes[0]['sf'], tubes[1]['sf'])
    assert len(boxes[t]) == 2
    # uint8/uint16 arrays: values are converted to int (no overflow)
    for key in ucf24_video_keys(PKL):
        if any(str(a['boxes'].dtype) == 'uint16'
               for a in db[key]['annotations']):
            break
    for bs in load_ucf24_boxes(PKL, key).values():
        for x, y, w, h in bs:
            assert type(x) is int and x + w > 0


def test_same_structure_as_synthetic(tmp_path):
    from mmaction_aosa.datasets import generate_dataset
    generate_dataset(str(tmp_path), 1, 0)
    syn = load_synthetic_boxes(str(tmp_path / 'boxes' / 'video_00000.json'))
    ucf = load_ucf24_boxes(PKL, KEY)
    for d in (syn, ucf):
        assert isinstance(d, dict)
        k = next(iter(d))
        assert type(k) is int and isinstance(d[k], list)
        assert isinstance(d[k][0], tuple) and len(d[k][0]) == 4
    # a pipeline's sampling/resize/crop maps UCF boxes the same way
    mapped = transform_boxes(ucf, [0, 2, 80], scale=(0.5, 0.5),
                             crop=(10, 0, 122, 112))
    assert sorted(mapped) == [0, 1]  # frame 80 has no box
    # (162, 51, 87, 102) halved, shifted by -10 in x, clipped at x=112
    assert mapped[0] == [(71, 26, 41, 51)]
