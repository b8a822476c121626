"""Deletion/insertion AUC, the spatial pointing game and the metrics."""
import os
import os.path as osp
import tempfile

import cv2
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from conftest import RedDetector, moving_square_clip, normalise, shared_data

from mmaction_aosa.evaluation import (DeletionInsertion, SpatialPointingGame,
                                      auc, blur_clip, boxes_in_clip,
                                      deletion_insertion, perturbation_curve,
                                      point_hits_box, pointing_game,
                                      saliency_order)
from mmaction_aosa.models import ExplainContext
from mmaction_aosa.scoring import Scorer
from mmaction_aosa.structures import (SaliencyRecord, add_geometry_meta_keys,
                                      view_geometry)

# --------------------------------------------------------------- AUC ----


@pytest.mark.parametrize('steps', [1, 4, 28])
def test_auc_of_constant_curve_is_the_constant(steps):
    assert auc([0.7] * (steps + 1)) == pytest.approx(0.7)


@pytest.mark.parametrize('a,b', [(0.0, 1.0), (1.0, 0.0), (0.9, 0.3)])
def test_auc_of_linear_curve_is_the_mean_of_its_ends(a, b):
    y = np.linspace(a, b, 29)
    assert auc(y) == pytest.approx((a + b) / 2)
    assert auc(torch.tensor(y)) == pytest.approx((a + b) / 2)


def test_auc_formula_on_an_arbitrary_curve():
    y = [0.9, 0.2, 0.4, 0.1]
    assert auc(y) == pytest.approx((sum(y) - 0.45 - 0.05) / 3)
    with pytest.raises(ValueError):
        auc([1.0])


def test_blur_matches_opencv_gaussian_per_frame():
    rng = np.random.default_rng(0)
    clip = torch.from_numpy(rng.normal(size=(3, 2, 40, 36)).astype(
        np.float32))
    ours = blur_clip(clip, 11, 5).numpy()
    for c in range(3):
        for t in range(2):
            ref = cv2.GaussianBlur(clip[c, t].numpy(), (11, 11), 5,
                                   borderType=cv2.BORDER_REFLECT_101)
            np.testing.assert_allclose(ours[c, t], ref, atol=1e-5)


def test_order_breaks_ties_without_index_bias():
    sal = torch.zeros(2, 8, 8)
    sal[1, 3, 3] = 5.0
    order = saliency_order(sal)
    assert int(order[0]) == 64 + 3 * 8 + 3  # the one salient voxel first
    assert sorted(order.tolist()) == list(range(128))
    assert order[1:10].tolist() != list(range(1, 10))
    assert torch.equal(order, saliency_order(sal))  # deterministic


# ------------------------------------------------- deletion/insertion ----


@pytest.fixture(scope='module')
def square():
    frames, boxes = moving_square_clip(T=8, H=48, W=48, start=(6, 18),
                                       velocity=(3, 0), size=10)
    clip = normalise(frames)
    obj = torch.zeros(8, 48, 48)
    for t, (x, y, w, h) in enumerate(boxes):
        obj[t, y:y + h, x:x + w] = 1.0
    return clip, obj, boxes


class CountingScorer(Scorer):
    def __init__(self, model):
        super().__init__(model)
        self.batches = []

    def probs(self, clips):
        self.batches.append(len(clips))
        return super().probs(clips)


def test_deletion_of_the_object_drops_faster_than_random(square):
    clip, obj, _ = square
    model = RedDetector()
    good = deletion_insertion(model, clip, obj + 0.01 * torch.rand(
        obj.shape, generator=torch.Generator().manual_seed(1)), 0)
    rand = deletion_insertion(model, clip, torch.rand(
        obj.shape, generator=torch.Generator().manual_seed(2)), 0)
    dc = good['deletion_curve']
    assert len(dc) == 29 and len(good['insertion_curve']) == 29
    assert dc[0] == pytest.approx(rand['deletion_curve'][0])  # clean clip
    assert good['deletion'] < rand['deletion'] - 0.05
    assert good['insertion'] > rand['insertion'] + 0.05
    assert good['overall'] == pytest.approx(good['insertion'] -
                                            good['deletion'])
    # the object covers ~4% of the voxels: by step 2 (7%) it is gone, and
    # only the background's weak red evidence is left
    assert dc[2] < rand['deletion_curve'][2] - 0.2


