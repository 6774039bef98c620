#!/usr/bin/env bash
# Stop what start_local_slurm.sh started, by its pid files only: first cancel the jobs
# still on the local cluster (their processes belong to slurmstepd, which outlives
# slurmd), then slurmd, slurmctld, and munged if that script started it; last the links
# in /etc/slurm to this state directory's config.
#   tests/slurm/stop_local_slurm.sh [STATE_DIR]   # default: $SLURM_TEST_DIR or /tmp/local-slurm
state=${1:-${SLURM_TEST_DIR:-/tmp/local-slurm}}
[ -d "$state" ] || exit 0
state=$(cd "$state" && pwd)
export SLURM_CONF=$state/etc/slurm.conf

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if alive "$state/slurmctld.pid" && [ -f "$SLURM_CONF" ]; then
  jobs=$(squeue -h -t PD,R,CG,S -o %A 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 45); do
      [ -z "$(squeue -h -t PD,R,CG,S -o %A 2>/dev/null)" ] && break
      sleep 1
    done
  fi
fi

for f in "$state/slurmd.pid" "$state/slurmctld.pid" "$state/munged.started"; do
  if alive "$f"; then
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
done
rm -f "$state/munged.started"
# The /etc/slurm links start_local_slurm.sh made to this state directory's config.
for name in slurm.conf gres.conf; do
  link=/etc/slurm/$name
  if [ -L "$link" ] && [ "$(readlink "$link")" = "$state/etc/$name" ]; then
    rm -f "$link"
  fi
done
exit 0
