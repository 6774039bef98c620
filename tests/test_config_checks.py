"""Config checks that the schema cannot express (scripts/mtdistill/config/checks.py, scripts/mtdistill/common/marian.py).

Unit tests call the checks directly (fast, no Snakemake); the dry runs at the end check that
rules/common.smk calls them before any job runs.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from mtdistill.config import checks as cc
from mtdistill.data import names
from mtdistill.common import marian
from conftest import DEFAULT, REPO, TINY, dry_run, planned_jobs, snakemake, write_config
from mtdistill.config.checks import ConfigError

PRESETS = REPO / "config" / "marian"
PYMARIAN = Path(sys.executable).parent / "pymarian"  # the wheel's real console script


def executable(path: Path, target: Path | None = None) -> Path:
    """An executable file at `path`: a link to `target`, or a script doing nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if target:
        path.symlink_to(target)
    else:
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    return path


# --- marian-args: names, values, presets -------------------------------------------------

BAD_OPTIONS = [
    # A list item or a string that is an option of its own reaches Marian's argv.
    ({"after": ["1500u", "--valid-script-path", "/x/evil.sh"]}, "after[1]", "starts with '-'"),
    ({"quiet": "--model=/elsewhere.npz"}, "quiet", "would reach Marian as an option"),
    ({"beam-size": "-c"}, "beam-size", "starts with '-'"),
    ({"valid-metrics": ["chrf", "-"]}, "valid-metrics[1]", "starts with '-'"),
    ({"after": {"nested": 1}}, "after", "is not a number or a word"),
    ({"valid-metrics": [["chrf"]]}, "valid-metrics[0]", "is not a number or a word"),
    ({"valid-metrics": [True]}, "valid-metrics[0]", "is not a number or a word"),
    ({"c": "/etc/evil.yml"}, "c", "two characters at least"),  # -c is --config
]


@pytest.mark.parametrize("options,where,message", BAD_OPTIONS, ids=[w for _, w, _ in BAD_OPTIONS])
def test_option_values_that_would_become_options_are_refused(options, where, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        cc.check_marian_args({"training-teacher": options}, PRESETS)
    assert str(error.value).startswith(f"config marian-args.training-teacher.{where}: ")
    # The scripts refuse them too, when called directly.
    with pytest.raises(ValueError, match=re.escape(message)):
        marian.options_to_args(options)


def test_plain_values_and_negative_numbers_pass():
    options = {"preset": "transformer-toy", "workspace": -4000, "label-smoothing": "-0.1",
               "lr-report": True, "sync-sgd": None, "valid-metrics": ["chrf", "bleu-detok"],
               "after": "1500u", "learn-rate": 0.0003}
    cc.check_marian_args({"training-teacher": options}, PRESETS)
    options.pop("preset")
    assert marian.options_to_args(options) == [
        "--workspace", "-4000", "--label-smoothing", "-0.1", "--lr-report",
        "--valid-metrics", "chrf", "bleu-detok", "--after", "1500u", "--learn-rate", "0.0003"]


def test_reserved_options_are_refused_by_the_scripts_too():
    with pytest.raises(ConfigError, match="marian-args.decoding-teacher sets models, output"):
        cc.check_marian_args({"decoding-teacher": {"models": "m.npz", "output": "o"}}, PRESETS)
    with pytest.raises(ValueError, match="valid-script-path: the workflow sets this Marian option"):
        marian.options_to_args({"valid-script-path": "/x/evil.sh"})


def test_missing_preset_names_the_stage_and_lists_the_presets():
    with pytest.raises(ConfigError) as error:
        cc.check_marian_args({"decoding-student": {"preset": "transformer-huge"}}, PRESETS)
    message = str(error.value)
    assert message.startswith("config marian-args.decoding-student.preset 'transformer-huge'")
    assert ("student-base, student-base-memory, student-tiny, student-toy, transformer-base, "
            "transformer-big, transformer-toy") in message


def test_preset_without_a_directory_is_read_from_the_workflow_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "transformer-toy.yml").write_text("valid-script-path: /x/evil.sh\n")
    preset, _ = marian.split_preset('{"preset": "transformer-toy"}', None)
    assert preset == ["-c", str(PRESETS / "transformer-toy.yml")]


