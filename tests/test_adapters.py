"""Recognizer adapters: 2D models end to end, views and their source frames,
the Grad-CAM layer of each layout, rollout's attention, user overrides.

Models are the configs/zoo ones made small (conftest.ZOO), random weights.
"""
import copy
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import (REPO, ZOO, build_zoo, run_tool, square_video,
                      zoo_option_args)

from mmaction_aosa import SaliencyRecord, load_map
from mmaction_aosa.adapters import (Recognizer2DAdapter, Recognizer3DAdapter,
                                    attach_adapter, get_adapter)
from mmaction_aosa.evaluation import SpatialPointingGame, model_stages
from mmaction_aosa.evaluation.pointing_game import boxes_in_clip
from mmaction_aosa.explainers import (AttentionRollout, ExplainError,
                                      GradCAM, denormalize)
from mmaction_aosa.explainers.rollout import capture_attention
from mmaction_aosa.models.explain_model import preprocess
from mmaction_aosa.registry import ADAPTERS
from mmaction_aosa.scoring import Scorer
from mmaction_aosa.structures import add_geometry_meta_keys


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


_MODELS = {}


def zoo(name):
    """A small zoo model, built once for this module (tests that change a
    model change a copy)."""
    if name not in _MODELS:
        _MODELS[name] = build_zoo(name)
    return _MODELS[name]


@pytest.fixture
def tsn():
    return zoo('tsn_r50')


@pytest.fixture
def tsm():
    return zoo('tsm_r50')


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('zoo') / 'videos' / 'sq.mp4')
    square_video(path)
    return path


# -- 2D models: the clip's frames are the segments ------------------------
def test_2d_clip_frames_are_the_segments(tsn, tsm):
    assert isinstance(get_adapter(tsn), Recognizer2DAdapter)
    frames = randn(8, 3, 32, 32)  # 8 segments, as mmaction2 packs them
    clip = frames.transpose(0, 1)  # C×T×H×W
    for model in (tsn, tsm):
        ref = model.extract_feat(frames[None], stage='head')[0]
        scorer = Scorer(model)
        assert torch.allclose(scorer.logits(clip[None]), ref, atol=1e-5)
        # a batch of clips scores like the clips one by one (TSM shifts
        # within each clip, never across two)
        rev = clip.flip(1)
        both = scorer.logits(torch.stack([clip, rev]))
        assert torch.allclose(both[1], scorer.logits(rev[None])[0],
                              atol=1e-5)
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(1))
    # TSN averages its segments: their order does not matter; TSM shifts
    # channels between neighbouring segments: it does
    s_tsn, s_tsm = Scorer(tsn), Scorer(tsm)
    assert torch.allclose(s_tsn.logits(clip[None, :, perm]),
                          s_tsn.logits(clip[None]), atol=1e-5)
    assert not torch.allclose(s_tsm.logits(clip[None, :, perm]),
                              s_tsm.logits(clip[None]), atol=1e-4)
    # TSN takes any number of segments; TSM the number it was built for
    assert s_tsn.logits(clip[None, :, :3]).shape == (1, 400)
    with pytest.raises(ExplainError, match='takes 8 segments'):
        s_tsm.logits(clip[None, :, :4])


def test_gradcam_on_segments_matches_manual_computation(tsm):
    clip = randn(3, 8, 32, 32)
    target = 7
    feats = tsm.backbone(clip.transpose(0, 1)).detach().requires_grad_(True)
    y = tsm.cls_head(feats, num_segs=8)[0, target]
    (g, ) = torch.autograd.grad(y, feats)
    a = feats.detach().transpose(0, 1)[None]  # 1×C×T×h×w
    g = g.transpose(0, 1)[None]
    cam = (g.mean((2, 3, 4), keepdim=True) * a).sum(1, keepdim=True)
    ref = F.relu(F.interpolate(cam, size=(8, 32, 32), mode='trilinear',
                               align_corners=False))[0, 0]
    sal = GradCAM().explain(tsm, clip, target)
    assert torch.allclose(sal, ref, atol=1e-6 * float(ref.max()) + 1e-9)
    assert sal.max() > 0 and sal.std() > 0


