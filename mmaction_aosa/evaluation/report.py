"""Tables and plots of evaluation results (``metrics.json`` → md, PNG)."""
from typing import Dict, Optional, Sequence


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return '–'
    if isinstance(v, float):
        return f'{v:.{digits}f}'
    return str(v)


def markdown_table(results: Dict[str, dict],
                   title: Optional[str] = None) -> str:
    """A table in the layout of the AOSA paper's Tables I and IV.

    Args:
        results (dict): ``{method: {deletion, insertion, overall, spt,
            seconds_per_map, num_videos}}`` (``metrics.json``).
        title (str, optional): A heading line above the table.

    Returns:
        str: Markdown. The best value of each column is in bold.
    """
    cols = [('deletion', 'Deletion ↓', min), ('insertion', 'Insertion ↑', max),
            ('overall', 'Over-all ↑', max), ('spt', 'S-PT ↑', max),
            ('seconds_per_map', 'Time / map (s) ↓', min)]
    best = {}
    for key, _, pick in cols:
        vals = [r.get(key) for r in results.values()
                if isinstance(r.get(key), (int, float))]
        best[key] = pick(vals) if vals else None
    lines = []
    if title:
        lines += [title, '']
    lines.append('| Method | ' + ' | '.join(c[1] for c in cols) +
                 ' | Videos |')
    lines.append('|---|' + '---:|' * (len(cols) + 1))
    for method, r in results.items():
        cells = []
        for key, _, _ in cols:
            v = r.get(key)
            digits = 3 if key != 'seconds_per_map' else 2
            s = _fmt(float(v) if isinstance(v, (int, float)) else v, digits)
            if v is not None and best[key] is not None and v == best[key] \
                    and len(results) > 1:
                s = f'**{s}**'
            cells.append(s)
        lines.append(f'| {method} | ' + ' | '.join(cells) +
                     f" | {r.get('num_videos', '–')} |")
    return '\n'.join(lines) + '\n'