def test_curves_are_scored_in_batches(square):
    clip, obj, _ = square
    model = RedDetector()
    s1, s8 = CountingScorer(model), CountingScorer(model)
    c1 = perturbation_curve(s1, clip, obj, 0, 'insertion', batch_size=1)
    c8 = perturbation_curve(s8, clip, obj, 0, 'insertion', batch_size=8)
    assert s1.batches == [1] * 29
    assert s8.batches == [8, 8, 8, 5]
    torch.testing.assert_close(c1, c8)
    # insertion ends on the clean clip, deletion starts on it
    d = perturbation_curve(s8, clip, obj, 0, 'deletion', steps=4)
    assert c8[-1] == pytest.approx(float(d[0]), abs=1e-6)
    assert len(d) == 5


def test_curve_rejects_mismatched_map(square):
    clip, obj, _ = square
    with pytest.raises(ValueError, match='do not match'):
        perturbation_curve(Scorer(RedDetector()), clip, obj[:4], 0)


# -------------------------------------------------------- pointing game ----


def test_point_hits_box_with_7px_tolerance():
    box = [(20, 20, 10, 10)]  # pixels 20..29
    assert point_hits_box((25, 25), box)
    assert point_hits_box((29, 29), box)
    assert point_hits_box((36, 25), box)  # 7 px right of the last column
    assert not point_hits_box((37, 25), box)  # 8 px
    assert point_hits_box((25, 13), box)  # 7 px above
    assert not point_hits_box((25, 12), box)
    assert not point_hits_box((34, 34), box)  # (5, 5): 7.07 px
    assert point_hits_box((33, 34), box)  # (4, 5): 6.4 px
    assert point_hits_box((37, 25), box, tolerance=8)
    assert point_hits_box((0, 0), [(50, 50, 4, 4), (2, 2, 3, 3)])
    assert not point_hits_box((0, 0), [(0, 0, 0, 5)])  # empty box


def test_pointing_game_on_hand_built_maps():
    sal = torch.zeros(5, 64, 64)
    sal[0, 30, 30] = 1  # inside
    sal[1, 30, 43] = 1  # 7 px right of the box (x 25..36)
    sal[2, 30, 44] = 1  # 8 px: miss
    sal[3, 2, 2] = 1  # no box in frame 3: skipped
    # frame 4: constant map: a miss
    box = [(25, 25, 12, 12)]
    hits = pointing_game(sal, {0: box, 1: box, 2: box, 4: box, 9: box})
    assert hits == {0: True, 1: True, 2: False, 4: False}


def _meta(**kw):
    return dict(frame_inds=np.arange(0, 16, 2, dtype=np.int32),
                start_index=0, num_clips=1, clip_len=8,
                scale_factor=np.array([0.5, 0.5], np.float32),
                crop_bbox=np.array([4, 4, 36, 36]), **kw)


def test_boxes_follow_sampling_resize_and_crop():
    boxes = {0: [(40, 40, 20, 20)], 2: [(0, 0, 6, 6)], 3: [(8, 8, 4, 4)]}
    out = boxes_in_clip(_meta(), boxes)
    # frame 0 → (20, 20, 10, 10) resized → (16, 16, 10, 10) after the crop;
    # source frame 2 is clip frame 1 and falls outside the crop; source
    # frame 3 is not sampled
    assert out == {0: [(16, 16, 10, 10)]}
    with pytest.raises(KeyError, match='frame_inds'):
        boxes_in_clip({}, boxes)
    # two clips: view 1 takes the second clip's frames
    meta = _meta()
    meta.update(frame_inds=np.r_[np.arange(8), np.arange(8, 16)],
                num_clips=2, scale_factor=None, crop_bbox=None)
    assert boxes_in_clip(meta, {9: [(1, 2, 3, 4)]}, view=1) == {
        1: [(1, 2, 3, 4)]}


