#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine for tests: slurmctld + slurmd on
# localhost, two partitions on the same node (`cpu`, the default, and `gpu`) and one fake
# GPU, so that GPU jobs are scheduled and see CUDA_VISIBLE_DEVICES exactly as on a cluster.
#
#   sudo tests/slurm/start_local_slurm.sh [STATE_DIR]     # default: $SLURM_TEST_DIR or /tmp/local-slurm
#   export SLURM_CONF=STATE_DIR/etc/slurm.conf            # for sbatch/squeue/snakemake
#   sudo tests/slurm/stop_local_slurm.sh [STATE_DIR]
#
# Installs nothing. Needs root and the Debian packages slurmctld slurmd slurm-client munge
# (`apt-get install -y slurmctld slurmd slurm-client munge`). Needs no systemd and no
# cgroups. Everything lives in STATE_DIR (config, spool, logs, pid files). The config is
# also linked from /etc/slurm (slurm.conf, gres.conf): the SLURM executor plugin runs each
# job's `srun` with the SLURM_* variables removed, SLURM_CONF included, so srun finds the
# config only there. A /etc/slurm/slurm.conf that is not such a link is never replaced
# (the script stops instead); stop_local_slurm.sh removes the links. The munge key
# (/etc/munge/munge.key) is created when missing, as munged requires it there.
# There is no accounting database: use `squeue` for job status (MinJobAge keeps finished
# jobs visible for 10 minutes) and submit without an account.
set -euo pipefail

state=${1:-${SLURM_TEST_DIR:-/tmp/local-slurm}}
mkdir -p "$state"
state=$(cd "$state" && pwd)
conf_dir=$state/etc

die() { echo "start_local_slurm: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (slurmd and munged need it)"
for exe in slurmctld slurmd munged sinfo scontrol; do
  command -v "$exe" >/dev/null || [ -x "/usr/sbin/$exe" ] ||
    die "$exe not found; install: apt-get install -y slurmctld slurmd slurm-client munge"
done
if [ -s "$state/slurmctld.pid" ] && kill -0 "$(cat "$state/slurmctld.pid")" 2>/dev/null; then
  die "already running from $state (stop it with stop_local_slurm.sh $state)"
fi
for daemon in slurmctld slurmd; do
  ! pgrep -x "$daemon" >/dev/null || die "a $daemon already runs on this machine (its ports are taken)"
done

mkdir -p "$conf_dir" "$state"/{spool,ctld,log} /run/munge /var/log/munge /var/lib/munge /etc/munge
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

# munge: a key and a daemon (started only when none runs; its pid is remembered so that
# stop_local_slurm.sh stops only a munged started here).
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
fi
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
rm -f "$state/munged.started"
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force
  for _ in $(seq 20); do [ -s /run/munge/munged.pid ] && break; sleep 0.25; done
  [ -s /run/munge/munged.pid ] && cp /run/munge/munged.pid "$state/munged.started"
fi

# A character device standing in for the GPU (a copy of /dev/null).
[ -e /dev/fakegpu0 ] || mknod /dev/fakegpu0 c 1 3 2>/dev/null || ln -sf /dev/null /dev/fakegpu0

# proctrack/linuxproc and task/none: no cgroups needed. The GPU has a type (`fake`) and
# the node a feature (`fakegpu`), so gpu_model and constraint settings are exercised too.
cat > "$conf_dir/slurm.conf" <<CONF
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
MinJobAge=600
MessageTimeout=30
KillWait=30
DefMemPerCPU=1024
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=localhost CPUs=$cpus RealMemory=$mem_mb Gres=gpu:fake:1 Features=fakegpu State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
CONF
cat > "$conf_dir/gres.conf" <<CONF
AutoDetect=off
NodeName=localhost Name=gpu Type=fake File=/dev/fakegpu0
CONF

# The links in /etc/slurm (see the top); refuse to replace a real cluster's config.
mkdir -p /etc/slurm
for name in slurm.conf gres.conf; do
  link=/etc/slurm/$name
  if [ -e "$link" ] && [ ! -L "$link" ]; then
    die "$link exists and is not a link made by this script; not replacing it"
  fi
  ln -sfn "$conf_dir/$name" "$link"
done

export SLURM_CONF=$conf_dir/slurm.conf
# -i: ignore state left by an earlier run; both daemonize and write their pid files.
/usr/sbin/slurmctld -i -f "$SLURM_CONF"
/usr/sbin/slurmd -N localhost -f "$SLURM_CONF"
for _ in $(seq 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed)'; then
    sinfo
    echo "local SLURM is up; use it with: export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
  sleep 1
done
echo "local SLURM did not come up; see $state/log" >&2
exit 1