# --- programs: marian.*, cleaning.bicleaner.command ---------------------------------------

MARIAN_OK = {"train": "pymarian train", "decode": "pymarian decode", "score": "pymarian score",
             "convert": "pymarian convert"}


@pytest.mark.parametrize("tool,spec", [
    ("train", "sh -c id"), ("train", "bash"), ("train", "/bin/sh -c 'touch pwned'"),
    ("decode", "python3 -c 'import os'"), ("train", "env pymarian train"),
    ("train", "pymarian train --valid-script-path /x/evil.sh"), ("train", "pymarian decode"),
    ("decode", "marian"), ("score", "marian-decoder"), ("convert", "pymarian convert extra"),
    ("train", "FOO=1 marian"), ("train", "'unbalanced"), ("train", ""),
])
def test_only_marian_tools_run(tool, spec):
    with pytest.raises(ConfigError, match=rf"^config marian\.{tool}: .*(is not a Marian {tool} command|cannot be split|empty)"):
        cc.check_marian_commands({**MARIAN_OK, tool: spec})


def test_marian_tools_by_name_or_path(tmp_path, monkeypatch):
    build = tmp_path / "my marian" / "build"  # a path with a space
    for name in ("marian", "marian-decoder", "marian-scorer", "marian-conv"):
        executable(build / name)
    quoted = {t: shlex.quote(str(build / b)) for t, b in marian.TOOLS.items()}
    cc.check_marian_commands(quoted)
    cc.check_marian_commands({t: f"{quoted['train']} {t}" for t in marian.TOOLS})  # marian decode…
    cc.check_marian_commands({**MARIAN_OK, "train": "pymarian"})  # trains by default
    # Bare names come from PATH (jobs get the running Python's folder in front of it).
    monkeypatch.setenv("PATH", str(build))
    cc.check_marian_commands({"train": "marian", "decode": "marian-decoder", "score": "marian-scorer",
                              "convert": "pymarian convert"})


def test_marian_program_must_exist_and_be_executable(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="config marian.score: `/nowhere/marian-scorer` is not a file"):
        cc.check_marian_commands({**MARIAN_OK, "score": "/nowhere/marian-scorer"})
    plain = tmp_path / "marian"
    plain.write_text("not executable")
    with pytest.raises(ConfigError, match="is not executable"):
        cc.check_marian_commands({**MARIAN_OK, "train": str(plain)})
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "empty" / "python"))
    with pytest.raises(ConfigError, match="config marian.train: `marian` is not on PATH"):
        cc.check_marian_commands({**MARIAN_OK, "train": "marian"})
    # Under --use-conda the environment brings the tools: names are not looked up.
    cc.check_marian_commands({**MARIAN_OK, "train": "marian"}, installed=False)


def test_a_path_with_spaces_runs_the_real_marian(tmp_path):
    """Quoted inside the string, as config/README.md says; split by marian.command."""
    binary = executable(tmp_path / "my marian" / "marian", PYMARIAN)
    spec = f"'{binary}'"
    cc.check_marian_commands({**MARIAN_OK, "train": spec})
    assert marian.command(spec, "train") == [str(binary)]
    marian.run(marian.command(spec, "train") + ["--version"])


BICLEANER_OK = {"enabled": True, "model": "bitextor/bicleaner-ai-full-en-de",
                "command": "bicleaner-ai-classify --scol 1 --tcol 2 --score_only -q - -"}


