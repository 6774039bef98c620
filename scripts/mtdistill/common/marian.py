"""How the scripts call Marian: command lines from config, devices, options, logging."""

from __future__ import annotations

import filecmp
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

from mtdistill.common.errors import ConfigError, ToolError

_log = logging.getLogger("marian")

# Marian options the workflow sets itself: from config they could write (model, logs,
# outputs) or run (valid-script-path) outside the results tree. Config options named so are
# refused, before any job (scripts/mtdistill/config/checks.py) and again by options_to_args.
RESERVED_OPTIONS = frozenset(
    "config dump-config model models pretrained-model train-sets vocabs valid-sets "
    "valid-translation-output valid-script-path valid-script-args log valid-log tempdir "
    "sqlite guided-alignment input output n-best".split()
)
# Long names only: a one-letter name (`c`, `m`) could stand for a short option (-c, -m).
OPTION_NAME = re.compile(r"[a-z][a-z0-9-]+")

# How config `marian` may name each tool: Marian's unified binary (`marian`, or `pymarian`
# from the wheel) with the tool's subcommand, or the tool's own binary; by name on PATH or
# by the path of the executable. Nothing else runs, and no argument follows it: Marian
# options belong in marian-args, where every value is checked.
UNIFIED = ("pymarian", "marian")
TOOLS = {
    "train": "marian",
    "decode": "marian-decoder",
    "score": "marian-scorer",
    "convert": "marian-conv",
}
# The presets `preset` names (config/marian/), for callers that give no directory.
PRESET_DIR = Path(__file__).resolve().parents[3] / "config" / "marian"


def command(spec: str, tool: str | None = None) -> list[str]:
    """Split a configured Marian command, e.g. 'pymarian train' or '/opt/marian/marian'.

    A path with spaces is quoted inside the string: "'/opt/my marian/marian'". Anything but
    a Marian tool (`tool`, or any of TOOLS) raises ConfigError (a ValueError) saying what is
    accepted.
    """
    try:
        parts = shlex.split(spec)
    except ValueError as error:
        raise ConfigError(f"`{spec}` cannot be split into words ({error})") from None
    if not parts:
        raise ConfigError("empty Marian command in config `marian`")
    tools = [tool] if tool else list(TOOLS)
    name, rest = os.path.basename(parts[0]), parts[1:]
    if name in UNIFIED:
        # The unified binary trains when no subcommand is given.
        ok = rest in [[t] for t in tools] or (not rest and "train" in tools)
    else:
        ok = not rest and name in [TOOLS[t] for t in tools]
    if not ok:
        forms = "; ".join(f"`pymarian {t}`, `marian {t}` or `{TOOLS[t]}`" for t in tools)
        raise ConfigError(
            f"`{spec}` is not a Marian {tool or 'tool'} command: give {forms} (a name on "
            "PATH or the path of the executable, quoted inside the string if it holds "
            "spaces) with nothing after it; Marian options go in marian-args"
        )
    return parts


def _value_problem(value) -> str | None:
    """Why one value of a Marian option could not be passed as a plain value, or None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f"{value!r} is not a number or a word"
    text = str(value)
    if text.startswith("-"):
        try:
            float(text)  # negative numbers are values (e.g. --workspace -4000)
        except ValueError:
            return (
                f"value {text!r} starts with '-' and would reach Marian as an option: "
                "give every option as its own key under marian-args, with a plain value"
            )
    return None


def option_problem(name: str, value) -> tuple[str, str] | None:
    """(where, why) a config option cannot be given to Marian, or None.

    `where` is '' for the option itself or '[i]' for an item of a list value."""
    if not OPTION_NAME.fullmatch(str(name)):
        return "", (
            f"'{name}' is not a Marian option name (lower-case letters, digits and '-', "
            "two characters at least: give the long name)"
        )
    if name in RESERVED_OPTIONS:
        return "", "the workflow sets this Marian option itself (paths under results/); remove it"
    if value is None or isinstance(value, bool):
        return None  # a flag, or left out
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            problem = _value_problem(item)
            if problem:
                return f"[{i}]", problem
        return None
    problem = _value_problem(value)
    return ("", problem) if problem else None


def options_to_args(options: dict | None) -> list[str]:
    """Turn a dict of Marian options into CLI arguments.

    True -> a bare flag, False/None -> left out, lists -> several values. Raises ValueError
    for a name the workflow reserves and for any value that could become an option of its
    own (`--model=/x`, `-c`): each value is exactly one argument, a plain one.
    """
    args: list[str] = []
    for key, value in (options or {}).items():
        if value is None or value is False:
            continue
        problem = option_problem(key, value)
        if problem:
            raise ConfigError(f"Marian option {key}{problem[0]}: {problem[1]}")
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
    # Without a directory (translate.py), the workflow's presets, not the working directory.
    base = Path(preset_dir) if preset_dir else PRESET_DIR
    path = Path(preset) if os.path.isabs(preset) else base / f"{preset}.yml"
    if not path.is_file():
        raise ConfigError(f"Marian preset '{preset}' not found: expected {path}")
    return ["-c", str(path)], options


def joint_vocab(src_vocab: str, trg_vocab: str) -> bool:
    """Both sides share one vocab: one file, or two of identical content (a model directory
    holds vocab.{src}.spm and vocab.{trg}.spm, copies of one another for a joint vocab)."""
    return os.path.realpath(src_vocab) == os.path.realpath(trg_vocab) or filecmp.cmp(
        src_vocab, trg_vocab, shallow=False
    )


def vocab_pair(src_vocab: str, trg_vocab: str) -> list[str]:
    """Marian's --vocabs: a joint vocab as one file twice, so that options that need one
    vocab for both sides (tied-embeddings-all) see one."""
    return [src_vocab, src_vocab if joint_vocab(src_vocab, trg_vocab) else trg_vocab]


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


def device_args(mode: str, threads: int, workspace: int, log=None) -> list[str]:
    """Marian device options: the granted GPUs when they are real, otherwise the CPU."""
    log = log or _log.info
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


def run(cmd: list[str], watch=None, **kwargs) -> None:
    """Run a Marian command (output goes to this process's stdout/stderr); raise on failure.

    SIGTERM (a cluster's time-limit warning) is passed on to Marian and waited for, so a
    training saves its checkpoint (--sigterm save-and-exit) before this process exits.
    `watch`, if given, is called about every second while Marian runs; a message from it
    kills Marian (SIGKILL: a save-and-exit would save what went wrong) and is raised.
    """
    printable = shlex.join(cmd)
    _log.info("+ %s", printable)
    proc = subprocess.Popen(cmd, **kwargs)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
    stop = None
    try:
        while True:
            try:
                returncode = proc.wait(timeout=None if watch is None else 1)
                break
            except subprocess.TimeoutExpired:
                stop = watch()
                if stop:
                    proc.kill()
                    returncode = proc.wait()
                    break
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stop:
        raise ToolError(stop)
    if returncode != 0:
        raise ToolError(f"Marian failed with exit code {returncode}: {printable}")


def logger(tag: str):
    """A function that logs a message as `tag` (to stderr: the rule's log)."""
    return logging.getLogger(tag).info
