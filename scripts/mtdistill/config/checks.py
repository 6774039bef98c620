"""Checks of a config's meaning that its schema cannot express, run while the DAG is built.

Imported by rules/common.smk after schema validation (stdlib only, so it stays cheap; URLs
are read by mtdistill.common.urls.resolve), and
unit-tested without Snakemake (tests/test_config_checks.py). Each check raises ConfigError
naming the config key (dotted path) and saying what to do, before any job runs.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mtdistill.common import marian
from mtdistill.common.errors import ConfigError
from mtdistill.common.langs import ISO_639_1, language_identity  # noqa: F401


# ConfigError (a ValueError): the config is refused, the message says where and why.


# --- Marian options (marian-args) -------------------------------------------------------


def check_marian_args(marian_args: dict, preset_dir: str | os.PathLike) -> None:
    """Every stage's option names, values and preset: the options reach Marian's argv as
    given, so a value must never turn into an option of its own."""
    for stage, options in marian_args.items():
        options = options or {}
        reserved = sorted(set(options) & marian.RESERVED_OPTIONS)
        if reserved:
            raise ConfigError(
                f"config marian-args.{stage} sets {', '.join(reserved)}: the workflow sets "
                "these Marian options itself (paths under results/); remove them"
            )
        for name, value in options.items():
            if name == "preset":
                check_preset(stage, value, preset_dir)
                continue
            problem = marian.option_problem(name, value)
            if problem:
                where, what = problem
                raise ConfigError(f"config marian-args.{stage}.{name}{where}: {what}")


def check_preset(stage: str, preset, preset_dir: str | os.PathLike) -> None:
    available = sorted(p.stem for p in Path(preset_dir).glob("*.yml"))
    if preset is None or (Path(preset_dir) / f"{preset}.yml").is_file():
        return
    raise ConfigError(
        f"config marian-args.{stage}.preset '{preset}' is not a Marian preset: "
        f"config/marian/ has {', '.join(available) or 'none'}; pick one of them or add "
        f"config/marian/{preset}.yml"
    )


# --- programs a config names (marian.*, cleaning.bicleaner.command) ----------------------
# The trust boundary: a config may name a Marian tool or bicleaner-ai-classify, by name on
# PATH or by the path of the executable, and nothing else; in particular no shell,
# interpreter or other program, and no argument that makes the tool run or write anything.


def _program_problem(program: str, installed: bool) -> str | None:
    """Why `program` (a bare name or a path) cannot be run, or None."""
    if "/" in program:  # a path, absolute or relative to the working directory
        path = Path(program)
        if not path.is_file():
            return f"`{program}` is not a file: give the full path of the executable"
        if not os.access(path, os.X_OK):
            return f"`{program}` is not executable: chmod +x it or give another path"
        return None
    # A bare name comes from PATH, where jobs also find the tools installed next to the
    # running Python (rules/common.smk's shell prefix); under --use-conda the rule's
    # environment provides it.
    search = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    if installed and not shutil.which(program, path=search):
        return f"`{program}` is not on PATH: install it or give the full path of the executable"
    return None


def check_marian_commands(commands: dict, installed: bool = True) -> None:
    """marian.train/decode/score/convert: a Marian tool that exists (`installed`: look bare
    names up on PATH; False under --use-conda, where the environment brings pymarian)."""
    for tool in marian.TOOLS:
        spec = commands[tool]
        try:
            argv = marian.command(spec, tool)
        except ValueError as error:
            raise ConfigError(f"config marian.{tool}: {error}") from None
        problem = _program_problem(argv[0], installed)
        if problem:
            raise ConfigError(f"config marian.{tool}: {problem}")


BICLEANER = "bicleaner-ai-classify"
# bicleaner-ai-classify's options that neither run a program (-S/-T: tokenizer commands)
# nor read or write a file the workflow does not give it (--logfile, --tmp_dir,
# --rules_config), nor carry a secret (--auth_token): flags, and options taking one value.
BICLEANER_FLAGS = frozenset(
    "--header --score_only --calibrated --raw_output --disable_hardrules --disable_lm_filter "
    "--disable_porn_removal --disable_minimal_length --run_all_rules --require_gpu --offline "
    "-q --quiet --debug".split()
)
BICLEANER_VALUED = frozenset(
    "--scol --tcol -b --block_size --batch_size --lm_threshold -s --source_lang -t "
    "--target_lang".split()
)


def bicleaner_problem(spec: str) -> str | None:
    """Why `spec` is not a bicleaner-ai-classify command reading stdin and writing stdout."""
    try:
        argv = shlex.split(spec)
    except ValueError as error:
        return f"`{spec}` cannot be split into words ({error})"
    if not argv or posixpath.basename(argv[0]) != BICLEANER:
        return (
            f"`{argv[0] if argv else spec}` is not {BICLEANER}: only bicleaner-ai's "
            "classifier is run, by name on PATH or by the path of its executable"
        )
    positional, args = [], iter(argv[1:])
    for arg in args:
        name = arg.split("=", 1)[0]
        if arg == "-" or not arg.startswith("-"):
            positional.append(arg)
        elif arg in BICLEANER_FLAGS:
            continue
        elif name in BICLEANER_VALUED:
            value = arg.split("=", 1)[1] if "=" in arg else next(args, None)
            if value is None or (value.startswith("-") and not _is_number(value)):
                return f"`{name}` needs a value"
        else:
            return (
                f"option `{name}` is not allowed (it could run a program or read or write "
                f"files outside the results); allowed: {', '.join(sorted(BICLEANER_FLAGS | BICLEANER_VALUED))}"
            )
    if positional != ["-", "-"]:
        return (
            "the command must read standard input and write standard output: end it with "
            "`- -` (the workflow appends the model)"
        )
    return None


def check_bicleaner(bicleaner: dict, installed: bool = True) -> None:
    """cleaning.bicleaner (when enabled): the classifier, and a model that is not an option."""
    if not bicleaner.get("enabled"):
        return
    command = bicleaner["command"]
    problem = bicleaner_problem(command)
    if not problem:
        problem = _program_problem(shlex.split(command)[0], installed)
        problem = problem and f"{problem} (pip install bicleaner-ai)"
    if problem:
        raise ConfigError(
            f"config cleaning.bicleaner.enabled is true but cleaning.bicleaner.command "
            f"`{command}` cannot run: {problem}; or set cleaning.bicleaner.enabled: false"
        )
    model = bicleaner.get("model") or ""
    if not model:
        raise ConfigError(
            "config cleaning.bicleaner.enabled is true but cleaning.bicleaner.model is "
            "empty: give the bicleaner-ai model (a directory or a Hugging Face id)"
        )
    if model.startswith("-"):
        raise ConfigError(
            f"config cleaning.bicleaner.model '{model}' starts with '-' and would be read as "
            "an option: give a model directory (./dir for a relative one) or a Hugging Face id"
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- languages ----------------------------------------------------------------------------

# Language codes that are also a fixed part of a file name where a language code goes:
# `{CORPUS}/distillation.aln.zst` (alignments) next to `{CORPUS}/distillation.{lang}.zst`.
# tests/test_config_checks.py derives this set from the rule files' path templates.
RESERVED_LANG_CODES = {"aln": "the distillation corpus's alignments"}
# Which codes name one language (`en`, `eng`): ISO_639_1 and language_identity, in
# mtdistill.common.langs with the other language tables.


def check_languages(src: str, trg: str) -> None:
    for key, code in (("src", src), ("trg", trg)):
        if code.lower() in RESERVED_LANG_CODES:
            raise ConfigError(
                f"config experiment.{key} '{code}' cannot be used as a language code: "
                f"results/ names {RESERVED_LANG_CODES[code.lower()]} with it "
                f"(distillation.{code.lower()}.zst); write the language with a script "
                f"suffix instead, e.g. {code}_Latn"
            )
    if language_identity(src) == language_identity(trg):
        same = f"both '{src}'" if src == trg else f"'{src}' and '{trg}', the same language"
        raise ConfigError(
            f"config experiment.src and experiment.trg are {same}: they must differ"
        )


# --- datasets -----------------------------------------------------------------------------


def check_dataset_overlap(datasets: dict, stem=lambda name: name) -> None:
    """No test set among the data a model learns from or is selected on."""
    for learned in ("train", "devtest"):
        seen = {stem(name): name for name in datasets.get(learned) or []}
        for name in datasets.get("test") or []:
            if stem(name) in seen:
                raise ConfigError(
                    f"config datasets.test lists {name!r}, which datasets.{learned} lists too "
                    f"({seen[stem(name)]!r}): scores on data the models "
                    f"{'learned from' if learned == 'train' else 'were selected on'} say "
                    f"nothing; remove it from one of them"
                )


def known_language(code: str) -> bool:
    """A code the language tables know (en, eng, zh_Hant, eng_Latn), unlike the toy's xx/yy."""
    from mtdistill.common.langs import LANGID_LANGUAGES, SCRIPTS_OF, base_language

    base = base_language(code)
    return base in set(ISO_639_1.values()) or base in SCRIPTS_OF or base in LANGID_LANGUAGES