@pytest.mark.parametrize("command,message", [
    ("sh -c id", "`sh` is not bicleaner-ai-classify"),
    ("python3 -m bicleaner_ai.classify - -", "is not bicleaner-ai-classify"),
    ("bicleaner-ai-classify -S 'touch pwned' - -", "option `-S` is not allowed"),
    ("bicleaner-ai-classify --target_tokenizer_command=id - -", "option `--target_tokenizer_command`"),
    ("bicleaner-ai-classify --logfile /home/x/.bashrc - -", "option `--logfile` is not allowed"),
    ("bicleaner-ai-classify --tmp_dir /elsewhere - -", "option `--tmp_dir` is not allowed"),
    ("bicleaner-ai-classify /etc/passwd /home/x/.bashrc", "end it with `- -`"),
    ("bicleaner-ai-classify --scol 1 --tcol 2", "end it with `- -`"),
    ("bicleaner-ai-classify --scol - -", "`--scol` needs a value"),
])
def test_only_the_bicleaner_classifier_runs(command, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        cc.check_bicleaner({**BICLEANER_OK, "command": command}, installed=False)
    assert str(error.value).startswith("config cleaning.bicleaner.enabled is true but "
                                       "cleaning.bicleaner.command")


def test_bicleaner_by_name_or_path(tmp_path, monkeypatch):
    tool = executable(tmp_path / "bin dir" / "bicleaner-ai-classify")
    cc.check_bicleaner({**BICLEANER_OK, "command": f"'{tool}' --scol=1 --tcol 2 -b 100 - -"})
    monkeypatch.setenv("PATH", str(tool.parent))
    cc.check_bicleaner(BICLEANER_OK)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="is not on PATH.*pip install bicleaner-ai"):
        cc.check_bicleaner(BICLEANER_OK)
    cc.check_bicleaner(BICLEANER_OK, installed=False)  # --use-conda brings it
    cc.check_bicleaner({**BICLEANER_OK, "enabled": False, "command": "sh -c id"})  # never runs


def test_bicleaner_model_is_not_an_option():
    with pytest.raises(ConfigError, match="cleaning.bicleaner.model '--logfile=/home/x/.bashrc' starts with '-'"):
        cc.check_bicleaner({**BICLEANER_OK, "model": "--logfile=/home/x/.bashrc"}, installed=False)
    with pytest.raises(ConfigError, match="cleaning.bicleaner.model is empty"):
        cc.check_bicleaner({**BICLEANER_OK, "model": ""}, installed=False)


# --- languages: one language twice, codes that are file names -----------------------------


@pytest.mark.parametrize("src,trg", [("en", "eng"), ("eng", "en"), ("zh_Hant", "zh_hant"),
                                     ("de", "ger"), ("ar", "arb"), ("fa", "pes"), ("xx", "xx")])
def test_the_same_language_twice_is_refused(src, trg):
    with pytest.raises(ConfigError, match="config experiment.src and experiment.trg are .*must differ"):
        cc.check_languages(src, trg)


@pytest.mark.parametrize("src,trg", [("zh_Hans", "zh_Hant"), ("en", "de"), ("xx", "yy"),
                                     ("pt", "pt_br"), ("sr_Latn", "sr_Cyrl"), ("aln_Latn", "en")])
def test_different_languages_pass(src, trg):
    cc.check_languages(src, trg)


@pytest.mark.parametrize("key", ["src", "trg"])
def test_language_code_that_is_a_file_name_is_refused(key):
    codes = {"src": "en", "trg": "de", key: "aln"}
    with pytest.raises(ConfigError, match=f"config experiment.{key} 'aln' cannot be used.*aln_Latn"):
        cc.check_languages(codes["src"], codes["trg"])


def test_iso_639_3_table_agrees_with_the_flores_table():
    for two, flores in names.FLORES_CODES.items():
        if len(two) == 2 and two != "no":  # FLORES has no `nor`: `no` stands for Bokmål
            assert cc.language_identity(flores.split("_")[0]) == (two, ""), two


# Path templates of the rule files, split into parts at '/' and '.': a language code, any
# other wildcard or expression, a folder constant, or literal text.
LANG, ANY = "<lang>", "<any>"
LANG_FIELDS = {"SRC", "TRG", "lang", "w.lang", "wildcards.lang", "source", "target"}
FOLDERS = {"RESULTS", "DATA", "CORPUS", "VOCAB_DIR", "MODELS", "TRANS", "EVAL", "EXPORT", "LOGS",
           "REPORT", "CLEAN_RULES", "corpus_dir"}