# -- views: which frames form the explained clip --------------------------
VIEW_PIPELINES = {
    # TSN, TenCrop: 10 views of 4 segments; the unflipped centre crop
    'tsn_tencrop': ('tsn_r50', [
        dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=4,
             test_mode=True),
        dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 72)),
        dict(type='TenCrop', crop_size=64),
        dict(type='FormatShape', input_format='NCHW')], 4, 10, 8),
    # TSM, twice_sample × ThreeCrop: 2 views of 8 segments per crop;
    # ThreeCrop's middle crop is its third
    'tsm_twice_threecrop': ('tsm_r50', [
        dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8,
             test_mode=True, twice_sample=True),
        dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 64)),
        dict(type='ThreeCrop', crop_size=64),
        dict(type='FormatShape', input_format='NCHW')], 8, 6, 5),
    # I3D, 2 clips × ThreeCrop: middle crop, second clip
    'i3d_2clips_threecrop': ('i3d_r50', [
        dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=2,
             test_mode=True),
        dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 64)),
        dict(type='ThreeCrop', crop_size=64),
        dict(type='FormatShape', input_format='NCTHW')], 8, 6, 5),
}


def red_centre(frame):
    red = (frame[..., 0] > 200) & (frame[..., 1] < 100) & \
        (frame[..., 2] < 100)
    if red.sum() < 4:
        return None
    ys, xs = np.nonzero(red)
    return xs.mean(), ys.mean()


@pytest.mark.parametrize('case', sorted(VIEW_PIPELINES))
def test_explained_view_lines_up_with_its_source_frames(case, video):
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    name, steps, frames, views, view = VIEW_PIPELINES[case]
    model = zoo(name)
    pipeline = add_geometry_meta_keys(
        [dict(type='DecordInit')] + steps + [dict(type='PackActionInputs')])
    out = Compose(pipeline)(dict(filename=video, label=0, start_index=0,
                                 modality='RGB'))
    adapter = get_adapter(model)
    batch = model.data_preprocessor(
        dict(inputs=[out['inputs']], data_samples=[out['data_samples']]),
        False)
    assert adapter.split_views(model, batch['inputs'][0], out[
        'data_samples'].metainfo).shape[0] == views
    clip, v, geometry = preprocess(model, out['inputs'], out['data_samples'],
                                   'center')
    assert v == view and clip.shape == (3, frames, 64, 64)
    assert len(geometry['frame_inds']) == frames
    assert geometry['num_clips'] == 1 and geometry['clip_len'] == frames
    # the geometry maps the square's boxes onto the red pixels of exactly
    # the frames the model was given (a wrong segment, clip, crop or a
    # flipped crop would put them elsewhere)
    with open(osp.join(osp.dirname(osp.dirname(video)), 'boxes',
                       'sq.json')) as f:
        boxes = {t: [tuple(b)] for t, b in enumerate(json.load(f)['boxes'])}
    pixels = denormalize(model, clip)
    clip_boxes = boxes_in_clip(geometry, boxes, v)
    assert len(clip_boxes) >= frames // 2
    sal = torch.zeros(clip.shape[1:])
    for t in range(frames):
        centre = red_centre(pixels[t])
        if t not in clip_boxes:
            assert centre is None, (t, centre)
            continue
        [(x, y, w, h)] = clip_boxes[t]
        assert abs(centre[0] - (x + (w - 1) / 2)) < 1.5, (t, centre)
        assert abs(centre[1] - (y + (h - 1) / 2)) < 1.5, (t, centre)
        sal[t, int(round(centre[1])), int(round(centre[0]))] = 1
    # and the pointing game scores a map of those pixels as all hits
    row = SpatialPointingGame().measure(SaliencyRecord(
        'sq', path=video, saliency=sal, target=0, view=v,
        geometry=geometry))
    assert row['frames'] == len(clip_boxes) and row['hits'] == row['frames']


