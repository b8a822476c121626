"""``report.html``: what a run made, in one page a person opens.

One file per explain work dir and per eval work dir, rebuilt at the end of
every run from what the work dir holds (so a rerun adds its videos and
methods to it). The page needs no network: styles are inline, the
deletion and insertion curves are inline SVG, and overlays are linked by
paths relative to the work dir (``vis/<video>.mp4``): move or copy the work
dir as a whole and the page still plays them. Nothing else is linked.

* Explain (:func:`write_explain_report`): the run's header, counts, and a
  table of the videos (class name, score, seconds, status, error) with
  each overlay playable inline.
* Eval (:func:`write_eval_report`): the metrics table, the mean deletion
  and insertion curves, the sanity check's plot if there is one, and per
  video the methods side by side (overlay, score, deletion, insertion,
  pointing-game hits).
"""
import datetime
import html
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence
from urllib.parse import quote

from ..fileio import atomic_write_bytes, read_json, read_lines

#: The file name of the report in a work dir.
REPORT_FILE = 'report.html'
#: File in an eval method's folder naming where its overlays are when its
#: maps were read from another run (``--maps``).
OVERLAY_DIR_FILE = 'overlays.txt'
#: Pages with more media than this load only the videos' metadata until
#: played (a 200-video set stays light); smaller ones load them at once.
PRELOAD_LIMIT = 60
#: Line colours of the curves, one per method (cycled).
COLOURS = ('#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd',
           '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf')

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial,
       sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