EMBEDDED_DEFAULT_HINT = (
    "config/config.yml, the embedded default, applies only when no --configfile is given; a "
    "file layered over it (--configfile config/config.yml my.yml) inherits its toy_ "
    "datasets for every list it does not set"
)


# Importers of public corpora: their data is real text of real languages. local_ and url_
# name the user's own files, which may be in the toy's languages (tests, experiments).
PUBLIC_IMPORTERS = ("opus_", "mtdata_", "sacrebleu_", "flores_", "news-crawl_")


def check_toy_datasets(datasets: dict, src: str, trg: str) -> None:
    """toy_ datasets are text the toy generator makes up: never data of a real language, and
    never mixed with public corpora (a pair of codes the tables do not know, which sets
    datasets.train but inherits the toy's mono-src, would train on gibberish unnoticed)."""
    kinds = ("train", "devtest", "test", "mono-src", "mono-trg")
    toy = [(k, n) for k in kinds for n in datasets.get(k) or [] if n.startswith("toy_")]
    if not toy:
        return
    kind, name = toy[0]
    real = [(key, code) for key, code in (("src", src), ("trg", trg)) if known_language(code)]
    if real:
        key, code = real[0]
        raise ConfigError(
            f"config datasets.{kind} lists {name}, but toy_ datasets are generated text (the "
            f"toy pair's made-up words), not {code} (experiment.{key}): list real datasets "
            f"under datasets.{kind}, or [] for none. {EMBEDDED_DEFAULT_HINT}"
        )
    other = [(k, n) for k in kinds for n in datasets.get(k) or [] if n.startswith(PUBLIC_IMPORTERS)]
    if other:
        raise ConfigError(
            f"config datasets.{kind} lists {name} and datasets.{other[0][0]} lists "
            f"{other[0][1]}: toy_ datasets are generated text and cannot be mixed with real "
            f"data; list real datasets under datasets.{kind}, or [] for none. "
            f"{EMBEDDED_DEFAULT_HINT}"
        )


