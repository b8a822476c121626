"""Tables and plots of evaluation results, and their files in a work dir.

A row of a table is one method's merged metric output (``metrics.json``:
``{method: {deletion, insertion, overall, spt, seconds_per_map,
num_videos, ...}}``). The columns come from the metrics themselves
(:attr:`SaliencyMetric.columns`), and tables rebuilt from per-video records
use each metric's own :meth:`SaliencyMetric.aggregate`.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..fileio import atomic_write_bytes, atomic_write_json, read_json, \
    read_lines
from .metrics import saliency_metric_classes
from .sanity import plot_cascade

#: File in each method's folder with its row label (``aosa[map_form=eq2]``).
LABEL_FILE = 'label.txt'
#: Row keys that are not table cells: curves and the sanity check.
CURVE_KEYS = ('deletion_curve', 'insertion_curve')


def table_columns() -> List[tuple]:
    """(key, heading, best) of every metric's columns, then ``Videos``."""
    cols = [c for m in saliency_metric_classes() for c in m.columns]
    return cols + [('num_videos', 'Videos', None)]


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return '–'
    if isinstance(v, float):
        return f'{v:.{digits}f}'
    return str(v)


def _digits(key: str) -> int:
    return 2 if key.startswith('seconds') else 3


def markdown_table(results: Dict[str, dict],
                   title: Optional[str] = None,
                   columns: Optional[Sequence[tuple]] = None) -> str:
    """A table in the layout of the AOSA paper's Tables I and IV.

    Args:
        results (dict): ``{method: row}`` (``metrics.json``).
        title (str, optional): A heading line above the table.
        columns (sequence, optional): (key, heading, best) per column;
            default :func:`table_columns`.

    Returns:
        str: Markdown. The best value of each column is in bold.
    """
    cols = list(columns or table_columns())
    best = {}
    for key, _, pick in cols:
        vals = [r.get(key) for r in results.values()
                if isinstance(r.get(key), (int, float))]
        best[key] = ({'max': max, 'min': min}[pick](vals)
                     if pick and vals else None)
    lines = [title, ''] if title else []
    lines.append('| Method | ' + ' | '.join(c[1] for c in cols) + ' |')
    lines.append('|---|' + '---:|' * len(cols))
    for method, r in results.items():
        cells = []
        for key, _, _ in cols:
            v = r.get(key)
            s = _fmt(float(v) if isinstance(v, float) else v, _digits(key))
            if v is not None and v == best[key] and len(results) > 1:
                s = f'**{s}**'
            cells.append(s)
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
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
    # headings in running text: 'over-all ↑' (acronyms such as S-PT stay)
    info = {k: (h[0].lower() + h[1:] if h[1:2].islower() else h, b)
            for k, h, b in table_columns()}
    methods = []
    for rows in tables.values():
        methods += [m for m in rows if m not in methods]
    lines = ['| Method | ' + ' | '.join(
        f'{model} {info.get(k, (k, None))[0]}' for model in tables
        for k in keys) + ' |', '|---|' + '---:|' * (len(tables) * len(keys))]
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
                text = _fmt(float(v), _digits(k))
                best = info.get(k, (k, 'max'))[1]
                if len(vals) > 1 and best and v == {'max': max, 'min': min}[
                        best](vals):
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
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, name in ((axes[0], 'deletion_curve', 'Deletion'),
                          (axes[1], 'insertion_curve', 'Insertion')):
        for method, c in curves.items():
            y = c.get(key)
            if not y:
                continue
            ax.plot(np.linspace(0, 1, len(y)), y, label=method)
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


