"""The synthetic ground-truth dataset: determinism, boxes, mmaction2 reading."""
import filecmp
import json
import os.path as osp

import numpy as np
import pytest

import mmaction_aosa  # noqa: F401  (patches the mmaction2 wheel)
from mmaction_aosa.datasets import (CLASSES, TARGET_COLOR, generate_dataset,
                                    load_synthetic_boxes, make_batch,
                                    render_clip, transform_boxes)

N = 8
SEED = 4242


@pytest.fixture(scope='module')
def split(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synthetic') / 'split')
    generate_dataset(out, N, SEED)
    return out


def _target_mask(frame):
    return np.all(frame == np.array(TARGET_COLOR, np.uint8), axis=-1)


def test_render_is_deterministic():
    f1, b1, l1 = render_clip(SEED, 3)
    f2, b2, l2 = render_clip(SEED, 3)
    assert np.array_equal(f1, f2) and np.array_equal(b1, b2) and l1 == l2
    f3, b3, _ = render_clip(SEED + 1, 3)
    assert not np.array_equal(f1, f3)
    assert f1.shape == (32, 128, 128, 3) and f1.dtype == np.uint8
    assert b1.shape == (32, 4)


def test_generate_is_deterministic(split, tmp_path):
    again = str(tmp_path / 'again')
    generate_dataset(again, N, SEED)
    for name in ('ann.txt', 'boxes.json', 'label_map.txt'):
        assert filecmp.cmp(osp.join(split, name), osp.join(again, name),
                           shallow=False), name
    for i in range(N):
        rel = f'videos/video_{i:05d}.mp4'
        assert filecmp.cmp(osp.join(split, rel), osp.join(again, rel),
                           shallow=False), rel
    # clip i does not depend on the number of clips generated
    fewer = str(tmp_path / 'fewer')
    generate_dataset(fewer, 2, SEED, balanced=False)
    f, b, _ = render_clip(SEED, 1)
    assert load_synthetic_boxes(
        osp.join(fewer, 'boxes', 'video_00001.json'))[5] == [tuple(b[5])]


def test_boxes_match_rendered_target():
    for index in range(4):
        frames, boxes, label = render_clip(SEED, index)
        for t in (0, 7, 16, 31):
            x, y, w, h = boxes[t]
            mask = _target_mask(frames[t])
            # every pixel of the box is the target, and nothing else is
            assert mask[y:y + h, x:x + w].all()
            assert mask.sum() == w * h
        # the class is the axis of motion, and it travels far
        d = boxes[-1, :2] - boxes[0, :2]
        axis = [(1, 0), (0, 1), (1, 1), (1, -1)][label]
        assert tuple(np.sign(d)) in (axis, tuple(-np.array(axis)))
        if label >= 2:  # diagonal: equal steps along x and y
            assert abs(abs(d[0]) - abs(d[1])) <= 1
        assert np.hypot(*d) >= 47 and np.abs(d).max() > 16
        # constant speed along a straight line
        steps = np.diff(boxes[:, :2], axis=0)
        assert np.abs(steps - d / 31).max() <= 1
        # the path stays inside the central 112 crop
        assert boxes[:, :2].min() >= 8
        assert (boxes[:, :2] + boxes[:, 2:]).max() <= 120


def test_boxes_match_decoded_video(split):
    import decord
    ann = open(osp.join(split, 'ann.txt')).read().split('\n')
    for i in (0, 5):
        rel, label = ann[i].split()
        vr = decord.VideoReader(osp.join(split, rel))
        assert len(vr) == 32
        meta = json.load(open(osp.join(split, 'boxes', f'video_{i:05d}.json')))
        assert meta['label'] == int(label) and meta['video'] == rel
        assert meta['class_name'] == CLASSES[int(label)]
        boxes = load_synthetic_boxes(
            osp.join(split, 'boxes', f'video_{i:05d}.json'))
        assert boxes == load_synthetic_boxes(
            osp.join(split, 'boxes.json'), rel)
        assert sorted(boxes) == list(range(32))
        for t in (0, 15, 31):
            frame = vr[t].asnumpy().astype(int)
            x, y, w, h = boxes[t][0]
            # red where the box is (after lossy coding: inner pixels)
            inner = frame[y + 2:y + h - 2, x + 2:x + w - 2]
            assert np.abs(inner - np.array(TARGET_COLOR)).max() < 40
            # and no red blob elsewhere
            red = (frame[..., 0] > 170) & (frame[..., 1] < 90) & \
                (frame[..., 2] < 90)
            ys, xs = np.nonzero(red)
            assert xs.min() >= x - 1 and xs.max() <= x + w
            assert ys.min() >= y - 1 and ys.max() <= y + h


def test_balanced_labels(split):
    labels = [int(line.split()[1])
              for line in open(osp.join(split, 'ann.txt')).read().split('\n')
              if line]
    assert sorted(np.bincount(labels, minlength=4).tolist()) == [2, 2, 2, 2]


def test_videodataset_reads_split(split):
    from mmengine.registry import init_default_scope
    from mmaction.registry import DATASETS
    init_default_scope('mmaction')
    pipeline = [
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=16, frame_interval=2,
             num_clips=1, test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 128)),
        dict(type='CenterCrop', crop_size=112),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ]
    ds = DATASETS.build(
        dict(type='VideoDataset', data_root=split, ann_file='ann.txt',
             data_prefix=dict(video=''), pipeline=pipeline, test_mode=True))
    assert len(ds) == N
    ann = open(osp.join(split, 'ann.txt')).read().split('\n')
    for i in (0, N - 1):
        item = ds[i]
        assert tuple(item['inputs'].shape) == (1, 3, 16, 112, 112)
        assert int(item['data_samples'].gt_label) == int(ann[i].split()[1])
    # boxes follow the pipeline: frame_inds and crop_bbox map them
    info = ds.get_data_info(1)
    results = ds.pipeline.transforms[0](dict(info))
    for tr in ds.pipeline.transforms[1:5]:
        results = tr(results)
    boxes = load_synthetic_boxes(osp.join(split, 'boxes',
                                          'video_00001.json'))
    mapped = transform_boxes(boxes, results['frame_inds'],
                             crop=results['crop_bbox'])
    imgs = np.stack(results['imgs'])
    for pos in (0, 8, 15):
        x, y, w, h = mapped[pos][0]
        patch = imgs[pos, y + 2:y + h - 2, x + 2:x + w - 2].astype(int)
        assert np.abs(patch - np.array(TARGET_COLOR)).max() < 40


