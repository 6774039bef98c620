"""How the scripts call Marian: command lines from config, devices, options, logging."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path


def command(spec: str) -> list[str]:
    """Split a configured tool command, e.g. 'pymarian train' or '/opt/marian/marian'."""
    parts = shlex.split(spec)
    if not parts:
        raise ValueError("empty Marian command in config `marian`")
    return parts


def options_to_args(options: dict | None) -> list[str]:
    """Turn a dict of Marian options into CLI arguments.

    True -> a bare flag, False/None -> left out, lists -> several values.
    """
    args: list[str] = []
    for key, value in (options or {}).items():
        if value is None or value is False:
            continue
        flag = f"--{key}"
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple)):
            args += [flag, *map(str, value)]
        else:
            args += [flag, str(value)]
    return args


def split_preset(options_json: str | None, preset_dir: str | None) -> tuple[list[str], dict]:
    """Separate the `preset` key (a file in preset_dir, passed as -c) from plain options."""
    options = dict(json.loads(options_json)) if options_json else {}
    preset = options.pop("preset", None)
    if not preset:
        return [], options
    path = Path(preset) if os.path.isabs(preset) else Path(preset_dir or ".") / f"{preset}.yml"
    if not path.is_file():
        raise FileNotFoundError(f"Marian preset '{preset}' not found: expected {path}")
    return ["-c", str(path)], options


def cuda_device_count() -> int:
    """Number of real CUDA devices this process can use (0 when there is none)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1", "NoDevFiles"):
        return 0
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return 0
        found = [line for line in out.stdout.splitlines() if line.startswith("GPU ")]
        if out.returncode == 0 and found:
            if visible:
                return min(len(found), len([v for v in visible.split(",") if v.strip()]))
            return len(found)
    return 0


def device_args(mode: str, threads: int, workspace: int, log=print) -> list[str]:
    """Marian device options: the granted GPUs when they are real, otherwise the CPU."""
    gpus = cuda_device_count() if mode == "auto" else 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpus:
        log(f"devices: {gpus} GPU(s) (CUDA_VISIBLE_DEVICES={visible})")
        return ["--devices", *map(str, range(gpus)), "--workspace", str(workspace)]
    if mode == "auto" and visible:
        log(
            f"devices: CUDA_VISIBLE_DEVICES={visible} was granted but no CUDA device "
            f"is usable here; running on CPU with {threads} thread(s)"
        )
    else:
        log(f"devices: CPU with {threads} thread(s)")
    return ["--cpu-threads", str(threads), "--workspace", str(min(workspace, 2000))]


def run(cmd: list[str], **kwargs) -> None:
    """Run a Marian command (output goes to this process's stdout/stderr); raise on failure.

    SIGTERM (a cluster's time-limit warning) is passed on to Marian and waited for, so a
    training saves its checkpoint (--sigterm save-and-exit) before this process exits.
    """
    printable = shlex.join(cmd)
    print(f"+ {printable}", file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, **kwargs)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
    try:
        returncode = proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if returncode != 0:
        raise SystemExit(f"Marian failed with exit code {returncode}: {printable}")


def logger(tag: str):
    """A function that prints `[tag] message` to stderr (the rule's log)."""

    def log(message: str) -> None:
        print(f"[{tag}] {message}", file=sys.stderr, flush=True)

    return log