def write_reports(work_dir: str, new: Dict[str, dict],
                  title: Optional[str] = None) -> Dict[str, dict]:
    """Merge ``new`` rows into the work dir's reports and rewrite them.

    Writes ``metrics.json`` (``{method: row}`` without curves),
    ``curves.json``, ``metrics.md``, ``curves.png`` and, when any method
    has a sanity check, ``sanity.json`` and ``sanity.png``.

    Returns:
        dict: The merged ``metrics.json`` content.
    """
    os.makedirs(work_dir, exist_ok=True)
    metrics = read_json(osp.join(work_dir, 'metrics.json'), {})
    curves = read_json(osp.join(work_dir, 'curves.json'), {})
    sanity = read_json(osp.join(work_dir, 'sanity.json'), {})
    for label, r in new.items():
        r = dict(r)
        curves[label] = {k: r.pop(k, None) for k in CURVE_KEYS}
        stages = r.pop('sanity', None)
        if stages:
            sanity[label] = stages
        metrics[label] = r
    atomic_write_json(osp.join(work_dir, 'metrics.json'), metrics)
    atomic_write_json(osp.join(work_dir, 'curves.json'), curves)
    atomic_write_bytes(osp.join(work_dir, 'metrics.md'),
                       markdown_table(metrics, title).encode())
    plot_curves(curves, osp.join(work_dir, 'curves.png'), title)
    if sanity:
        atomic_write_json(osp.join(work_dir, 'sanity.json'), sanity)
        plot_cascade(sanity, osp.join(work_dir, 'sanity.png'))
    return metrics


def summarize_records(method_dir: str,
                      videos: Optional[Sequence[str]] = None) -> dict:
    """Recompute a method's row from its per-video records.

    Reads every metric's ``<prefix>.jsonl`` in ``method_dir`` (what
    ``tools/eval_saliency.py`` leaves in ``WORK_DIR/<method>``) and
    aggregates it with the metric's own :meth:`SaliencyMetric.aggregate`;
    ``videos`` restricts the row to those video ids, so that methods run on
    different numbers of videos can be compared on their common videos.

    Returns:
        dict: The merged aggregates of the metrics whose records exist.
    """
    keep = set(videos) if videos is not None else None
    row = {}
    for metric in saliency_metric_classes():
        path = osp.join(method_dir, metric.records_file())
        if not osp.isfile(path):
            continue
        rows = [r for r in read_lines(path)
                if keep is None or r.get('video') in keep]
        row.update(metric.aggregate(rows))
    return row


def method_label(method_dir: str) -> str:
    """A method folder's row label (its ``label.txt``, else its name)."""
    path = osp.join(method_dir, LABEL_FILE)
    if osp.isfile(path):
        with open(path) as f:
            return f.read().strip() or osp.basename(method_dir)
    return osp.basename(osp.normpath(method_dir))


def tables_from_records(work_dir, out_dir: str,
                        videos: Optional[Sequence[str]] = None,
                        title: Optional[str] = None,
                        order: Optional[Sequence[str]] = None
                        ) -> Dict[str, dict]:
    """Rebuild ``metrics.json/md`` and the curves from per-video records.

    Every method folder of ``work_dir`` with metric records becomes a row,
    labelled as in the run that made it (:func:`method_label`), so rebuilt
    rows replace the run's own. ``work_dir`` may be a list of work dirs:
    their methods are joined. ``videos`` restricts all rows to the same
    videos (a like-for-like table when methods ran on different numbers of
    videos). The reports are written to ``out_dir`` (which must differ from
    ``work_dir`` unless every method's row should be replaced).

    ``order`` lists row labels in the order wanted (the rest follow,
    sorted); by default rows are sorted by label.

    Returns:
        dict: ``{method: row}``.
    """
    dirs = [work_dir] if isinstance(work_dir, str) else list(work_dir)
    files = [m.records_file() for m in saliency_metric_classes()]
    rows = {}
    for wd in dirs:
        for name in sorted(os.listdir(wd)):
            d = osp.join(wd, name)
            if osp.isdir(d) and any(osp.isfile(osp.join(d, f))
                                    for f in files):
                rows[method_label(d)] = summarize_records(d, videos)
    rank = {m: i for i, m in enumerate(order or [])}
    rows = dict(sorted(rows.items(),
                       key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
    if all(osp.abspath(out_dir) != osp.abspath(wd) for wd in dirs):
        for f in ('metrics.json', 'curves.json', 'sanity.json'):
            path = osp.join(out_dir, f)
            if osp.isfile(path):
                os.remove(path)
    return write_reports(out_dir, rows, title)
