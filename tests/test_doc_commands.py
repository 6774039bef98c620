"""Every `snakemake` command line of the documentation runs as written (in dry-run form).

Sources: README.md, config/README.md, profiles/*/README.md (fenced code blocks and inline
`code`), and the header comments of config/examples/*.yml and profiles/*/config.yaml.
A command is the part of a shell line whose program is `snakemake` (or .venv/bin/snakemake),
up to a pipe, redirection, `&&`, `;` or `&`; a trailing `\\` joins the next line.

How a documented line becomes a run, from the repository root of a copy of the checkout:
- it is first parsed by Snakemake's own argument parser, and every `--configfile` value must
  be a .yml/.yaml/.json file that exists: `--configfile X.yml teacher` (a target read as a
  config file, since --configfile takes several values) fails here;
- `-n` is added: a dry run plans everything and runs nothing. Commands that run no jobs
  (`--rulegraph`, `--dag`, `--lint`, `--unlock`) accept `-n` and do what they document;
  `--profile profiles/slurm -n` needs no cluster; the bare `--profile slurm` runs with HOME
  in a temp dir where the README's one-time step (the `ln -sfn` line) has been run;
- `--report FILE` needs a finished run, so it is dropped after parsing (the check that FILE
  is an .html/.zip stays): the rest is the dry run of the same config and targets;
- the user's own config files the docs name (my-pair.yml, my.yml) are copies of the default;
  `<target>` stands for a named target and becomes `teacher`; lines eliding arguments with
  `...` are sketches and are not run (an unknown `<placeholder>` fails the test).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, copy_checkout

MARKDOWN = ["README.md", "config/README.md", *sorted(
    str(p.relative_to(REPO)) for p in (REPO / "profiles").glob("*/README.md"))]
HEADERS = sorted(str(p.relative_to(REPO)) for p in [
    *(REPO / "config" / "examples").glob("*.yml"), *(REPO / "profiles").glob("*/config.yaml")])
USER_CONFIGS = ("my-pair.yml", "my.yml")
PLACEHOLDERS = {"<target>": "teacher"}
CONTROL = {"|", "||", "&&", ";", "&"}


def shell_lines(path: str) -> list[tuple[int, str]]:
    """(line number, shell text) of the commands a doc file shows."""
    text = (REPO / path).read_text(encoding="utf-8").splitlines()
    found: list[tuple[int, str]] = []
    if path.endswith((".yml", ".yaml")):
        for number, line in enumerate(text, 1):
            if not line.startswith("#"):
                break  # the header comment ends at the first non-comment line
            found.append((number, line.lstrip("# ")))
        return found
    fenced = False
    pending = ""
    for number, line in enumerate(text, 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            pending += line.strip()
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            found.append((number, pending))
            pending = ""
        else:
            found += [(number, span) for span in re.findall(r"`([^`]+)`", line)]
    return found


def commands(shell: str) -> list[list[str]]:
    """The snakemake commands of one shell line, as argument lists (program dropped)."""
    # A placeholder such as <target> is not a redirection: mark it before splitting.
    shell = re.sub(r"<([A-Za-z][\w-]*)>", r"PLACEHOLDER:\1", shell)
    lexer = shlex.shlex(shell, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: prose, not a command
        return []
    return [seg[1:] for seg in _segments(tokens)
            if seg and (seg[0] == "snakemake" or seg[0].endswith("/snakemake"))]


def _segments(tokens: list[str]) -> list[list[str]]:
    """Split at control operators; drop redirections and what follows them in a segment."""
    segments, current, redirected = [], [], False
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in CONTROL:
            segments.append(current)
            current, redirected = [], False
        elif token.startswith((">", "<")) or (token.isdigit() and following.startswith(">")):
            redirected = True  # `>file`, `2>&1`: the shell's, not Snakemake's
        elif not redirected:
            current.append(token)
    segments.append(current)
    return segments


def documented() -> dict[tuple[str, ...], str]:
    """Each distinct documented snakemake command -> where it is first shown."""
    found: dict[tuple[str, ...], str] = {}
    for path in MARKDOWN + HEADERS:
        for number, shell in shell_lines(path):
            for args in commands(shell):
                found.setdefault(tuple(args), f"{path}:{number}")
    return found


DOCUMENTED = documented()


def runnable(args: list[str], root: Path) -> list[str] | None:
    """The dry-run form of a documented command (see the module docstring); None: a sketch.

    Raises AssertionError, naming the problem, for a line that cannot work as written."""
    from snakemake.cli import get_argument_parser

    if "..." in args or any("..." in a for a in args):
        return None
    unknown = [a for a in args if a.startswith("PLACEHOLDER:") and f"<{a[12:]}>" not in PLACEHOLDERS]
    assert not unknown, f"unknown placeholder {unknown}: add it to PLACEHOLDERS"
    args = [PLACEHOLDERS.get(f"<{a[12:]}>", a) if a.startswith("PLACEHOLDER:") else a for a in args]
    try:
        parsed = get_argument_parser().parse_args(args)
    except SystemExit:
        raise AssertionError("Snakemake's argument parser rejects it") from None
    for configfile in parsed.configfile or []:
        assert str(configfile).endswith((".yml", ".yaml", ".json")), (
            f"--configfile reads {str(configfile)!r} as a config file: a target after "
            "--configfile is taken for one more config file; write targets before it")
        assert (root / configfile).is_file(), f"config file {configfile} does not exist"
    if parsed.report:
        assert str(parsed.report).endswith((".html", ".zip")), (
            f"--report writes {parsed.report!r}: it must be an .html or .zip file")
        at = next(i for i, a in enumerate(args) if a.startswith("--report"))
        with_value = args[at] == "--report" and args[at + 1:at + 2] == [str(parsed.report)]
        del args[at:at + 1 + with_value]
    if not parsed.dryrun:
        args.append("-n")
    return args


def profile_step() -> str:
    """The README's one-time step that lets `--profile slurm` find profiles/slurm."""
    steps = [line for _, line in shell_lines("README.md") if "~/.config/snakemake/slurm" in line]
    assert len(steps) == 1, steps
    return steps[0]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the checkout: commands run from its root, leaving the real one alone."""
    root = copy_checkout(tmp_path_factory.mktemp("doc-commands") / "repo")
    for name in USER_CONFIGS:
        shutil.copy2(REPO / "config" / "config.yml", root / name)
    return root


@pytest.fixture(scope="module")
def doc_env(checkout, tmp_path_factory) -> dict:
    """The environment of a user who ran the README's one-time profile step, in a temp HOME."""
    env = dict(os.environ, HOME=str(tmp_path_factory.mktemp("home")))
    for var in ("XDG_CONFIG_HOME", "SNAKEMAKE_PROFILE"):
        env.pop(var, None)
    subprocess.run(["bash", "-c", profile_step()], cwd=checkout, env=env, check=True)
    return env