# --- continuation models ------------------------------------------------------------------


def model_location(url: str, cwd: str | None = None) -> str:
    """One spelling of where a model is: `x`, `./x`, `x/` and `file:///cwd/x` give the same
    local path; an http(s) or gs:// URL loses its trailing slash and case in scheme and host."""
    from mtdistill.common.urls import resolve  # the one reader of URL schemes (gs://, file://, paths)

    where = resolve(url)  # an http(s) URL or a local path
    if not re.match(r"https?://", where, re.IGNORECASE):
        return os.path.normpath(os.path.join(cwd or os.getcwd(), where))
    parts = urlsplit(where)
    path = posixpath.normpath(parts.path) if parts.path.strip("/") else ""
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), path.rstrip("/"), parts.query, "")
    )


def check_model_urls(entries: list[tuple[str, str]], cwd: str | None = None) -> None:
    """(config key, URL) of every reused model: no model twice, however its URL is written."""
    seen: dict[str, str] = {}
    for key, url in entries:
        location = model_location(url, cwd)
        if location in seen:
            first = seen[location]
            same_list = first.rsplit("[", 1)[0] == key.rsplit("[", 1)[0]
            shown = location.split("?", 1)[0]  # a query may be a signature: not shown
            raise ConfigError(
                f"config continuation.{first} and continuation.{key} name the same model "
                f"({shown}): "
                + (
                    "the list repeats a URL; an ensemble needs different models"
                    if same_list
                    else "each model needs its own URL"
                )
            )
        seen[location] = key


def check_student_mode(student_mode: str | None, finetune: bool) -> None:
    """A student used as downloaded is not trained here, so it cannot be fine-tuned either."""
    if student_mode == "use" and finetune:
        raise ConfigError(
            "config continuation.models.student.mode is `use` (the student is used as "
            "downloaded, nothing is trained) but experiment.finetune-student is true: set "
            "experiment.finetune-student: false, or use mode `continue` or `init` to train it"
        )
