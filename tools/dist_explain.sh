#!/usr/bin/env bash
# Explain a test set on several GPUs (or CPU processes), mmaction2 style:
#   bash tools/dist_explain.sh CONFIG CHECKPOINT GPUS [explain.py args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT as for mmaction2.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$DIR/..:${PYTHONPATH:-}" \
python -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$DIR/explain.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
