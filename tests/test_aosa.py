"""AOSA on a hand-built model whose score depends on one moving object."""
import numpy as np
import pytest
import torch
from conftest import RedDetector, moving_square_clip, normalise

from mmaction_aosa import EXPLAINERS
from mmaction_aosa.explainers import ExplainError
from mmaction_aosa.tubes import Tubes, saliency_map


def _clip():
    # red square (what the model looks at) moving right, green distractor
    # moving up-left: the model must ignore the distractor
    frames, boxes = moving_square_clip(
        T=12, H=64, W=64, start=(6, 8), velocity=(2, 1), size=12,
        distractor=((44, 44), (-1, -2)))
    return frames, boxes


def test_aosa_map_peaks_on_the_moving_object(red_detector):
    # The coverage-normalised drop peaks on the object in every frame. The
    # paper's Eq. 2 form does not on tube masks: its values are dominated by
    # how many masks cover a voxel (see test_eq2_form_follows_coverage).
    map_form = 'mean_drop'
    frames, boxes = _clip()
    x = normalise(frames)
    aosa = EXPLAINERS.build(dict(type='AOSA', anchor_stride=4, box_size=8,
                                 num_cooccurring=3, map_form=map_form))
    exp = aosa.explain_full(red_detector, x, target=0)
    sal = exp.saliency.numpy()
    assert sal.shape == (12, 64, 64) and np.isfinite(sal).all()
    hits = 0
    for t in range(12):
        y, xx = np.unravel_index(np.argmax(sal[t]), sal[t].shape)
        bx, by, bw, bh = boxes[t]
        # the peak lies on the object (a box half-width of tolerance)
        if bx - 4 <= xx < bx + bw + 4 and by - 4 <= y < by + bh + 4:
            hits += 1
    assert hits == 12, hits
    # the distractor region gets less than the object
    t = 6
    obj = sal[t, boxes[t][1]:boxes[t][1] + 12, boxes[t][0]:boxes[t][0] + 12]
    dy, dx = 44 - 2 * t, 44 - t
    dis = sal[t, dy:dy + 12, dx:dx + 12]
    assert obj.mean() > dis.mean()
    assert exp.target == 0 and 0.5 < exp.score < 0.99


def test_aosa_is_deterministic_and_default_target_is_top1(red_detector):
    frames, _ = _clip()
    x = normalise(frames)
    aosa = EXPLAINERS.build(dict(type='AOSA', anchor_stride=8, box_size=16))
    a = aosa.explain_full(red_detector, x)
    b = aosa.explain_full(red_detector, x)
    assert torch.equal(a.saliency, b.saliency)
    probs = torch.softmax(red_detector.extract_feat(x[None, None])[0], -1)[0]
    assert a.target == int(probs.argmax())
    assert a.score == pytest.approx(float(probs.max()), rel=1e-5)
    assert a.timings['num_masks'] == 64


def test_map_forms_on_hand_built_tubes():
    # two 1-frame tubes covering the left and right halves of a 1x2x4 clip,
    # plus uncovered column 3 (the right tube covers only column 2)
    boxes = torch.tensor([[[0, 0, 2, 2]], [[2, 0, 3, 2]]], dtype=torch.int32)
    groups = torch.tensor([[0], [1]])
    tubes = Tubes(boxes, groups, 2, 4)
    f = torch.tensor([0.2, 0.9])
    drop = saliency_map(tubes, f, 1.0, 'mean_drop')[0]
    assert torch.allclose(drop[:, :2], torch.tensor(0.8))
    assert torch.allclose(drop[:, 2], torch.tensor(0.1))
    assert torch.allclose(drop[:, 3], torch.tensor(0.0))
    paper = saliency_map(tubes, f, 1.0, 'eq2')[0]
    # (1/N) Σ f_i keep_i: left kept only by mask 1, column 2 by mask 0,
    # column 3 by both (the uncovered voxel gets the largest value)
    assert torch.allclose(paper[:, :2], torch.tensor(0.45))
    assert torch.allclose(paper[:, 2], torch.tensor(0.1))
    assert torch.allclose(paper[:, 3], torch.tensor(0.55))
    # the authors' form: (1/N) Σ_i (f_i − f(x)) keep_i / kept fraction_i;
    # mask 0 keeps 4 of 8 voxels, mask 1 keeps 6 of 8
    w0, w1 = (0.2 - 1.0) / 0.5, (0.9 - 1.0) / 0.75
    authors = saliency_map(tubes, f, 1.0, 'sum_drop')[0]
    assert torch.allclose(authors[:, :2], torch.tensor(w1 / 2))
    assert torch.allclose(authors[:, 2], torch.tensor(w0 / 2))
    assert torch.allclose(authors[:, 3], torch.tensor((w0 + w1) / 2))
    # old names are accepted
    assert torch.equal(saliency_map(tubes, f, 1.0, 'drop'),
                       saliency_map(tubes, f, 1.0, 'mean_drop'))