.meta { color: #555; margin: .1em 0; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid #ccc; padding: .3em .5em; vertical-align: top; }
th { background: #f2f2f2; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fff1f0; }
.error { color: #a8071a; font-family: monospace; font-size: .9em;
         max-width: 30em; }
video, img.overlay { max-width: 360px; max-height: 320px;
                     display: block; background: #000; }
.best { font-weight: bold; }
.cell { font-size: .85em; color: #444; margin-top: .2em; }
svg text { font-size: 12px; fill: #333; }
"""


def _e(value) -> str:
    return html.escape('' if value is None else str(value))


def _rel(path: str, start: str) -> str:
    """``path`` relative to ``start``, as a URL path."""
    rel = osp.relpath(path, start).replace(os.sep, '/')
    return '/'.join(quote(p) for p in rel.split('/'))


def _num(value, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return '–'
    return f'{value:.{digits}f}' if isinstance(value, float) else str(value)


def _page(title: str, body: List[str]) -> bytes:
    when = datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<title>{_e(title)}</title><style>{_STYLE}</style></head>'
            f'<body>\n<h1>{_e(title)}</h1>\n'
            + '\n'.join(body)
            + f'\n<p class="meta">Written {when} by mmaction-aosa.</p>'
            '\n</body></html>\n').encode('utf-8')


def _media(work_dir: str, vis_dir: Optional[str], video: str,
           preload: str) -> str:
    """The overlay of one video: the mp4 playable inline (the PNG grid as
    a fallback), or a dash when there is none."""
    if not vis_dir:
        return '–'
    mp4 = osp.join(vis_dir, f'{video}.mp4')
    png = osp.join(vis_dir, f'{video}.png')
    if osp.isfile(mp4):
        return (f'<video src="{_rel(mp4, work_dir)}" controls muted loop '
                f'playsinline preload="{preload}"></video>')
    if osp.isfile(png):
        return (f'<img class="overlay" src="{_rel(png, work_dir)}" '
                f'alt="overlay of {_e(video)}">')
    return '–'


def _class_of(rec: dict, class_names: Optional[Sequence[str]]) -> str:
    if rec.get('class_name'):
        return str(rec['class_name'])
    target = rec.get('target')
    if target is None:
        return ''
    if class_names and 0 <= int(target) < len(class_names):
        return str(class_names[int(target)])
    return f'class {target}'


def _count_media(dirs: Sequence[str], videos: Sequence[str]) -> int:
    return sum(osp.isfile(osp.join(d, f'{v}.mp4'))
               for d in dirs for v in videos)


def _summary(path: str) -> Dict[str, dict]:
    """Last line per video of a work dir's summary (its order kept)."""
    out = {}
    for rec in read_lines(osp.join(path, 'summary.jsonl')):
        if rec.get('video') is not None:
            out.pop(rec['video'], None)
            out[rec['video']] = rec
    return out


def write_explain_report(work_dir: str,
                         header: Sequence[str] = (),
                         class_names: Optional[Sequence[str]] = None,
                         title: Optional[str] = None) -> str:
    """Write ``WORK_DIR/report.html`` of an explain run.

    Args:
        work_dir (str): The run's work dir (``summary.jsonl``, ``vis/``).
        header (sequence of str): Lines under the title (what was
            explained with what).
        class_names (sequence of str, optional): Names for summary lines
            without a ``class_name``.
        title (str, optional): Default ``Saliency maps: <work dir>``.

    Returns:
        str: The report's path.
    """
    rows = _summary(work_dir)
    vis = osp.join(work_dir, 'vis')
    preload = ('auto' if _count_media([vis], list(rows)) <= PRELOAD_LIMIT
               else 'metadata')
    counts = {s: sum(r.get('status') == s for r in rows.values())
              for s in ('ok', 'failed')}
    body = [f'<p class="meta">{_e(line)}</p>' for line in header]
    body.append(f'<p class="meta">{len(rows)} videos: {counts["ok"]} ok, '
                f'{counts["failed"]} failed. Maps in <code>maps/</code> '
                '(<code>SaliencyRecord.from_npz</code>), one line per video '
                'and attempt in <code>summary.jsonl</code>.</p>')
    body.append('<h2>Videos</h2>')
    body.append('<table id="videos"><thead><tr><th>#</th><th>video</th>'
                '<th>class</th><th>score</th><th>seconds</th>'
                '<th>status</th><th>error</th><th>overlay</th></tr>'
                '</thead><tbody>')
    for i, (vid, rec) in enumerate(rows.items(), 1):
        status = rec.get('status') or ''
        media = _media(work_dir, vis, vid, preload) if status == 'ok' \
            else '–'
        body.append(
            f'<tr class="{_e(status)}"><td class="num">{i}</td>'
            f'<td>{_e(vid)}</td><td>{_e(_class_of(rec, class_names))}</td>'
            f'<td class="num">{_num(rec.get("score"))}</td>'
            f'<td class="num">{_num(rec.get("seconds"), 1)}</td>'
            f'<td>{_e(status)}</td>'
            f'<td class="error">{_e(rec.get("error") or "")}</td>'
            f'<td>{media}</td></tr>')
    body.append('</tbody></table>')
    path = osp.join(work_dir, REPORT_FILE)
    atomic_write_bytes(path, _page(
        title or f'Saliency maps: {osp.basename(osp.abspath(work_dir))}',
        body))
    return path


def curves_svg(curves: Dict[str, dict], width: int = 360,
               height: int = 240) -> str:
    """The mean deletion and insertion curves of each method as one inline
    SVG (two panels, target-class probability against the fraction of
    voxels deleted or inserted)."""
    pad_l, pad_b, pad_t, pad_r = 44, 36, 24, 10
    pw, ph = width - pad_l - pad_r, height - pad_t - pad_b
    methods = [m for m, c in curves.items()
               if c and (c.get('deletion_curve') or c.get('insertion_curve'))]
    legend_h = 18 * len(methods)
    total_w = 2 * width
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" '
           f'height="{height + legend_h + 8}" role="img" '
           'aria-label="deletion and insertion curves">']
    for p, (key, name, verb) in enumerate(
            (('deletion_curve', 'Deletion', 'deleted'),
             ('insertion_curve', 'Insertion', 'inserted'))):
        x0, y0 = p * width + pad_l, pad_t
        out.append(f'<text x="{x0 + pw / 2:.0f}" y="16" '
                   f'text-anchor="middle">{name}</text>')
        out.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" '
                   'fill="none" stroke="#999"/>')
        for tick in (0, 0.5, 1):
            ty = y0 + ph * (1 - tick)
            tx = x0 + pw * tick
            out.append(f'<text x="{x0 - 4}" y="{ty + 4:.0f}" '
                       f'text-anchor="end">{tick:g}</text>')
            out.append(f'<text x="{tx:.0f}" y="{y0 + ph + 14}" '
                       f'text-anchor="middle">{tick:g}</text>')
        out.append(f'<text x="{x0 + pw / 2:.0f}" y="{y0 + ph + 30}" '
                   f'text-anchor="middle">fraction of voxels {verb}</text>')
        for i, m in enumerate(methods):
            y = curves[m].get(key) or []
            if len(y) < 2:
                continue
            pts = ' '.join(
                f'{x0 + pw * j / (len(y) - 1):.1f},'
                f'{y0 + ph * (1 - min(max(float(v), 0), 1)):.1f}'
                for j, v in enumerate(y))
            out.append(f'<polyline fill="none" stroke-width="2" '
                       f'stroke="{COLOURS[i % len(COLOURS)]}" '
                       f'points="{pts}"><title>{_e(m)}</title></polyline>')
    for i, m in enumerate(methods):
        ly = height + 4 + 18 * i
        colour = COLOURS[i % len(COLOURS)]
        out.append(f'<line x1="{pad_l}" y1="{ly + 8}" x2="{pad_l + 24}" '
                   f'y2="{ly + 8}" stroke="{colour}" stroke-width="3"/>')
        out.append(f'<text x="{pad_l + 30}" y="{ly + 12}">{_e(m)}</text>')
    out.append('</svg>')
    return ''.join(out)


def _metrics_table(metrics: Dict[str, dict]) -> str:
    from .report import table_columns
    cols = table_columns()
    best = {}
    for key, _, pick in cols:
        vals = [r.get(key) for r in metrics.values()
                if isinstance(r.get(key), (int, float))]
        best[key] = ({'max': max, 'min': min}[pick](vals)
                     if pick and vals and len(metrics) > 1 else None)
    out = ['<table id="metrics"><thead><tr><th>Method</th>'
           + ''.join(f'<th>{_e(h)}</th>' for _, h, _ in cols)
           + '<th>failed</th></tr></thead><tbody>']
    for method, r in metrics.items():
        cells = []
        for key, _, _ in cols:
            v = r.get(key)
            digits = 2 if key.startswith('seconds') else 3
            cls = 'num best' if v is not None and v == best[key] else 'num'
            cells.append(f'<td class="{cls}">{_num(v, digits)}</td>')
        out.append(f'<tr><td>{_e(method)}</td>{"".join(cells)}'
                   f'<td class="num">{_num(r.get("num_failed", 0))}</td>'
                   '</tr>')
    out.append('</tbody></table>')
    return ''.join(out)


def _method_dirs(work_dir: str) -> Dict[str, str]:
    """``{row label: folder}`` of the methods of an eval work dir (folders
    with a ``label.txt``), in the order of ``metrics.json``."""
    from .report import LABEL_FILE, method_label
    found = {}
    for name in sorted(os.listdir(work_dir)):
        d = osp.join(work_dir, name)
        if osp.isdir(d) and osp.isfile(osp.join(d, LABEL_FILE)):
            found[method_label(d)] = d
    order = list(read_json(osp.join(work_dir, 'metrics.json'), {}) or {})
    rank = {m: i for i, m in enumerate(order)}
    return dict(sorted(found.items(),
                       key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def overlay_dir_of(method_dir: str) -> Optional[str]:
    """Where a method's overlays are: its own ``vis/``, else the folder
    named in its :data:`OVERLAY_DIR_FILE` (maps read with ``--maps``)."""
    own = osp.join(method_dir, 'vis')
    if osp.isdir(own):
        return own
    path = osp.join(method_dir, OVERLAY_DIR_FILE)
    if osp.isfile(path):
        with open(path) as f:
            other = f.read().strip()
        if other and osp.isdir(other):
            return other
    return None


def _per_video(method_dir: str) -> Dict[str, dict]:
    """What an eval method knows per video: status, target, score from the
    summary; deletion, insertion, pointing-game hits and seconds from the
    metrics' records."""
    rows: Dict[str, dict] = {}
    for rec in read_lines(osp.join(method_dir, 'explain.jsonl')):
        rows.setdefault(rec['video'], {})['status'] = rec.get('status')
    for vid, rec in _summary(method_dir).items():
        rows.setdefault(vid, {}).update(
            {k: rec.get(k) for k in ('status', 'target', 'score', 'error',
                                     'class_name')})
    for name, keys in (('deletion_insertion.jsonl',
                        ('target', 'deletion', 'insertion')),
                       ('pointing_game.jsonl', ('hits', 'frames')),
                       ('time.jsonl', ('seconds', ))):
        for rec in read_lines(osp.join(method_dir, name)):
            row = rows.setdefault(rec['video'], {})
            for k in keys:
                if rec.get(k) is not None:
                    row[k] = rec[k]
    return rows


def write_eval_report(work_dir: str, header: Sequence[str] = (),
                      class_names: Optional[Sequence[str]] = None,
                      title: Optional[str] = None) -> str:
    """Write ``WORK_DIR/report.html`` of an eval run (every method the
    work dir holds, from this run and earlier ones).

    Args:
        work_dir (str): The eval work dir (``metrics.json``,
            ``curves.json``, one folder per method).
        header (sequence of str): Lines under the title.
        class_names (sequence of str, optional): Names of the targets.
        title (str, optional): Default ``Saliency evaluation: <work dir>``.

    Returns:
        str: The report's path.
    """
    metrics = read_json(osp.join(work_dir, 'metrics.json'), {}) or {}
    curves = read_json(osp.join(work_dir, 'curves.json'), {}) or {}
    methods = _method_dirs(work_dir)
    per = {m: _per_video(d) for m, d in methods.items()}
    vis = {m: overlay_dir_of(d) for m, d in methods.items()}
    videos: List[str] = []
    for rows in per.values():
        videos += [v for v in rows if v not in videos]
    preload = ('auto' if _count_media([v for v in vis.values() if v],
                                      videos) <= PRELOAD_LIMIT
               else 'metadata')
    body = [f'<p class="meta">{_e(line)}</p>' for line in header]
    body.append('<h2>Metrics</h2>')
    body.append(_metrics_table(metrics) if metrics else '<p>none yet</p>')
    body.append('<p class="meta">Deletion and insertion: area under the '
                'target-class probability as the most salient voxels are '
                'deleted or inserted (RISE); over-all = insertion − '
                'deletion; S-PT: spatial pointing game; best of each '
                'column in bold.</p>')
    if any(c and c.get('deletion_curve') for c in curves.values()):
        body.append('<h2>Deletion and insertion curves (mean over videos)'
                    '</h2>')
        body.append(curves_svg(curves))
    if osp.isfile(osp.join(work_dir, 'sanity.png')):
        body.append('<h2>Sanity check (cascading randomisation)</h2>')
        body.append('<img class="plot" src="sanity.png" '
                    'alt="rank correlation per randomised stage">')
    body.append('<h2>Methods side by side</h2>')
    body.append('<table id="videos"><thead><tr><th>video</th>'
                + ''.join(f'<th>{_e(m)}</th>' for m in methods)
                + '</tr></thead><tbody>')
    for vid in videos:
        cells = []
        for m in methods:
            row = per[m].get(vid)
            if row is None:
                cells.append('<td>–</td>')
                continue
            status = row.get('status') or 'ok'
            info = []
            if row.get('target') is not None:
                info.append(_e(_class_of(row, class_names)))
            if isinstance(row.get('score'), (int, float)):
                info.append(f'p={row["score"]:.3f}')
            if isinstance(row.get('deletion'), (int, float)):
                info.append(f'del {row["deletion"]:.3f}, '
                            f'ins {row["insertion"]:.3f}')
            if row.get('frames'):
                info.append(f'S-PT {row["hits"]}/{row["frames"]}')
            if isinstance(row.get('seconds'), (int, float)):
                info.append(f'{row["seconds"]:.1f} s')
            media = (_media(work_dir, vis[m], vid, preload)
                     if status == 'ok' else '')
            err = (f'<div class="error">{_e(row.get("error") or status)}'
                   '</div>' if status != 'ok' else '')
            cells.append(f'<td>{media}{err}<div class="cell">'
                         f'{" · ".join(info)}</div></td>')
        body.append(f'<tr><td>{_e(vid)}</td>{"".join(cells)}</tr>')
    body.append('</tbody></table>')
    path = osp.join(work_dir, REPORT_FILE)
    atomic_write_bytes(path, _page(
        title or f'Saliency evaluation: '
        f'{osp.basename(osp.abspath(work_dir))}', body))
    return path