def test_explain_tool_on_a_2d_model(video, tmp_path):
    """tools/explain.py with AOSA on TSM: one view of all segments, the
    centre of TenCrop, overlays of the segments (every family and method:
    tests/test_zoo.py)."""
    for name, method in (('tsm_r50', 'aosa:anchor_stride=32,box_size=32,'
                          'num_cooccurring=1'), ):
        wd = tmp_path / name
        rc = run_tool('explain.py', [
            osp.join(REPO, 'configs', 'zoo', f'{name}.py'), '--video', video,
            '--work-dir', wd, '--explainer', method, '--cfg-options',
            *zoo_option_args(name)])
        assert rc == 0
        m = load_map(str(wd / 'maps' / 'sq.npz'))
        assert m['saliency'].shape == (8, 64, 64)
        assert np.isfinite(m['saliency']).all()
        assert m['view'] == ZOO[name]['center']
        inds = m['geometry']['frame_inds']
        # 8 segments spread over the 48-frame video, the TenCrop centre
        assert len(inds) == 8 and inds == sorted(inds) and inds[-1] > 40
        assert m['geometry']['crop_bbox'] == [16, 4, 80, 68]
        # the overlay plays the source at its speed: every frame from the
        # first segment's to the end of the video (each showing the map of
        # the last segment at or before it)
        cap = cv2.VideoCapture(str(wd / 'vis' / 'sq.mp4'))
        n = 0
        while cap.read()[0]:
            n += 1
        assert n == 48 - inds[0]


# -- Grad-CAM: the layer of each layout -----------------------------------
@pytest.mark.parametrize('name,layer,where', [
    ('c3d', 'backbone.conv5b', 'output'),  # before its fc layers
    ('mvit_s', 'backbone.blocks.15', 'input'),  # tokens with their grid
    ('uniformerv2_b', 'backbone.transformer.resblocks.3', 'input'),
    ('tsn_r50', 'backbone', 'output'),
])
def test_gradcam_layer_of_each_layout(name, layer, where):
    model = zoo(name)
    z = ZOO[name]
    x = randn(3, z['frames'], z['size'], z['size'])
    cam = get_adapter(model).cam_target(model, x)
    assert (cam.name, cam.where) == (layer, where)
    sal = GradCAM().explain(model, x)
    assert sal.shape == x.shape[1:] and torch.isfinite(sal).all()
    assert sal.std() > 0  # the map varies: the layer's layout was read


def test_users_choose_the_layer(tsn):
    x = randn(3, 8, 32, 32)
    default = GradCAM().explain(tsn, x)
    named = GradCAM(target_layer='backbone.layer3').explain(tsn, x)
    assert named.std() > 0 and not torch.allclose(default, named)
    # the same choice made once for the model, in its adapter
    model = copy.deepcopy(tsn)
    adapter = attach_adapter(model, dict(cam_layer='backbone.layer3'))
    assert isinstance(adapter, Recognizer2DAdapter)
    assert torch.allclose(GradCAM().explain(model, x), named)
    # Video Swin's stages output N×T×h×w×C
    swin = zoo('swin_t')
    sal = GradCAM(target_layer='backbone.layers.2').explain(swin, x)
    assert sal.shape == (8, 32, 32) and sal.std() > 0
    # its last norm's output is what the backbone returns, channels-first
    ref = GradCAM(target_layer='backbone.norm3').explain(swin, x)
    assert torch.allclose(ref, GradCAM().explain(swin, x), atol=1e-6)
    with pytest.raises(ExplainError, match='no module'):
        GradCAM(target_layer='backbone.nope').explain(tsn, x)
    with pytest.raises(ExplainError, match='convolutional'):
        GradCAM(target_layer='cls_head.fc_cls').explain(tsn, x)


