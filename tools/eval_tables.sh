#!/usr/bin/env bash
# The saliency tables of docs/metrics.md on the ground-truth benchmark:
# every method on the held-out generated clips, for the tiny trained models.
#
#   tools/eval_tables.sh [FAMILY ...]     (default: r3d r2plus1d slowfast timesformer tsm)
#
# Environment (all optional):
#   NUM_VIDEOS  clips per method (default 50)
#   METHODS     explainer names for tools/eval_saliency.py (default: all of
#               the paper's; `rollout` is added for timesformer)
#   WORK        output root (default work_dirs/eval_tables; one folder per family)
#   DATA        held-out data root (default work_dirs/eval_data/synthetic,
#               generated with seed 31337 if missing)
#   PY          python (default .venv/bin/python)
#   TABLES_ONLY=1  only rebuild the tables from the records already there
#
# One tools/eval_saliency.py run per method, so an interrupted run loses at
# most one method's unfinished clips (maps already made are reused on the
# next run) and rows from separate runs can be joined. A method that fails
# is reported and the others still run. At the end each family's table is
# rebuilt from the per-video records of all its methods, in
# WORK/FAMILY/table/ (metrics.json, metrics.md, curves.png), and printed;
# then one table of over-all and S-PT for all the families run
# (WORK/comparison.md).
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
N=${NUM_VIDEOS:-50}
WORK=${WORK:-work_dirs/eval_tables}
DATA=${DATA:-work_dirs/eval_data/synthetic}
# AOSA first (the default and the authors' form, each with its AOSA-approx),
# then the baselines; aosa_cs (4 draws per mask) is left to METHODS=
DEFAULT_METHODS="aosa aosa_authors aosa_approx aosa_approx_authors occlusion3d gradcam smoothgrad step"
FAMILIES=${*:-r3d r2plus1d slowfast timesformer tsm}

if [ -z "${TABLES_ONLY:-}" ] && [ ! -f "$DATA/test/ann.txt" ]; then
    "$PY" tools/make_synthetic.py --out "$DATA/test" --num-videos 50 \
        --seed 31337 || exit 1
fi

status=0
for fam in $FAMILIES; do
    cfg=configs/tiny/tiny_${fam}_synthetic.py
    ckpt=checkpoints/tiny_${fam}_synthetic.pth
    methods=${METHODS:-$DEFAULT_METHODS}
    if [ -z "${METHODS:-}" ] && [ "$fam" = timesformer ]; then
        methods="$methods rollout"
    fi
    [ -n "${TABLES_ONLY:-}" ] && methods=
    for m in $methods; do
        echo "== $fam: $m on $N clips"
        if ! "$PY" tools/eval_saliency.py "$cfg" "$ckpt" --explainers "$m" \
                --work-dir "$WORK/$fam" --num-videos "$N" \
                --cfg-options "test_dataloader.dataset.data_root=$DATA"; then
            echo "!! $fam: $m failed" >&2
            status=1
        fi
    done
    "$PY" - "$WORK/$fam" <<'EOF'
import sys
from mmaction_aosa.evaluation import tables_from_records
# rows in the order of the paper's tables: baselines, then AOSA's forms
order = ['gradcam', 'smoothgrad', 'step', 'occlusion3d', 'rollout',
         'aosa_authors', 'aosa_approx_authors', 'aosa', 'aosa_approx',
         'aosa_cs']
tables_from_records(sys.argv[1], sys.argv[1] + '/table', order=order)
print(open(sys.argv[1] + '/table/metrics.md').read())
EOF
done
"$PY" - "$WORK" $FAMILIES <<'EOF'
import json, os.path as osp, sys
from mmaction_aosa.evaluation import comparison_table
names = dict(r3d='R3D', r2plus1d='R(2+1)D', slowfast='SlowFast',
             timesformer='TimeSformer', tsm='TSM')
work, fams = sys.argv[1], sys.argv[2:]
paths = {names.get(f, f): osp.join(work, f, 'table', 'metrics.json')
         for f in fams}
tables = {k: json.load(open(p)) for k, p in paths.items() if osp.isfile(p)}
with open(osp.join(work, 'comparison.md'), 'w') as f:
    f.write(comparison_table(tables))
print(open(osp.join(work, 'comparison.md')).read())
EOF
exit $status