def test_the_docs_show_the_commands_this_test_runs():
    where = {w.split(":")[0] for w in DOCUMENTED.values()}
    assert {"README.md", "config/README.md", "profiles/slurm/README.md"} <= where
    assert any(w.startswith("config/examples/") for w in where)
    # The README's first command, in its virtual environment.
    assert ("--cores", "2") in DOCUMENTED and DOCUMENTED[("--cores", "2")].startswith("README.md")
    assert len(DOCUMENTED) >= 25, sorted(DOCUMENTED.values())


@pytest.mark.parametrize("args", sorted(DOCUMENTED), ids=lambda a: DOCUMENTED[a])
def test_documented_command_runs(args, checkout, doc_env):
    where = DOCUMENTED[args]
    try:
        run = runnable(list(args), checkout)
    except AssertionError as error:
        pytest.fail(f"{where}: `snakemake {shlex.join(args)}`: {error}")
    if run is None:
        return  # a sketch with `...`
    result = subprocess.run([sys.executable, "-m", "snakemake", *run], cwd=checkout, env=doc_env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f"{where}: `snakemake {shlex.join(args)}` (run as `snakemake {shlex.join(run)}`) "
        f"failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


@pytest.mark.parametrize("line, problem", [
    ("snakemake --cores 2 --configfile config/examples/continue-teachers.yml teacher",
     "a target after --configfile"),
    ("snakemake --cores 2 --configfile missing.yml", "does not exist"),
    ("snakemake --report teacher", "must be an .html or .zip"),
    ("snakemake --cores 2 --no-such-option", "argument parser rejects it"),
])
def test_a_broken_line_is_caught(line, problem, checkout):
    (args,) = commands(line)
    with pytest.raises(AssertionError, match=problem):
        runnable(args, checkout)


def test_extraction():
    assert commands(".venv/bin/pip install -r r.txt && .venv/bin/snakemake --cores 2") == [["--cores", "2"]]
    assert commands("snakemake --rulegraph | dot -Tsvg > rules.svg  # the graph") == [["--rulegraph"]]
    assert commands("snakemake -n >log 2>&1") == [["-n"]]
    assert commands("build them first (`snakemake --cores 2 <target>`") == []  # prose
    assert commands("snakemake --cores 2 <target>") == [["--cores", "2", "PLACEHOLDER:target"]]
    assert commands("python3 docs/tools/draw_dags.py --check") == []


def test_ci_takes_the_readme_path():
    """The README's set-up (a virtual environment) and test command are what .ci/run runs."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt" in readme
    assert "python3 -m venv .venv\n" in ci and ".venv/bin/pip install" in ci
    assert "-r requirements-test.txt" in ci and "python3 -m pip" not in ci
    test_command = ". .venv/bin/activate && python -m pytest -q -ra --durations=15 tests"
    assert f"`{test_command}`" in readme
    assert test_command in ci