def comparison_table(tables: Dict[str, Dict[str, dict]],
                     keys: Sequence[str] = ('overall', 'spt')) -> str:
    """Methods × models: one row per method, for each model the ``keys``
    (over-all and S-PT by default), the best of each column in bold.

    Args:
        tables (dict): ``{model: metrics.json content}``, in column order.
        keys (sequence): Row keys to show for every model.

    Returns:
        str: Markdown. A value from fewer videos than the most any method
        has for that model is followed by the count, e.g. ``0.712 (20)``.
    """
    heads = {'deletion': 'del. ↓', 'insertion': 'ins. ↑',
             'overall': 'over-all ↑', 'spt': 'S-PT ↑',
             'seconds_per_map': 's / map ↓'}
    lower = {'deletion', 'seconds_per_map'}
    methods = []
    for rows in tables.values():
        methods += [m for m in rows if m not in methods]
    lines = ['| Method | ' + ' | '.join(
        f'{model} {heads.get(k, k)}' for model in tables for k in keys) +
        ' |', '|---|' + '---:|' * (len(tables) * len(keys))]
    for m in methods:
        cells = []
        for rows in tables.values():
            most = max((r.get('num_videos') or 0 for r in rows.values()),
                       default=0)
            for k in keys:
                vals = [r.get(k) for r in rows.values()
                        if isinstance(r.get(k), (int, float))]
                r = rows.get(m, {})
                v = r.get(k)
                if not isinstance(v, (int, float)):
                    cells.append('–')
                    continue
                text = _fmt(float(v), 2 if k == 'seconds_per_map' else 3)
                if len(vals) > 1 and v == (min(vals) if k in lower
                                           else max(vals)):
                    text = f'**{text}**'
                n = r.get('num_videos') or 0
                cells.append(text + (f' ({n})' if n < most else ''))
        lines.append(f'| {m} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def plot_curves(curves: Dict[str, dict], path: str,
                title: Optional[str] = None) -> str:
    """Mean deletion and insertion curves, one line per method.

    Args:
        curves (dict): ``{method: {'deletion_curve': [...],
            'insertion_curve': [...]}}``; methods without curves are left
            out.
        path (str): PNG to write.

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, name in ((axes[0], 'deletion_curve', 'Deletion'),
                          (axes[1], 'insertion_curve', 'Insertion')):
        for method, c in curves.items():
            y = c.get(key)
            if not y:
                continue
            x = np.linspace(0, 1, len(y))
            ax.plot(x, y, label=method)
        ax.set_title(name)
        ax.set_xlabel('fraction of voxels ' +
                      ('deleted' if key.startswith('del') else 'inserted'))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('target-class probability')
    axes[1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def summarize_records(method_dir: str,
                      videos: Optional[Sequence[str]] = None) -> dict:
    """Recompute a method's row from its per-video records.

    Reads ``deletion_insertion.jsonl``, ``pointing_game.jsonl`` and
    ``summary.json`` that ``tools/eval_saliency.py`` leaves in
    ``WORK_DIR/<method>``; ``videos`` restricts the row to those video ids,
    so that methods run on different numbers of videos can be compared on
    their common videos.

    Returns:
        dict: ``deletion, insertion, overall, spt, seconds_per_map,
        num_videos, deletion_curve, insertion_curve``.
    """
    import json
    import os.path as osp

    import numpy as np

    def lines(name):
        path = osp.join(method_dir, name)
        if not osp.isfile(path):
            return []
        with open(path) as f:
            return [json.loads(x) for x in f if x.strip()]

    keep = set(videos) if videos is not None else None

    def wanted(r):
        return keep is None or r.get('video') in keep

    di = [r for r in lines('deletion_insertion.jsonl') if wanted(r)]
    pg = [r for r in lines('pointing_game.jsonl') if wanted(r)]
    secs = {r['video']: r['seconds'] for r in lines('summary.json')
            if r.get('status') == 'ok' and wanted(r)}
    curves = {k: np.mean([r[k] for r in di], 0).round(5).tolist()
              if di else None
              for k in ('deletion_curve', 'insertion_curve')}
    d = float(np.mean([r['deletion'] for r in di])) if di else None
    i = float(np.mean([r['insertion'] for r in di])) if di else None
    frames = sum(r['frames'] for r in pg)
    return dict(
        deletion=d, insertion=i,
        overall=i - d if di else None,
        spt=sum(r['hits'] for r in pg) / frames if frames else None,
        seconds_per_map=float(np.mean(list(secs.values())))
        if secs else None,
        num_videos=len(di), **curves)


def tables_from_records(work_dir, out_dir: str,
                        videos: Optional[Sequence[str]] = None,
                        title: Optional[str] = None,
                        order: Optional[Sequence[str]] = None
                        ) -> Dict[str, dict]:
    """Rebuild ``metrics.json/md`` and the curves from per-video records.

    Every ``work_dir/<method>/deletion_insertion.jsonl`` becomes a row,
    labelled as in the run that made it (its ``label.txt``; the folder name
    for older runs), so rebuilt rows replace the run's own. ``work_dir``
    may be a list of work dirs: their methods are joined. ``videos``
    restricts all rows to the same videos (a like-for-like table
    when methods ran on different numbers of videos). The reports are
    written to ``out_dir`` (which must differ from ``work_dir`` unless
    every method's row should be replaced).

    ``order`` lists row labels in the order wanted (the rest follow,
    sorted); by default rows are sorted by label.

    Returns:
        dict: ``{method: row}``.
    """
    import os
    import os.path as osp

    from .run import LABEL_FILE, write_reports
    dirs = [work_dir] if isinstance(work_dir, str) else list(work_dir)
    rows = {}
    for wd in dirs:
        for name in sorted(os.listdir(wd)):
            d = osp.join(wd, name)
            if osp.isfile(osp.join(d, 'deletion_insertion.jsonl')):
                label = name  # the folder name, unless the run kept its label
                if osp.isfile(osp.join(d, LABEL_FILE)):
                    with open(osp.join(d, LABEL_FILE)) as f:
                        label = f.read().strip() or name
                rows[label] = summarize_records(d, videos)
    rank = {m: i for i, m in enumerate(order or [])}
    rows = dict(sorted(rows.items(),
                       key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
    if all(osp.abspath(out_dir) != osp.abspath(wd) for wd in dirs):
        for f in ('metrics.json', 'curves.json', 'sanity.json'):
            path = osp.join(out_dir, f)
            if osp.isfile(path):
                os.remove(path)
    return write_reports(out_dir, rows, title)