def test_make_batch_matches_render():
    clips, labels, boxes = make_batch(SEED, 4, num_frames=8,
                                      frame_interval=4)
    assert clips.shape == (4, 8, 112, 112, 3)
    frames, full_boxes, label = render_clip(SEED, 2, labels[2])
    assert label == labels[2]
    assert np.array_equal(clips[2, 1], frames[4, 8:120, 8:120])
    assert np.array_equal(boxes[2][1], full_boxes[4] - [8, 8, 0, 0])


def test_both_signs_of_each_axis_occur():
    signs = {}
    for index in range(40):
        _, boxes, label = render_clip(SEED, index)
        d = boxes[-1, :2] - boxes[0, :2]
        signs.setdefault(label, set()).add(tuple(np.sign(d)))
    # every class moves both ways, so the sign of time cannot be the cue
    assert sorted(signs) == [0, 1, 2, 3]
    assert all(len(v) == 2 for v in signs.values())


def test_reverse_time_with_label():
    from mmaction_aosa.datasets import ReverseTimeWithLabel
    frames, boxes, label = render_clip(SEED, 0)
    out = ReverseTimeWithLabel(prob=1.0)(
        dict(imgs=list(frames), label=label, frame_inds=np.arange(32)))
    assert np.array_equal(np.stack(out['imgs']), frames[::-1])
    assert list(out['frame_inds']) == list(range(31, -1, -1))
    # the axis of a reversed path is the same: the label is kept
    assert out['label'] == label
    # classes that do reverse with time give their pairing
    paired = ReverseTimeWithLabel(prob=1.0, label_map={0: 1, 1: 0})
    assert paired(dict(imgs=list(frames), label=0))['label'] == 1
    assert paired(dict(imgs=list(frames), label=3))['label'] == 3
    assert list(paired(dict(imgs=list(frames),
                            label=np.array([1])))['label']) == [0]
    same = ReverseTimeWithLabel(prob=0.0, label_map={label: label + 1})(
        dict(imgs=list(frames), label=label))
    assert same['label'] == label