def path_templates() -> set[tuple[str, ...]]:
    def field(match):
        inner = match.group(0).strip("{}")
        return LANG if inner in LANG_FIELDS else f"<{inner}>" if inner in FOLDERS else ANY

    found = set()
    for smk in (REPO / "rules").glob("*.smk"):
        for literal in re.findall(r'\bf"((?:[^"\\]|\\.)*)"', smk.read_text(encoding="utf-8")):
            parts = tuple(re.split(r"[/.]", re.sub(r"\{\{[^{}]*\}\}|\{[^{}]*\}", field, literal)))
            # Files of the results tree (not the local-dir, a regex or a message).
            if parts[0].strip("<>") in FOLDERS or parts[0] in ("resources", "logs"):
                found.add(parts)
    return found


def colliding_codes(templates) -> set[str]:
    """Words that, as a language code, make a language file's name another file's name:
    X/a.{lang}.zst against X/a.WORD.zst (any other wildcard matching anything)."""
    codes = set()
    for lang_path in templates:
        for i in (i for i, part in enumerate(lang_path) if part == LANG):
            for other in templates:
                if len(other) == len(lang_path) and re.fullmatch(r"[a-z]{2,3}(_[A-Za-z]{2,4})?", other[i]) \
                        and all(a == b or ANY in (a, b) for j, (a, b) in enumerate(zip(lang_path, other)) if j != i):
                    codes.add(other[i])
    return codes


def test_reserved_language_codes_are_exactly_the_colliding_ones():
    """Derived from the rule files: adding a file like distillation.xyz.zst next to
    distillation.{lang}.zst fails here until `xyz` is reserved."""
    templates = path_templates()
    assert sum(LANG in t for t in templates) > 20  # the parser sees the language files
    assert colliding_codes(templates) == set(cc.RESERVED_LANG_CODES)


# --- datasets, continuation ---------------------------------------------------------------


@pytest.mark.parametrize("learned", ["train", "devtest"])
def test_a_test_set_among_training_or_validation_data_is_refused(learned):
    datasets = {"train": ["toy_train"], "devtest": ["toy_dev"], "test": ["toy_test"]}
    datasets[learned] = [*datasets[learned], "opus_Tatoeba/v1"]
    datasets["test"] = ["opus_Tatoeba/v1"]
    with pytest.raises(ConfigError, match=rf"config datasets.test lists 'opus_Tatoeba/v1', which datasets.{learned} lists too"):
        cc.check_dataset_overlap(datasets, names.dataset_stem)
    cc.check_dataset_overlap({"train": ["toy_dev"], "devtest": ["toy_dev"], "test": ["toy_test"]})


@pytest.mark.parametrize("a,b", [
    ("x", "./x"), ("x", "x/"), ("x", "file://{cwd}/x"), ("x", "{cwd}/x/"), ("x", "y/../x"),
    ("https://Host.example/models/t", "https://host.example/models/t/"),
    ("gs://bucket/t", "https://storage.googleapis.com/bucket/t/"),
])
def test_one_model_written_two_ways_is_found(tmp_path, a, b):
    cwd = str(tmp_path)
    assert cc.model_location(a, cwd) == cc.model_location(b.format(cwd=cwd), cwd)
    with pytest.raises(ConfigError, match=r"continuation.models.teachers.urls\[0\] and continuation.models.teachers.urls\[1\] name the same model.*repeats a URL"):
        cc.check_model_urls([("models.teachers.urls[0]", a), ("models.teachers.urls[1]", b.format(cwd=cwd))], cwd)
    with pytest.raises(ConfigError, match="models.backwards.url and continuation.models.student.url .*each model needs its own URL"):
        cc.check_model_urls([("models.backwards.url", a), ("models.student.url", b.format(cwd=cwd))], cwd)


def test_different_models_pass_and_signed_queries_are_not_shown():
    cc.check_model_urls([("a", "x"), ("b", "y"), ("c", "https://h/x"), ("d", "https://h/x?v=2")])
    with pytest.raises(ConfigError) as error:
        cc.check_model_urls([("a", "https://h/m?sig=SECRET"), ("b", "https://h/m/?sig=SECRET")])
    assert "SECRET" not in str(error.value)


def test_used_student_cannot_be_finetuned():
    with pytest.raises(ConfigError, match="experiment.finetune-student: false, or use mode `continue`"):
        cc.check_student_mode("use", True)
    for mode, finetune in (("use", False), ("continue", True), ("init", True), (None, True)):
        cc.check_student_mode(mode, finetune)


