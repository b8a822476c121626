"""A figure for a paper: one video, methods as rows, frames as columns.

    python tools/figure.py RUN [RUN ...] --video VIDEO_ID
        [--labels NAME ...] [--frames 8] [--out FILE] [--dpi 300]
        [--alpha 0.5] [--title TEXT] [--source PATH]

Each RUN is a folder holding the video's map: the work dir of a
``tools/explain.py`` run (``RUN/maps/<id>.npz``), a method folder of a
``tools/eval_saliency.py`` work dir (``EVAL_DIR/<method>``), or a maps
folder. Give an eval work dir alone to take all its methods. Rows are
labelled with the eval method's label or the folder's name (``--labels``
names them yourself). Every panel is the model's crop of the source frame,
at the source's resolution, with the map over it; one colour bar (each map
scaled to [0, 1] over its clip). Writes FILE.png (at --dpi) and FILE.pdf
(default ``figure_<id>`` in the current folder). The source video is the
path the map records (``--source`` gives another). Exit code 2 on bad
input.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+', metavar='RUN',
                   help='folders with the video map (explain work dirs, '
                   'eval method folders, maps folders) or one eval work dir')
    p.add_argument('--video', required=True, metavar='ID',
                   help='the video id (the map file name without .npz)')
    p.add_argument('--labels', nargs='+', metavar='NAME',
                   help='row labels, one per RUN')
    p.add_argument('--frames', type=int, default=8,
                   help='frames (columns), evenly spaced over the clip')
    p.add_argument('--out', help='output file stem (.png and .pdf)')
    p.add_argument('--dpi', type=int, default=300,
                   help='resolution of the PNG (the PDF is vector with '
                   'the panels at the source resolution)')
    p.add_argument('--alpha', type=float, default=0.5,
                   help='weight of the heat map in the blend')
    p.add_argument('--title', help='a title above the figure')
    p.add_argument('--source', help='the source video (default: the path '
                   'the maps record)')
    return p


def expand_runs(runs):
    """An eval work dir (method folders with label.txt) stands for its
    methods, in the order of its metrics.json."""
    from mmaction_aosa.evaluation.html_report import _method_dirs
    out = []
    for run in runs:
        methods = _method_dirs(run) if osp.isdir(run) else {}
        if methods and not osp.isdir(osp.join(run, 'maps')):
            out += list(methods.values())
        else:
            out.append(run)
    return out


def main(argv=None) -> int:
    import warnings
    warnings.filterwarnings('ignore', category=UserWarning)
    args = parser().parse_args(argv)
    import mmaction_aosa  # noqa: F401
    from mmaction_aosa.visualization.figure import load_rows, write_figure
    from mmaction_aosa.visualization.source import SourceError
    for run in args.runs:
        if not osp.isdir(run):
            print(f'error: not a folder: {run}', file=sys.stderr)
            return 2
    runs = expand_runs(args.runs)
    if args.labels and len(args.labels) != len(runs):
        print(f'error: {len(args.labels)} labels for {len(runs)} runs',
              file=sys.stderr)
        return 2
    if args.frames < 1 or args.dpi < 1:
        print('error: --frames and --dpi must be >= 1', file=sys.stderr)
        return 2
    out = args.out or f'figure_{args.video}'
    try:
        rows = load_rows(runs, args.video, args.labels, args.source)
        paths = write_figure(rows, out, args.frames, args.dpi, args.alpha,
                             args.title)
    except (FileNotFoundError, SourceError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    sys.exit(main())