def test_bad_inputs_give_clear_errors(red_detector):
    frames, _ = _clip()
    x = normalise(frames)
    aosa = EXPLAINERS.build(dict(type='AOSA', anchor_stride=16, box_size=16))
    with pytest.raises(ExplainError, match='out of range'):
        aosa.explain(red_detector, x, target=5)
    with pytest.raises(ExplainError, match='C×T×H×W'):
        aosa.explain(red_detector, x[None])
    with pytest.raises(ExplainError, match='non-finite'):
        aosa.explain(red_detector, x * float('nan'))
    with pytest.raises(ValueError, match='map_form'):
        EXPLAINERS.build(dict(type='AOSA', map_form='bogus'))
    with pytest.raises(KeyError):
        EXPLAINERS.build(dict(type='NoSuchExplainer'))


def test_aosa_runs_on_each_tiny_family():
    from conftest import build_model
    for name, t in [('tiny_r3d', 8), ('tiny_r2plus1d', 8),
                    ('tiny_slowfast', 16), ('tiny_timesformer', 8)]:
        model = build_model(name)
        x = torch.randn(3, t, 112, 112)
        aosa = EXPLAINERS.build(dict(type='AOSA', anchor_stride=28,
                                     box_size=56, batch_size=16))
        sal = aosa.explain(model, x)
        assert sal.shape == (t, 112, 112) and torch.isfinite(sal).all()
        assert sal.abs().sum() > 0, name


def test_eq2_form_follows_coverage(red_detector):
    # Eq. 2, S = (1/N) Σ f_i (1 − occ_i): with f_i nearly constant, a voxel
    # covered by fewer masks scores higher; its largest values sit where
    # coverage is thinnest, not on the object. Documented in the README.
    frames, _ = _clip()
    aosa = EXPLAINERS.build(dict(type='AOSA', anchor_stride=4, box_size=8,
                                 map_form='eq2', drop='prob', rounds=1))
    sal = aosa.explain(red_detector, normalise(frames), target=0).numpy()
    tubes = aosa.build_tubes(frames.astype(np.float32))
    cover = sum(occ.sum(0).numpy().astype(float)
                for _, occ in tubes.batches(64))
    corr = np.corrcoef(sal.ravel(), cover.ravel())[0, 1]
    assert corr < -0.9, corr


PRESETS = {
    'default': dict(),  # two rounds, log-odds least squares
    'authors': dict(map_form='sum_drop', drop='prob', rounds=1,
                    tubes=dict(tracking='integer', cooccurrence='flow_cosine',
                               flow_input='swapped_luma')),
    'subpixel': dict(map_form='mean_drop', drop='prob', rounds=1,
                     tubes=dict(tracking='subpixel',
                                cooccurrence='motion_cosine',
                                flow_input='luma')),
}


@pytest.mark.parametrize('preset', sorted(PRESETS))
@pytest.mark.parametrize('approx', [False, True])
def test_degenerate_clips_give_finite_maps(red_detector, preset, approx):
    kw = dict(PRESETS[preset], anchor_stride=8, box_size=16)
    ex = EXPLAINERS.build(dict(kw, type='AOSAApprox' if approx else 'AOSA'))
    frames, _ = _clip()
    static = np.repeat(frames[:1], 6, axis=0)  # nothing moves: zero flow
    two = frames[:2]  # the shortest clip with a flow
    flat = np.full_like(frames[:4], 128)  # no texture at all
    # the whole scene jumps 20 px right per frame: every point leaves
    big, _ = moving_square_clip(T=1, H=40, W=200, seed=4)
    pan = np.stack([big[0, :, 150 - 20 * t:190 - 20 * t] for t in range(6)])
    for clip in (static, two, flat, pan):
        sal = ex.explain(red_detector, normalise(clip), target=0)
        assert sal.shape == clip.shape[:3]
        assert torch.isfinite(sal).all()


def test_boxes_too_large_or_invalid_are_refused(red_detector):
    frames, _ = _clip()
    x = normalise(frames)  # 64×64
    with pytest.raises(ExplainError, match='covers the whole'):
        EXPLAINERS.build(dict(type='AOSA', anchor_stride=16,
                              box_size=200)).explain(red_detector, x, 0)
    for bad in (0, -16, [16, 0], 'big', 2.5):
        with pytest.raises(ValueError, match='box_size'):
            EXPLAINERS.build(dict(type='AOSA', box_size=bad))
    for bad in (0, -4, 1.5):
        with pytest.raises(ValueError, match='anchor_stride'):
            EXPLAINERS.build(dict(type='AOSA', anchor_stride=bad))
    with pytest.raises(ExplainError, match='larger than the clip'):
        EXPLAINERS.build(dict(type='AOSA', anchor_stride=500)).explain(
            red_detector, x, 0)