# --- wiring: refused while the DAG is built, before any job -------------------------------

VOCAB = {"src": "v.spm", "trg": "v.spm"}
REFUSED = {
    "option-in-a-list": ({"marian-args": {"training-teacher": {"preset": "transformer-toy",
                          "after": ["200u", "--valid-script-path", "/x/evil.sh"]}}},
                         "config marian-args.training-teacher.after[1]: value '--valid-script-path'"),
    "option-as-a-value": ({"marian-args": {"training-student": {"preset": "student-toy",
                           "quiet": "--model=/elsewhere.npz"}}}, "config marian-args.training-student.quiet"),
    "missing-preset": ({"marian-args": {"training-backward": {"preset": "transformer-huge"}}},
                       "config marian-args.training-backward.preset 'transformer-huge' is not a Marian preset"),
    "marian-shell": ({"marian": {"train": "sh -c id"}}, "config marian.train: `sh -c id` is not a Marian train command"),
    "bicleaner-shell": ({"cleaning": {"bicleaner": {"enabled": True, "model": "m", "command": "sh -c id"}}},
                        "cleaning.bicleaner.command `sh -c id` cannot run"),
    "trg-aln": ({"experiment": {"trg": "aln"}}, "config experiment.trg 'aln' cannot be used as a language code"),
    "en-eng": ({"experiment": {"src": "en", "trg": "eng"}}, "'en' and 'eng', the same language: they must differ"),
    "test-in-train": ({"datasets": {"test": ["toy_train"]}}, "config datasets.test lists 'toy_train', which datasets.train"),
    "teacher-twice": ({"continuation": {"vocab": VOCAB, "models": {"teachers": {"urls": ["t", "./t/"], "mode": "use"}}}},
                      "continuation.models.teachers.urls[0] and continuation.models.teachers.urls[1] name the same model"),
    "used-student-finetuned": ({"continuation": {"vocab": VOCAB, "models": {"student": {"url": "s", "mode": "use"}}}},
                               "but experiment.finetune-student is true: set experiment.finetune-student: false"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_before_any_job(workdir, tmp_path, case):
    overlay, message = REFUSED[case]
    result = snakemake(workdir, "-n", configfiles=[DEFAULT, TINY, write_config(tmp_path / "c.yml", yaml.safe_dump(overlay))],
                       check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and message in out, out[-3000:]
    assert not (workdir / "results").exists() and not (workdir / "resources").exists()


def test_used_student_trains_nothing_to_evaluate(workdir, tmp_path):
    """With the student downloaded, `all` neither trains nor evaluates the backward model and
    the teachers: nothing needs them."""
    overlay = {"experiment": {"finetune-student": False},
               "continuation": {"vocab": VOCAB, "models": {"student": {"url": "https://h.example/s", "mode": "use"}}}}
    jobs = dry_run(workdir, configfiles=[DEFAULT, TINY, write_config(tmp_path / "c.yml", yaml.safe_dump(overlay))])
    assert not [j for j in jobs if j.startswith(("train", "clean_corpus", "merge_corpus"))], jobs
    assert jobs["evaluate_model"] == 2 and jobs["download_model"] == 1  # student, int8 student


def test_marian_path_with_spaces_reaches_the_scripts_as_one_word(workdir, tmp_path):
    binary = executable(tmp_path / "my marian" / "marian", PYMARIAN)
    overlay = {"marian": {"train": shlex.quote(str(binary))}, "experiment": {"src": "aln_Latn"}}
    cfg = write_config(tmp_path / "c.yml", yaml.safe_dump(overlay))
    result = snakemake(workdir, "-n", "-p", "--forceall", "backwards", configfiles=[DEFAULT, TINY, cfg])
    out = result.stdout + result.stderr
    assert planned_jobs(out)["train_backward"] == 1
    line = next(line for line in out.splitlines() if "--marian" in line and "mtdistill.train.train" in line)
    words = shlex.split(line)
    assert marian.command(words[words.index("--marian") + 1], "train") == [str(binary)]
