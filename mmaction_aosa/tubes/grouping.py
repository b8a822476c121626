"""Co-occurrence of tracks and integration of tubes (docs/methods.md, steps
5-6).

Each integrated mask i occludes tube i and the K tubes whose motion
co-occurs most with it (paper: Ω̂_i = Ω_i ⊙ Π_{j∈top-K(i)} Ω_j). Two rules
for "co-occurs", chosen by AOSA's ``cooccurrence`` argument:

* ``'flow_cosine'`` (:func:`flow_cosine_groups`), the authors' rule: the
  cosine of the flow vectors read along the two tracks, with nothing special
  for static tracks (background tracks group by the direction of their tiny
  flow).
* ``'motion_cosine'`` (:func:`motion_cosine` + :func:`top_k_partners`): the
  cosine of the tracks' displacements while they are valid; tracks that move
  less than ``min_motion`` px in all count as static and group with each
  other; a small position term breaks ties towards nearby tracks.
"""
import numpy as np

COOCCURRENCES = ('flow_cosine', 'motion_cosine')


def flow_cosine(flows: np.ndarray) -> np.ndarray:
    """The authors' similarity: cosine of the flow read along each track.

    u_i concatenates the flow vectors read at track i's positions in every
    frame pair (also after the track stopped), length 2(T-1); Co(i, j) =
    u_i·u_j / (‖u_j‖ + 1e-10) / (‖u_i‖ + 1e-10) in float32, as the authors
    compute it; a track's similarity to itself is 0.

    Args:
        flows (np.ndarray): (T-1)×N×2 float32 (:attr:`Tracks.flows`).

    Returns:
        np.ndarray: N×N float32.
    """
    N = flows.shape[1]
    u = np.ascontiguousarray(
        flows.transpose(1, 0, 2).reshape(N, -1).astype(np.float32))
    norm = np.linalg.norm(u, axis=1)
    sim = u @ u.T
    sim = sim / (norm + 1e-10)[None, :] / (norm + 1e-10)[:, None]
    np.fill_diagonal(sim, 0)
    return sim


def flow_cosine_groups(flows: np.ndarray, num_cooccurring: int = 3
                       ) -> np.ndarray:
    """The authors' integration: tube i and its K largest :func:`flow_cosine`.

    The partners are the last K of NumPy's ``argsort`` of row i (its default
    sort, so equal similarities resolve as in the authors' code). Because
    the diagonal is 0 rather than −∞, a track whose similarities to all
    others are negative picks itself, which adds nothing to its mask.

    Returns:
        np.ndarray: N×(K+1) int64 member indices, column 0 is i itself.
    """
    N = flows.shape[1]
    own = np.arange(N)[:, None]
    k = int(min(max(num_cooccurring, 0), N))
    if k == 0:
        return own
    partners = np.argsort(flow_cosine(flows), axis=1)[:, N - k:]
    return np.concatenate([own, partners.astype(np.int64)], axis=1)


def motion_cosine(positions: np.ndarray,
                  valid: np.ndarray,
                  min_motion: float = 0.5,
                  position_weight: float = 0.01) -> np.ndarray:
    """Co-occurrence by the cosine of the tracks' displacements.

    ``u_i`` concatenates the displacements ``p_i(t+1) - p_i(t)`` (zero after
    the point leaves the frame), length 2(T-1). The cosine is undefined for
    static tracks, so:

    * tracks with ``‖u‖ < min_motion`` px count as static; two static tracks
      have similarity 1, a static and a moving track 0;
    * every pair loses ``position_weight`` × (mean distance of the two tracks
      / extent of all tracks), which breaks ties (static background, a
      global pan) in favour of nearby tracks.

    Never NaN. The diagonal is -inf so a track is never its own partner.

    Returns:
        np.ndarray: N×N float64 similarity.
    """
    T, N = valid.shape
    disp = np.diff(positions, axis=0) * valid[1:, :, None]  # (T-1)×N×2
    u = disp.transpose(1, 0, 2).reshape(N, -1).astype(np.float64)
    norm = np.linalg.norm(u, axis=1)
    moving = norm >= min_motion
    unit = np.where(moving[:, None], u / np.maximum(norm, 1e-12)[:, None], 0)
    sim = unit @ unit.T
    static = ~moving
    sim[np.ix_(static, static)] = 1.0
    # mean position over valid frames
    w = valid.astype(np.float64)
    mean_pos = (positions * w[..., None]).sum(0) / np.maximum(
        w.sum(0), 1)[:, None]
    d = np.linalg.norm(mean_pos[:, None] - mean_pos[None], axis=-1)
    span = np.linalg.norm(positions.reshape(-1, 2).max(0) -
                          positions.reshape(-1, 2).min(0))
    sim = sim - position_weight * d / max(span, 1.0)
    np.fill_diagonal(sim, -np.inf)
    return sim


def top_k_partners(similarity: np.ndarray,
                   num_cooccurring: int = 3) -> np.ndarray:
    """Tube i and its K most similar tubes (stable: ties to the lower index).

    Returns:
        np.ndarray: N×(K+1) int64 indices, column 0 is i itself.
    """
    N = similarity.shape[0]
    k = int(min(max(num_cooccurring, 0), N - 1))
    own = np.arange(N)[:, None]
    if k == 0:
        return own
    order = np.argsort(-similarity, axis=1, kind='stable')[:, :k]
    return np.concatenate([own, order], axis=1)
