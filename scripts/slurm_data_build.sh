#!/usr/bin/env bash
# Build the Music4All MV-description dataset on a SLURM cluster: one shard per array task, then merge.
#   sbatch --array=0-63 scripts/slurm_data_build.sh /data/music4all /shared/m4a-mv 64
#   # when all tasks are done:
#   mv2desc data merge --out /shared/m4a-mv
# Every task writes only its own shards/shard-<i>-of-<N>/ folder (atomically) and its own cache
# entries, so a failed task is simply resubmitted (finished clips are reused).
#SBATCH --job-name=mv2desc-data
#SBATCH --cpus-per-task=32
#SBATCH --mem=64G
#SBATCH --time=08:00:00
set -euo pipefail
ROOT=${1:?music4all root}
OUT=${2:?output folder (shared filesystem)}
SHARDS=${3:?number of shards (= array size)}
mv2desc data build --config configs/data/build.yaml --root "$ROOT" --out "$OUT" \
  --num_proc "${SLURM_CPUS_PER_TASK:-1}" --num_shards "$SHARDS" --shard_index "${SLURM_ARRAY_TASK_ID:?run as an array job}"