def test_a_registered_adapter_from_the_config():
    from mmengine.config import Config

    from mmaction.registry import MODELS

    from mmaction_aosa.runs.config import RunError, adapter_cfg

    @ADAPTERS.register_module(force=True)
    class Layer2Adapter(Recognizer3DAdapter):
        """Grad-CAM on layer2 unless told otherwise."""

        def cam_target(self, model, clip, layer=None):
            return super().cam_target(model, clip, layer or 'backbone.layer2')

    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                   'tiny_r3d.py'))
    torch.manual_seed(0)
    em = MODELS.build(dict(type='ExplainModel', recognizer=cfg.model,
                           explainer=dict(type='GradCAM'),
                           adapter=dict(type='Layer2Adapter')))
    model = em.recognizer
    assert type(get_adapter(model)) is Layer2Adapter
    x = randn(3, 8, 32, 32)
    ref = GradCAM(target_layer='backbone.layer2').explain(
        copy.deepcopy(model), x, 1)
    assert torch.allclose(em.explainer.explain(model, x, 1), ref)
    # a bad adapter config stops a run before it starts
    for bad in (dict(type='NoSuchAdapter'), dict(num_segments=0), 'x'):
        with pytest.raises(RunError):
            adapter_cfg(Config(dict(adapter=bad)))


# -- rollout: the attention modules come from the adapter -----------------
def test_rollout_on_uniformerv2_rolls_out_each_frame():
    model = zoo('uniformerv2_b')
    x = randn(3, 8, 64, 64)
    layout = get_adapter(model).attention(model)
    assert layout.grid == (8, 4, 4) and len(layout.modules) == 4
    records = capture_attention(Scorer(model), layout.modules, x[None])
    assert [k for k, _ in records] == ['frame'] * 4
    assert records[0][1].shape == (8, 2, 17, 17)  # (b t), heads, 1+hw
    # brute force: per frame, the product of ½A + ½I over the layers
    rel = torch.zeros(8, 16, dtype=torch.float64)
    for t in range(8):
        m = torch.eye(17, dtype=torch.float64)
        for _, w in records:
            a = w[t].double().mean(0)
            a = a / a.sum(-1, keepdim=True)
            m = (0.5 * a + 0.5 * torch.eye(17, dtype=a.dtype)) @ m
        rel[t] = m[0, 1:] / 8
    ref = F.interpolate(rel.reshape(1, 1, 8, 4, 4).float(), size=(8, 64, 64),
                        mode='trilinear', align_corners=False)[0, 0]
    assert torch.allclose(AttentionRollout().explain(model, x), ref,
                          atol=1e-6)


@pytest.mark.parametrize('name,why', [('mvit_s', 'pools'),
                                      ('swin_t', 'windows'),
                                      ('c3d', 'CNN')])
def test_rollout_says_why_it_cannot_apply(name, why):
    model = zoo(name)
    z = ZOO[name]
    with pytest.raises(ExplainError, match=why):
        AttentionRollout().explain(model, randn(3, z['frames'], z['size'],
                                                z['size']))


# -- denormalisation and stages -------------------------------------------
def test_denormalize_reads_the_preprocessors_buffers(tsn):
    from mmaction.models import ActionDataPreprocessor
    from mmaction.structures import ActionDataSample
    raw = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    batch = tsn.data_preprocessor(
        dict(inputs=[raw], data_samples=[ActionDataSample()]), False)
    clip = batch['inputs'][0].transpose(0, 1)
    back = denormalize(tsn, clip)  # T×H×W×C
    assert np.allclose(back, raw.permute(0, 2, 3, 1).float().numpy(),
                       atol=1e-3)

    class Plain(torch.nn.Module):
        data_preprocessor = ActionDataPreprocessor(format_shape='NCHW')

    assert np.array_equal(denormalize(Plain(), clip),
                          clip.permute(1, 2, 3, 0).numpy())


@pytest.mark.parametrize('name', ['tsm_r50', 'mvit_s', 'uniformerv2_b',
                                  'swin_t'])
def test_stages_cover_every_parameter_once(name):
    model = zoo(name)
    stages = model_stages(model)
    assert stages[0][0] == 'head' and len(stages) >= 5
    seen = [id(p) for _, mods in stages for m in mods
            for p in m.parameters()]
    assert len(seen) == len(set(seen))
    assert set(seen) == {id(p) for p in model.parameters()}