def test_metric_reads_generated_boxes_through_the_real_pipeline(tmp_path):
    """Mapped boxes sit exactly on the red square of the clip."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    from mmaction_aosa.datasets import generate_dataset
    init_default_scope('mmaction')
    generate_dataset(str(tmp_path / 'test'), 1, 7)
    pipeline = add_geometry_meta_keys([
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=16, frame_interval=2,
             num_clips=1, test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 100)),
        dict(type='CenterCrop', crop_size=84),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')])
    video = str(tmp_path / 'test' / 'videos' / 'video_00000.mp4')
    out = Compose(pipeline)(dict(filename=video, label=0, start_index=0,
                                 modality='RGB'))
    meta = dict(out['data_samples'].metainfo, video_path=video)
    frames = out['inputs'][0].permute(1, 2, 3, 0).numpy()  # T×H×W×C
    red = (frames[..., 0] > 150) & (frames[..., 1] < 90)
    metric = SpatialPointingGame()
    boxes = metric.source(video)
    clip_boxes = boxes_in_clip(meta, boxes)
    assert sorted(clip_boxes) == list(range(16))
    sal = torch.zeros(red.shape)
    for t, [(x, y, w, h)] in clip_boxes.items():
        ys, xs = np.nonzero(red[t])
        # resizing blurs the edge by a pixel; the box is otherwise exact
        assert abs(xs.mean() - (x + (w - 1) / 2)) < 1.0
        assert abs(ys.mean() - (y + (h - 1) / 2)) < 1.0
        if t % 2:  # point at the square's centre in odd frames
            sal[t, int(ys.mean()), int(xs.mean())] = 1
        else:  # and 10 px beyond its right edge in even ones
            sal[t, y, min(x + w - 1 + 10, 83)] = 1
    metric.process({}, [SaliencyRecord(
        'v0', path=video, saliency=sal, label=0, target=0,
        geometry=view_geometry(meta))])
    res = metric.compute_metrics(metric.results)
    assert res['spt'] == pytest.approx(0.5)
    assert res['spt_frames'] == 16
    assert res['spt_per_class'] == {'0': pytest.approx(0.5)}


def test_pointing_game_is_null_without_boxes(tmp_path):
    metric = SpatialPointingGame()
    metric.process({}, [SaliencyRecord(
        'v', path=str(tmp_path / 'v.mp4'), saliency=torch.rand(8, 32, 32),
        target=0, geometry=view_geometry(_meta()))])
    res = metric.compute_metrics(metric.results)
    assert res['spt'] is None and res['spt_videos'] == 0


def test_ucf24_boxes_work_with_the_pointing_game(tmp_path):
    pkl = shared_data('ucf101-24', 'pyannot.pkl')
    frame_dir = shared_data('ucf101-24', 'CliffDiving',
                            'v_CliffDiving_g01_c01')
    from mmengine.registry import init_default_scope
    from mmaction.registry import DATASETS
    init_default_scope('mmaction')
    ann = tmp_path / 'list.txt'
    ann.write_text('v_CliffDiving_g01_c01 90 0\n')
    pipeline = add_geometry_meta_keys([
        dict(type='SampleFrames', clip_len=16, frame_interval=6,
             num_clips=1, test_mode=True),
        dict(type='RawFrameDecode'),
        dict(type='Resize', scale=(-1, 128)),
        dict(type='CenterCrop', crop_size=112),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')])
    ds = DATASETS.build(dict(
        type='RawframeDataset', ann_file=str(ann),
        data_prefix=dict(img=osp.dirname(frame_dir)), pipeline=pipeline,
        filename_tmpl='image_{:05d}.jpg', test_mode=True))
    out = ds[0]
    meta = dict(out['data_samples'].metainfo, video_path=frame_dir)
    inds = np.asarray(meta['frame_inds']) - 1  # RawframeDataset: 1-based
    metric = SpatialPointingGame(ucf24_pkl=pkl)
    boxes = metric.source(frame_dir)
    assert min(boxes) == 0 and max(boxes) <= 67
    clip_boxes = boxes_in_clip(meta, boxes)
    annotated = [t for t, i in enumerate(inds) if int(i) in boxes]
    assert 0 < len(clip_boxes) <= len(annotated) < 16  # later frames skipped
    T, H, W = out['inputs'].shape[2:]
    hit, miss = torch.zeros(T, H, W), torch.zeros(T, H, W)
    for t, bs in clip_boxes.items():
        x, y, w, h = bs[0]
        hit[t, y + h // 2, x + w // 2] = 1
        # the farthest corner of the frame from the box
        fx = 0 if x + w / 2 > W / 2 else W - 1
        fy = 0 if y + h / 2 > H / 2 else H - 1
        miss[t, fy, fx] = 1
    geometry = view_geometry(meta)
    metric.process({}, [
        SaliencyRecord(f'v{i}', path=frame_dir, saliency=sal, label=0,
                       target=0, geometry=geometry)
        for i, sal in enumerate((hit, miss))])
    res = metric.compute_metrics(metric.results)
    assert res['spt_frames'] == 2 * len(clip_boxes)
    assert res['spt'] == pytest.approx(0.5)  # every hit frame, no miss one


# ------------------------------------------------------ gather on ranks ----


def _samples(n=6):
    """Records of 8×32×32 clips of a red square, each with a context that
    runs a RedDetector (deletion and insertion score it)."""
    g = torch.Generator().manual_seed(0)
    context = ExplainContext(RedDetector())
    frames, _ = moving_square_clip(T=8, H=32, W=32, start=(4, 10),
                                   velocity=(2, 0), size=8)
    clip = normalise(frames)
    out = []
    for i in range(n):
        sal = torch.rand(8, 32, 32, generator=g)
        if i % 2:
            sal[:, 16, 16] = 2  # inside the box: hits
        rec = SaliencyRecord(
            f'v{i}', saliency=sal, label=i % 3, target=0, clip=clip,
            context=context, geometry=dict(frame_inds=list(range(0, 16, 2)),
                                           start_index=0, num_clips=1))
        rec.boxes = {f: [(12, 12, 8, 8)] for f in range(0, 16, 3)}
        out.append(rec)
    return out


class _BoxesFromSample(SpatialPointingGame):
    """Boxes handed in the record, so that the test needs no files."""

    def measure(self, record):
        self.source = lambda path, b=record.boxes: b
        return super().measure(record)


def _metrics():
    return [DeletionInsertion(steps=6),
            _BoxesFromSample(class_names=['a', 'b', 'c'])]


def _gather_worker(rank, world, init, out_dir):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=init, rank=rank,
                            world_size=world)
    try:
        samples = _samples()
        mine = samples[rank::world]  # like mmengine's DefaultSampler
        results = []
        for m in _metrics():
            m.process({}, mine)
            results.append(m.evaluate(len(samples)))
        torch.save(results, osp.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def test_two_processes_gather_the_single_process_result(tmp_path):
    single = []
    for m in _metrics():
        m.process({}, _samples())
        single.append(m.evaluate(6))
    init = 'file://' + str(tmp_path / 'init')
    mp.spawn(_gather_worker, args=(2, init, str(tmp_path)), nprocs=2,
             join=True)
    for rank in range(2):
        got = torch.load(str(tmp_path / f'rank{rank}.pt'), weights_only=False)
        assert got == single
    di, spt = single
    assert di['deletion_insertion/num_videos'] == 6
    assert 0 < spt['pointing_game/spt'] < 1
    assert set(spt['pointing_game/spt_per_class']) == {'a', 'b', 'c'}
