"""The SLURM profile (profiles/slurm) against a real SLURM cluster on this machine.

tests/slurm/start_local_slurm.sh starts slurmctld + slurmd on localhost with partitions
`cpu` and `gpu` and one fake GPU; the tiny pipeline then runs through
snakemake-executor-plugin-slurm with profiles/slurm plus tests/slurm/profile (the local
cluster's differences only). While the backward model trains, its SLURM job gets SIGTERM
exactly as SLURM sends it before a time limit (`--signal=TERM@...` and `scancel --signal`
both signal the job steps, not the batch shell): Marian saves its checkpoint, the job
fails, Snakemake resubmits it (`retries`) and the training resumes.

Those tests need root and the Debian packages slurmctld slurmd slurm-client munge, and are
skipped otherwise. The dry-run and profile tests at the top need no SLURM at all.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "profiles" / "slurm"
TEST_PROFILE = REPO / "tests" / "slurm" / "profile"
SLURM_SCRIPTS = REPO / "tests" / "slurm"
CONFIGS = [REPO / "config" / "config.yml", REPO / "tests" / "configs" / "tiny.yml",
           REPO / "tests" / "configs" / "slurm.yml"]
EXP = "tiny-slurm"
# The run stops at the metrics (no export, no reports), and tests/configs/slurm.yml leaves
# out back-translation and finetuning: these GPU rules are checked by the dry run only.
TARGET = f"results/{EXP}/evaluation/metrics.csv"
NOT_RUN = {"finetune_student"}

FALLBACK = "was granted but no CUDA device is usable here; running on CPU"
GPU_KEYS = {"gpu", "gpus", "gres", "gpu_model", "constraint", "cpus_per_gpu"}


def profile_variables(profile: Path) -> dict:
    return yaml.safe_load((profile / "config.yaml").read_text())["__variables__"]


def render_profile(profile: Path) -> dict:
    """The profile as Snakemake sees it (YTE rendered)."""
    import yte

    with open(profile / "config.yaml") as handle:
        return yte.process_yaml(handle, require_use_yte=True)


def workflow_rules() -> dict[str, str]:
    """Rule name -> its source, from rules/*.smk and the Snakefile. A rule derived from
    another (`use rule base as name with:`) has the base's source before its own."""
    blocks, bases = {}, {}
    rule = re.compile(r"^\s*(?:(?:rule|checkpoint)\s+(\w+)\s*:|use rule (\w+) as (\w+) with:)", re.M)
    for path in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        text = path.read_text()
        starts = list(rule.finditer(text))
        for match, following in zip(starts, starts[1:] + [None]):
            end = following.start() if following else len(text)
            name = match.group(1) or match.group(3)
            blocks[name] = text[match.start():end]
            if match.group(2):
                bases[name] = match.group(2)
    for name, base in bases.items():
        while base:
            blocks[name] = blocks[base] + blocks[name]
            base = bases.get(base)
    return blocks


def gpu_rules() -> set[str]:
    return {name for name, src in workflow_rules().items() if re.search(r"^\s+gpu\s*=", src, re.M)}


def train_rules() -> set[str]:
    return {name for name, src in workflow_rules().items()
            if 'script("mtdistill.train.train")' in src}


# --- no SLURM needed -------------------------------------------------------------------


def test_profile_gpu_rule_lists_match_the_workflow():
    """GPU settings reach exactly the rules that ask for a GPU; the signal, the trainings."""
    for profile in (PROFILE, TEST_PROFILE):
        variables = profile_variables(profile)
        assert set(variables["TRAIN_RULES"]) | set(variables["GPU_RULES"]) == gpu_rules(), profile
        assert set(variables["TRAIN_RULES"]) == train_rules(), profile


def test_test_profile_differs_only_in_local_cluster_settings():
    """tests/slurm/profile is layered on profiles/slurm and replaces only cluster settings."""
    real, local = render_profile(PROFILE), render_profile(TEST_PROFILE)
    assert set(local) <= {
        "default-resources", "set-resources", "slurm-status-command",
        "slurm-init-seconds-before-status-checks", "seconds-between-status-checks",
        "slurm-keep-successful-logs",
    }
    assert set(local["default-resources"]) == set(real["default-resources"]) - {"slurm_account"}
    assert set(local["set-resources"]) == set(real["set-resources"])
    for rule, resources in real["set-resources"].items():
        assert set(resources) <= set(local["set-resources"][rule]) <= set(resources) | GPU_KEYS
        assert ("slurm_extra" in resources) == ("slurm_extra" in local["set-resources"][rule])


def local_rules() -> set[str]:
    """Rules that run where Snakemake runs, never as SLURM jobs (a dry run lists them as
    ordinary rules): the Snakefile's `localrules:` and rules marked `localrule: True`."""
    text = (REPO / "Snakefile").read_text()
    listed = re.search(r"^localrules:\n((?:[ \t]+\w+,?\n)+)", text, re.M)
    names = set(re.findall(r"\w+", listed.group(1))) if listed else set()
    return names | {name for name, src in workflow_rules().items()
                    if re.search(r"^\s+localrule:\s*True", src, re.M)}


def dry_run_resources(output: str, local: bool = True) -> dict[str, list[dict[str, str]]]:
    """Rule -> the resources of each of its jobs, from a dry run's job listing (without
    the local jobs, which never reach SLURM, when `local` is false)."""
    jobs: dict[str, list[dict[str, str]]] = {}
    skip = set() if local else local_rules()
    rule = None
    for line in output.splitlines():
        match = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):", line)
        if match:
            rule = match.group(1) if match.group(1) not in skip else None
        match = re.match(r"^\s+resources: (.*)$", line)
        if match and rule:
            pairs = dict(item.split("=", 1) for item in match.group(1).split(", "))
            jobs.setdefault(rule, []).append(pairs)
            rule = None
    return jobs


def readme_profile_step() -> str:
    """The README's one-time step that makes the bare `--profile slurm` work."""
    steps = [line.split("#")[0] for line in (REPO / "README.md").read_text().splitlines()
             if "~/.config/snakemake/slurm" in line and line.lstrip().startswith("mkdir")]
    assert len(steps) == 1, steps
    return steps[0]


@pytest.mark.parametrize("profile", ["profiles/slurm", "slurm"])
def test_dry_run_with_the_cluster_profile_needs_no_slurm(tmp_path, profile):
    """`snakemake -n --profile profiles/slurm`, and the bare `--profile slurm` after the
    README's one-time step (run with HOME in a temp dir), with no cluster reachable."""
    env = dict(os.environ, SLURM_CONF=str(tmp_path / "no-such-slurm.conf"),
               HOME=str(tmp_path / "home"))
    for var in ("SNAKEMAKE_PROFILE", "XDG_CONFIG_HOME"):
        env.pop(var, None)
    (tmp_path / "home").mkdir()
    if profile == "slurm":
        subprocess.run(["bash", "-c", readme_profile_step()], cwd=REPO, env=env, check=True)
        assert (tmp_path / "home/.config/snakemake/slurm").resolve() == PROFILE.resolve()
    work = tmp_path / "work"
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--profile", profile,
         "--directory", str(work), "--configfile", *map(str, CONFIGS)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"Using profile {profile} " in output
    variables = profile_variables(PROFILE)
    jobs = dry_run_resources(output)
    gpu = gpu_rules()
    assert {"clean_corpus", "merge_corpus", "train_backward", "train_teacher"} <= set(jobs)
    for rule, resources in jobs.items():
        for res in resources:
            if rule in gpu:
                assert res["slurm_partition"] == variables["GPU_PARTITION"], (rule, res)
                assert res["gpu"] == "1", (rule, res)
                signal_arg = f"--signal=TERM@{variables['SAVE_SECONDS']}"
                assert (res.get("slurm_extra") == signal_arg) == (rule in train_rules()), (rule, res)
            else:
                assert res["slurm_partition"] == variables["CPU_PARTITION"], (rule, res)
                assert not GPU_KEYS & set(res), (rule, res)
                assert "slurm_extra" not in res, (rule, res)


def dry_run_with_profile(profile_dir: Path, tmp_path: Path) -> dict[str, list[dict[str, str]]]:
    env = dict(os.environ, SLURM_CONF=str(tmp_path / "no-such-slurm.conf"))
    env.pop("SNAKEMAKE_PROFILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "backwards", "--profile", str(profile_dir),
         "--directory", str(tmp_path / "work"), "--configfile", *map(str, CONFIGS)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return dry_run_resources(result.stdout + result.stderr, local=False)


def test_every_profile_setting_changes_the_jobs_resources(tmp_path):
    """Each cluster setting of profiles/slurm reaches the resources of some job submitted to
    SLURM (local jobs aside): none is dead."""
    original = yaml.safe_load((PROFILE / "config.yaml").read_text())
    base = dry_run_with_profile(PROFILE, tmp_path / "base")
    assert {"train_backward", "merge_corpus"} <= set(base)
    for name, value in original["__variables__"].items():
        if isinstance(value, list):
            continue  # the rule lists: test_profile_gpu_rule_lists_match_the_workflow
        changed = yaml.safe_load((PROFILE / "config.yaml").read_text())
        changed["__variables__"][name] = value + 3 if isinstance(value, int) else "changed-x"
        profile = tmp_path / name / "profile"
        profile.mkdir(parents=True)
        (profile / "config.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
        assert dry_run_with_profile(profile, tmp_path / name) != base, (
            f"profiles/slurm/config.yaml: {name} changes no job's resources: wire it or remove it")


# --- a local SLURM cluster -------------------------------------------------------------


def slurm_available() -> tuple[bool, str]:
    if not (shutil.which("slurmctld") or Path("/usr/sbin/slurmctld").exists()):
        return False, ("slurmctld is not installed (apt-get install -y slurmctld slurmd "
                       "slurm-client munge)")
    if os.geteuid() != 0:
        return False, "starting SLURM daemons needs root"
    return True, ""


_ok, _why = slurm_available()
needs_slurm = pytest.mark.skipif(not _ok, reason=_why)


def run(cmd, env, **kwargs) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{cmd} failed: {result.stdout}{result.stderr}")
    return result.stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running local cluster; the environment to reach it with. Stopped afterwards."""
    ok, why = slurm_available()
    if not ok:
        pytest.skip(why)
    for daemon in ("slurmctld", "slurmd"):
        if subprocess.run(["pgrep", "-x", daemon], capture_output=True).returncode == 0:
            pytest.skip(f"a {daemon} already runs on this machine; this test starts its own")
    state = tmp_path_factory.mktemp("slurm-state")
    env = dict(os.environ, SLURM_CONF=str(state / "etc" / "slurm.conf"))
    env.pop("SNAKEMAKE_PROFILE", None)
    try:
        start = subprocess.run([str(SLURM_SCRIPTS / "start_local_slurm.sh"), str(state)],
                               env=env, capture_output=True, text=True, timeout=120)
        assert start.returncode == 0, f"local SLURM did not start:\n{start.stdout}{start.stderr}"
        yield env
    finally:
        subprocess.run([str(SLURM_SCRIPTS / "stop_local_slurm.sh"), str(state)],
                       env=env, capture_output=True, timeout=120)


def slurm_jobs(env) -> dict[str, dict[str, str]]:
    """SLURM job id -> rule, state and `scontrol show job` fields, for every job so far."""
    jobs = {}
    out = run(["squeue", "--states=all", "--noheader", "--format=%i|%k|%T"], env)
    for line in out.splitlines():
        jobid, comment, state = line.strip().split("|")
        rule = comment.removeprefix("rule_").split("_wildcards_")[0]
        fields = dict(re.findall(r"(\w+)=(\S*)", run(["scontrol", "-o", "show", "job", jobid], env)))
        jobs[jobid] = {"rule": rule, "state": state, **fields}
    return jobs


def wait_for_updates(train_log: Path, proc, minimum: int, deadline: float) -> int:
    """Wait until Marian's train.log shows `minimum` updates; return the update seen."""
    while time.time() < deadline and proc.poll() is None:
        if train_log.exists():
            ups = [int(u) for u in re.findall(r" Up\. (\d+) ", train_log.read_text())]
            if ups and ups[-1] >= minimum:
                return ups[-1]
        time.sleep(0.5)
    raise AssertionError(f"no {minimum} updates in {train_log} (snakemake exit: {proc.poll()})")


@pytest.fixture(scope="module")
def pipeline(cluster, tmp_path_factory):
    """The tiny pipeline through SLURM; the backward training is signalled mid-way."""
    workdir = tmp_path_factory.mktemp("slurm-run")
    cmd = ["timeout", "-s", "KILL", "900", sys.executable, "-m", "snakemake",
           "-s", str(REPO / "Snakefile"), "--profile", str(PROFILE), "--profile", str(TEST_PROFILE),
           TARGET, "--configfile", *map(str, CONFIGS), "--verbose"]
    log_path = workdir / "snakemake.log"
    started = time.time()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=workdir, env=cluster, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Like SLURM before a time limit: SIGTERM to the training's job step.
        train_log = workdir / f"results/{EXP}/models/backward/train.log"
        signalled_at = wait_for_updates(train_log, proc, 50, time.time() + 600)
        running = [j for j, job in slurm_jobs(cluster).items()
                   if job["rule"] == "train_backward" and job["state"] == "RUNNING"]
        assert len(running) == 1, slurm_jobs(cluster)
        run(["scancel", "--signal=TERM", running[0]], cluster)
        returncode = proc.wait(timeout=900)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    seconds = time.time() - started
    jobs = slurm_jobs(cluster)
    timeline = "\n".join(f"{j:>4} {job['rule']:<22} {job['state']:<10} {job.get('Partition', '')}"
                         f" {job.get('StartTime', '')[11:]}-{job.get('EndTime', '')[11:]}"
                         for j, job in sorted(jobs.items(), key=lambda item: int(item[0])))
    (workdir / "slurm-jobs.txt").write_text(timeline + "\n")
    return {"workdir": workdir, "returncode": returncode, "log": log_path.read_text(),
            "jobs": jobs, "timeline": timeline, "signalled": running[0],
            "signalled_at": signalled_at, "seconds": seconds}


def sbatch_calls(log: str) -> dict[str, list[str]]:
    """Rule -> the sbatch command lines the plugin ran for it (logged with --verbose)."""
    calls: dict[str, list[str]] = {}
    for line in re.findall(r"sbatch call: (sbatch .*)", log):
        comment = re.search(r"--comment (\S+)", line).group(1)
        rule = comment.removeprefix("rule_").split("_wildcards_")[0]
        calls.setdefault(rule, []).append(line.split(" --wrap=")[0])
    return calls


@needs_slurm
def test_pipeline_completes_through_slurm(pipeline):
    assert pipeline["returncode"] == 0, pipeline["log"][-5000:] + pipeline["timeline"]
    metrics = pipeline["workdir"] / f"results/{EXP}/evaluation/metrics.csv"
    assert metrics.exists() and len(metrics.read_text().splitlines()) > 1
    ran = {job["rule"] for job in pipeline["jobs"].values()}
    assert {"clean_corpus", "merge_corpus", "train_vocab", "train_backward", "train_teacher",
            "translate", "score", "filter_distillation",
            "alignments", "train_student", "quantize", "evaluate_model", "collect_metrics"} <= ran
    print(f"SLURM pipeline: {pipeline['seconds']:.0f} s, {len(pipeline['jobs'])} SLURM jobs")


@needs_slurm
def test_gpu_jobs_get_a_gpu_and_fall_back_to_cpu(pipeline):
    gpu = gpu_rules()
    calls = sbatch_calls(pipeline["log"])
    gpu_jobs = {j: job for j, job in pipeline["jobs"].items() if job["rule"] in gpu}
    assert {job["rule"] for job in gpu_jobs.values()} == gpu - NOT_RUN
    for jobid, job in gpu_jobs.items():
        assert job["Partition"] == "gpu", job
        assert "gpu:fake:1" in job.get("TresPerJob", ""), job
        assert job["Features"] == "fakegpu", job
    for rule in gpu - NOT_RUN:
        for call in calls[rule]:
            assert "--gpus=fake:1" in call and "-p gpu" in call, call
            assert ("--signal=TERM@600" in call) == (rule in train_rules()), call
            assert " -A " not in call, call
    # The job logs: SLURM granted the GPU; scripts/mtdistill/common/marian.py saw it is no CUDA device.
    logs = pipeline["workdir"] / f"logs/{EXP}"
    for log in [logs / "train_backward.log", logs / "score.log",
                *logs.glob("translate/corpus/*.log"), *logs.glob("evaluate/student.*.log")]:
        text = log.read_text()
        assert f"CUDA_VISIBLE_DEVICES=0 {FALLBACK}" in text, (log, text[-2000:])


@needs_slurm
def test_cpu_jobs_ask_for_no_gpu(pipeline):
    gpu = gpu_rules()
    calls = sbatch_calls(pipeline["log"])
    cpu_jobs = {j: job for j, job in pipeline["jobs"].items() if job["rule"] not in gpu}
    assert {"clean_corpus", "merge_corpus", "merge_devset", "train_vocab", "quantize"} <= {
        job["rule"] for job in cpu_jobs.values()}
    for jobid, job in cpu_jobs.items():
        assert job["Partition"] == "cpu", job
        assert "gpu" not in job.get("TresPerJob", "") + job.get("TRES", ""), job
        assert "gpu" not in job.get("TresPerNode", ""), job
    for rule, lines in calls.items():
        if rule not in gpu:
            for call in lines:
                assert "--gpus" not in call and "--gres" not in call, call
                assert "-p cpu" in call and "--signal" not in call, call
    # No GPU in a CPU job's environment either (Snakemake inside the job logs its
    # environment with --verbose; the test profile keeps these SLURM logs).
    slurm_logs = pipeline["workdir"] / ".snakemake/slurm_logs"
    gpu_logs = list((slurm_logs / "rule_train_teacher").rglob("*.log"))
    assert gpu_logs and all("'CUDA_VISIBLE_DEVICES': '0'" in log.read_text() for log in gpu_logs)
    cpu_logs = [log for rule in ("clean_corpus", "merge_corpus", "quantize")
                for log in (slurm_logs / f"rule_{rule}").rglob("*.log")]
    assert len(cpu_logs) >= 4, cpu_logs
    for log in cpu_logs:
        text = log.read_text()
        assert "environment:" in text and "CUDA_VISIBLE_DEVICES" not in text, log


@needs_slurm
def test_signalled_training_saves_and_resumes(pipeline):
    """SIGTERM to the training step: Marian saves, the job fails, the retry resumes."""
    backward = {j: job for j, job in pipeline["jobs"].items() if job["rule"] == "train_backward"}
    assert pipeline["signalled"] in backward
    assert backward.pop(pipeline["signalled"])["state"] == "FAILED"
    assert [job["state"] for job in backward.values()] == ["COMPLETED"]
    model_dir = pipeline["workdir"] / f"results/{EXP}/models/backward"
    train_log = (model_dir / "train.log").read_text()
    interrupted, _, resumed = train_log.partition("Training interrupted (via signal)")
    assert resumed, "Marian did not get the signal"
    assert "Saving training checkpoint" in resumed.split("[marian] Marian v")[0]
    # The second attempt starts from the saved update, not from zero.
    first_update = int(re.search(r" Up\. (\d+) ", resumed).group(1))
    assert first_update > pipeline["signalled_at"], (first_update, pipeline["signalled_at"])
    rule_log = (pipeline["workdir"] / f"logs/{EXP}/train_backward.log").read_text()
    assert "resuming the checkpoint" in rule_log
    assert (model_dir / "final.npz").exists()


@needs_slurm
def test_sigterm_waits_for_jobs_and_ctrl_c_cancels_them(cluster, tmp_path):
    """What profiles/slurm/README.md says about stopping Snakemake, checked."""
    (tmp_path / "Snakefile").write_text(
        'rule sleeper:\n    output: "sleeper.txt"\n    shell: "sleep 300; touch {output}"\n')
    cmd = [sys.executable, "-m", "snakemake", "--profile", str(PROFILE), "--profile", str(TEST_PROFILE)]
    with open(tmp_path / "snakemake.log", "w") as log:
        # SIGINT as at a terminal (a shell's background jobs would inherit it ignored).
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=cluster, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        jobs = {}
        while time.time() < deadline and proc.poll() is None:
            jobs = {j: job for j, job in slurm_jobs(cluster).items() if job["rule"] == "sleeper"}
            if any(job["state"] == "RUNNING" for job in jobs.values()):
                break
            time.sleep(1)
        (jobid, job), = jobs.items()
        assert job["state"] == "RUNNING", job
        # SIGTERM: no new jobs, but the running ones go on and Snakemake waits for them.
        proc.send_signal(signal.SIGTERM)
        time.sleep(5)
        assert proc.poll() is None
        assert slurm_jobs(cluster)[jobid]["state"] == "RUNNING"
        # Ctrl-C: Snakemake cancels its SLURM jobs (scancel) and exits.
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=90) != 0
        assert slurm_jobs(cluster)[jobid]["state"] == "CANCELLED"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = (tmp_path / "snakemake.log").read_text()
    assert "Will exit after finishing currently running jobs" in text
    assert "Terminating processes on user request" in text
