"""Flow tracking, tube boxes, co-occurrence and integration."""
import numpy as np
import torch
from conftest import moving_square_clip

from mmaction_aosa.tubes.flow import compute_flow, to_gray_uint8
from mmaction_aosa.tubes.grouping import motion_cosine, top_k_partners
from mmaction_aosa.tubes.masks import (occlusion_indices, render_occlusion,
                                       tube_boxes)
from mmaction_aosa.tubes.tracking import anchor_grid, track_points


def test_anchor_grid_matches_paper_layout():
    a = anchor_grid(112, 112, 8)
    assert a.shape == (196, 2)  # N = (112/8)^2, the paper's setting
    assert a[0].tolist() == [4.0, 4.0] and a[1].tolist() == [12.0, 4.0]
    assert anchor_grid(256, 256, 10).shape == (676, 2)  # SlowFast, s=10
    assert anchor_grid(224, 224, 8).shape == (784, 2)  # TimeSformer


def test_tracking_follows_square_within_1px_per_frame():
    T, v = 12, (3, 1)
    frames, boxes = moving_square_clip(T=T, H=64, W=96, start=(10, 20),
                                       velocity=v, size=16)
    flow = compute_flow(to_gray_uint8(frames))
    centre0 = np.array([[10 + 8, 20 + 8]], np.float32)
    pos, valid, _ = track_points(flow, centre0)
    assert valid.all()
    truth = centre0[0] + np.arange(T)[:, None] * np.array(v)
    err = np.linalg.norm(pos[:, 0] - truth, axis=1)
    per_frame = err[1:] / np.arange(1, T)
    assert per_frame.max() < 1.0, per_frame
    # and a background point stays put
    pos_bg, _, _ = track_points(flow, np.array([[80, 55]], np.float32))
    assert np.abs(pos_bg[:, 0] - [80, 55]).max() < 1.0


def test_track_stops_when_leaving_frame():
    # an exact flow field: everything moves 4 px right per frame
    T, H, W = 16, 48, 64
    flow = np.zeros((T - 1, H, W, 2), np.float32)
    flow[..., 0] = 4.0
    pos, valid, _ = track_points(flow,
                                 np.array([[38, 24], [2, 24]], np.float32))
    # x = 38 + 4t leaves [0, 64) at t = 7 (x = 66)
    assert valid[:7, 0].all() and not valid[7:, 0].any()
    assert np.allclose(pos[:7, 0, 0], 38 + 4 * np.arange(7))
    assert np.allclose(pos[7:, 0], pos[6, 0])  # frozen, not extrapolated
    assert valid[:, 1].all()
    boxes = tube_boxes(pos, valid, 16, H, W)
    assert (boxes[0, 7:] == 0).all()  # occludes nothing after leaving
    assert (boxes[0, :7, 2] > boxes[0, :7, 0]).all()


def test_tracked_square_leaving_frame_stops_with_real_flow():
    frames, _ = moving_square_clip(T=16, H=48, W=64, start=(40, 16),
                                   velocity=(2, 0), size=16)
    flow = compute_flow(to_gray_uint8(frames))
    pos, valid, _ = track_points(flow, np.array([[48, 24]], np.float32))
    first_out = int(np.argmin(valid[:, 0])) if not valid[:, 0].all() else 16
    # once stopped a track never comes back
    assert not valid[first_out:, 0].any()
    assert (pos[:first_out, 0, 0] < 64).all()


def test_tube_boxes_are_clipped_to_frame():
    pos = np.array([[[2.0, 3.0], [60.0, 45.0]]], np.float32)  # T=1, N=2
    valid = np.ones((1, 2), bool)
    b = tube_boxes(pos, valid, 16, 48, 64)
    assert b.shape == (2, 1, 4)
    assert b[0, 0].tolist() == [0, 0, 10, 11]
    assert b[1, 0].tolist() == [52, 37, 64, 48]


def test_motion_cosine_static_clip_has_no_nan_and_prefers_neighbours():
    T, N = 8, 9
    anchors = anchor_grid(24, 24, 8)
    pos = np.repeat(anchors[None], T, axis=0)
    valid = np.ones((T, N), bool)
    sim = motion_cosine(pos, valid)
    off = sim[~np.eye(N, dtype=bool)]
    assert np.isfinite(off).all()
    groups = top_k_partners(sim, 3)
    # the centre anchor (index 4) groups with 3 of its 4 direct neighbours
    assert set(groups[4, 1:]) <= {1, 3, 5, 7}


def test_motion_cosine_groups_tracks_by_motion():
    T = 6
    rng = np.random.default_rng(0)
    start = rng.uniform(0, 100, (8, 2)).astype(np.float32)
    vel = np.array([[2, 0]] * 4 + [[0, -2]] * 4, np.float32)
    pos = start[None] + np.arange(T)[:, None, None] * vel[None]
    sim = motion_cosine(pos, np.ones((T, 8), bool))
    groups = top_k_partners(sim, 3)
    for i in range(8):
        same = set(range(4)) if i < 4 else set(range(4, 8))
        assert set(groups[i]) == same


def test_integration_is_union_of_k_plus_one_tubes():
    rng = np.random.default_rng(1)
    N, T, H, W = 10, 5, 32, 40
    x0 = rng.integers(0, W - 8, (N, T))
    y0 = rng.integers(0, H - 8, (N, T))
    boxes = np.stack([x0, y0, x0 + 8, y0 + 6], -1).astype(np.int32)
    boxes[3, 2] = 0  # an invalid frame of tube 3
    sim = rng.normal(size=(N, N))
    np.fill_diagonal(sim, -np.inf)
    groups = top_k_partners(sim, 3)
    assert groups.shape == (N, 4) and (groups[:, 0] == np.arange(N)).all()
    occ = render_occlusion(torch.from_numpy(boxes), torch.from_numpy(groups),
                           torch.arange(N), H, W).numpy()
    for i in range(N):
        expect = np.zeros((T, H, W), bool)
        for j in groups[i]:
            for t in range(T):
                a, b, c, d = boxes[j, t]
                expect[t, b:d, a:c] = True
        assert (occ[i] == expect).all()
    # the sparse form lists each occluded voxel of each mask exactly once
    flat = occlusion_indices(torch.from_numpy(boxes),
                             torch.from_numpy(groups), torch.arange(N), H, W)
    assert len(flat) == len(torch.unique(flat)) == int(occ.sum())
    dense = torch.zeros(N * T * H * W, dtype=torch.bool)
    dense[flat] = True
    assert (dense.view(N, T, H, W).numpy() == occ).all()