def test_tube_lsq_recovers_additive_tube_effects():
    # four disjoint 1-frame tubes, each mask joins one partner (the last
    # picks itself, as the authors' grouping does when every similarity is
    # negative): if the drops add over the tubes a mask occludes, least
    # squares (tiny ridge) give back each tube's own effect, and the map
    # paints it on the tube's box
    boxes = torch.tensor([[[0, 0, 2, 2]], [[2, 0, 4, 2]], [[0, 2, 2, 4]],
                          [[2, 2, 4, 4]]], dtype=torch.int32)
    groups = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 3]])
    tubes = Tubes(boxes, groups, 4, 4)
    effect = torch.tensor([0.5, 0.1, -0.05, 0.2], dtype=torch.float64)
    base = 0.9
    scores = base - torch.stack([effect[g.unique()].sum() for g in groups])
    sal = saliency_map(tubes, scores, base, 'tube_lsq', ridge=1e-9)[0]
    expect = torch.zeros(4, 4, dtype=torch.float64)
    for j, (x0, y0, x1, y1) in enumerate(boxes[:, 0].tolist()):
        expect[y0:y1, x0:x1] = effect[j]
    assert torch.allclose(sal.double(), expect, atol=1e-6)
    # the authors' sum of drops mixes each tube with its partner instead
    mixed = saliency_map(tubes, scores, base, 'sum_drop')[0]
    assert int(mixed.argmax()) != int(sal.argmin())
    assert not torch.allclose(mixed.double() / mixed.abs().max(),
                              expect / expect.abs().max(), atol=0.05)
    # the ridge shrinks towards 0 and must be positive
    shrunk = saliency_map(tubes, scores, base, 'tube_lsq', ridge=10.0)[0]
    assert shrunk.abs().max() < sal.abs().max()
    with pytest.raises(ValueError, match='ridge'):
        EXPLAINERS.build(dict(type='AOSA', map_form='tube_lsq', ridge=0))
    with pytest.raises(ValueError, match='smoothing'):
        EXPLAINERS.build(dict(type='AOSA', smoothing=-1))


def test_smoothing_blurs_each_frame_by_a_fraction_of_the_box(red_detector):
    frames, boxes = _clip()
    x = normalise(frames)
    common = dict(type='AOSA', anchor_stride=4, box_size=8,
                  map_form='tube_lsq', rounds=1)
    raw = EXPLAINERS.build(common).explain(red_detector, x)
    smooth = EXPLAINERS.build(dict(common, smoothing=0.25)).explain(
        red_detector, x)
    assert smooth.shape == raw.shape and torch.isfinite(smooth).all()
    # the same map, blurred with σ = 0.25 × 8 = 2 px in each frame
    from mmaction_aosa.blur import blur_clip
    assert torch.allclose(smooth, blur_clip(raw[None], 13, 2.0)[0],
                          atol=1e-6)
    # blurring keeps the peak on the object in every frame
    for t in range(12):
        y, xx = np.unravel_index(int(smooth[t].argmax()), smooth[t].shape)
        bx, by, bw, bh = boxes[t]
        assert bx - 4 <= xx < bx + bw + 4 and by - 4 <= y < by + bh + 4


@pytest.mark.parametrize('type_', ['AOSA', 'AOSAApprox'])
def test_flat_tube_options_of_old_configs_move_into_tubes(red_detector,
                                                         type_):
    """A config written for the earlier constructor (tube options at the
    top level) builds the same explainer as ``tubes=dict(...)``, with a
    DeprecationWarning; a key that is no option at all is refused."""
    old = dict(type=type_, anchor_stride=8, box_size=16,
               tracking='subpixel', flow_input='luma')
    new = dict(type=type_, anchor_stride=8, box_size=16,
               tubes=dict(tracking='subpixel', flow_input='luma'))
    with pytest.warns(DeprecationWarning, match='tubes=dict'):
        a = EXPLAINERS.build(old)
    b = EXPLAINERS.build(new)
    assert a.tubes == b.tubes and a.tubes['tracking'] == 'subpixel'
    frames, _ = _clip()
    x = normalise(frames)
    assert torch.equal(a.explain(red_detector, x, target=0),
                       b.explain(red_detector, x, target=0))
    with pytest.raises(ValueError, match='both'):
        EXPLAINERS.build(dict(new, tracking='integer'))
    with pytest.raises(TypeError, match='tracker'):
        EXPLAINERS.build(dict(type=type_, tracker='integer'))
