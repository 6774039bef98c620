import functools
import hashlib
import importlib.util
import json
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

# scripts/ holds the package mtdistill: the checks and helpers the Snakefile imports and
# the job scripts, run as `python -m mtdistill.<stage>.<script>` (see script() below).
sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from mtdistill.config import guard as config_guard  # noqa: E402

# First, before anything reads (or serializes) config: each config file re-read strictly
# (duplicate keys, alias bombs), then every key and string of the merged config (control
# characters, lengths, braces, YAML booleans; 4000.0 becomes 4000): mtdistill.config.guard.
config_guard.check_files(workflow.configfiles)
config_guard.guard(
    config,
    config_guard.load_schema(
        Path(workflow.basedir) / "config/schema/config.schema.yml"
    ),
)

# Configs written for mozilla/translations run here as they are: each upstream key is
# accepted, translated or dropped, with a warning naming it (mtdistill.config.upstream).
from mtdistill.config import upstream as config_upstream  # noqa: E402

_translated, _upstream_warnings = config_upstream.translate(config)
config.clear()  # in place: Snakemake and the rule files hold this very dict
config.update(_translated)
for _warning in _upstream_warnings:
    print(f"WARNING: {_warning}", file=sys.stderr)

validate(config, schema="../config/schema/config.schema.yml")

# What the schema cannot say (mtdistill.config.checks): each error names its key. Marian
# options reach Marian's argv as given: reserved names, values that would become options
# of their own (`--model=/x`) and unknown presets stop here.
from mtdistill.config import checks as config_checks  # noqa: E402

config_checks.check_marian_args(
    config["marian-args"], Path(workflow.basedir) / "config" / "marian"
)

# What runs and from where, decided from the config alone (scripts/mtdistill/plan.py):
# which models are trained or reused by URL, the vocab, the datasets and corpora, every
# path. Settings that cannot work (languages, continuation, datasets) stop here. The
# names below are the plan's, for the rule files.
from mtdistill.plan import make_plan, stems_of  # noqa: E402

PLAN = make_plan(config)
# What the config asks for that this run leaves aside (a dataset a reused corpus replaces).
for _warning in PLAN.warnings:
    print(f"WARNING: {_warning}", file=sys.stderr)
EXPERIMENT = config["experiment"]
EXP, SRC, TRG = PLAN.exp, PLAN.src, PLAN.trg
# The datasets this run imports: config `datasets` less those reused corpora replace.
DATASETS = PLAN.datasets
RES = config["resources"]
MARIAN = config["marian"]
BEST = EXPERIMENT["best-model"]

RESULTS = PLAN.paths.results
DATA = PLAN.paths.data
CORPUS = PLAN.paths.corpus
VOCAB_DIR = PLAN.paths.vocab
MODELS = PLAN.paths.models
TRANS = PLAN.paths.translated
EVAL = PLAN.paths.evaluation
EXPORT = PLAN.paths.exported
LOGS = PLAN.paths.logs

# Scripts run from the workflow's own folder, with the interpreter running Snakemake (or
# the rule's environment's python under --use-conda).
USE_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
PY = "python" if USE_CONDA else sys.executable
SCRIPTS = str(Path(workflow.basedir) / "scripts")
# Both reach jobs only as the shell variables $PY and $SCRIPTS, set when the job starts (on
# a SLURM node too, which parses the Snakefile again) and never part of params or of a
# rule's shell template: Snakemake compares those, so a moved checkout or another
# virtualenv would rerun every finished job. Quoted: the checkout path may have spaces.
_PREFIX = (
    f"set -euo pipefail; PY={shlex.quote(PY)}; SCRIPTS={shlex.quote(SCRIPTS)}; "
    'export PYTHONPATH="$SCRIPTS${PYTHONPATH:+:$PYTHONPATH}"; '
)
if not USE_CONDA:
    # The tools installed with Snakemake (`pymarian`) are found even when it runs as
    # .venv/bin/snakemake without the virtualenv activated.
    _PREFIX += f'PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"; '
# shell.prefix formats its text like a rule's shell: braces in a path stay literal.
shell.prefix(_PREFIX.replace("{", "{{").replace("}", "}}"))
DEVICES = f"--devices {MARIAN['devices']} --workspace {MARIAN['workspace']}"
# Arguments every training shares (rule train_backward and those derived from it).
# train.py finds the presets (config/marian/) next to itself: their path stays out of params.
TRAIN_ARGS = f"--best-model {BEST} {DEVICES}"
ENV_DATA = "../envs/data.yml"
ENV_MARIAN = "../envs/marian.yml"


def module_file(module):
    """The file of a module of the package mtdistill (scripts/), or None."""
    path = Path(SCRIPTS, *module.split("."))
    for found in (path.with_suffix(".py"), path / "__init__.py"):
        if found.is_file():
            return found
    return None


def local_imports(module, seen=None):
    """A module of mtdistill and the modules of mtdistill it imports, transitively."""
    import ast

    seen = set() if seen is None else seen
    seen.add(module)
    tree = ast.parse(module_file(module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from mtdistill.common import textio` imports a module or a name.
            found = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in found:
            if name.startswith("mtdistill.") and name not in seen and module_file(name):
                local_imports(name, seen)
    return seen


@functools.cache  # 50-odd rules call script(): read and parse each module once
def code_digest(module):
    """sha256 of a job script and the modules of mtdistill it imports: changes with their
    content, not with their path or mtime (a fresh clone changes every mtime)."""
    digest = hashlib.sha256()
    for name in sorted(local_imports(module)):
        digest.update(f"{name}\0".encode())
        digest.update(module_file(name).read_bytes())
    return digest.hexdigest()[:16]


def script(module):
    """The command running one of the job scripts (a module of mtdistill), for params.

    The interpreter and scripts/ come from $PY and $PYTHONPATH (see shell.prefix above);
    -P keeps the job's working directory off sys.path. The digest, which python ignores
    (-X names an unused option), makes the command differ when the script or a module it
    imports changed, so Snakemake's params trigger reruns the jobs using it.
    """
    return f'"$PY" -P -X code-sha256={code_digest(module)} -m {module}'


# --- models -------------------------------------------------------------------------
# A model reused by URL (config `continuation`) is downloaded under resources/, keyed by
# its URL; input functions return that path or the training's output, so the rules below
# an artifact never change and the rules that would have made it drop out of the DAG.

TEACHERS = list(PLAN.teachers)
STUDENT_FINAL = PLAN.student_final
mode_of = PLAN.mode_of
model_file = PLAN.model_file
pretrained_files = PLAN.pretrained_files
pretrained_args = PLAN.pretrained_args


wildcard_constraints:
    # Dataset stems (mtdistill.data.names.dataset_stem), never raw dataset names.
    stem=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    lang=f"{SRC}|{TRG}",
    index=r"\d+",
    chunk=r"\d+",
    part="corpus|mono-src|mono-trg",


# --- vocabulary ---------------------------------------------------------------------

# Trained here (joint, or one per language), downloaded (config continuation.vocab), or
# from the first reused model directory (download_model_with_vocab).
VOCABS = PLAN.vocab.files
vocabs = PLAN.vocabs


def vocab_corpora(wildcards):
    """Which text a vocab file is trained on: both sides (joint) or one language."""
    if wildcards.name == "vocab":
        return [corpus_file("parallel", SRC), corpus_file("parallel", TRG)]
    return [corpus_file("parallel", wildcards.name.removeprefix("vocab."))]


# --- datasets -----------------------------------------------------------------------

toy_files = PLAN.toy_files


def import_source(wildcards):
    """Where an importer reads a dataset from, by its prefix."""
    importer, name = wildcards.stem.split("_", 1)
    if importer == "toy":
        return f"{DATA}/toy/{name}.{wildcards.lang}.zst"
    # local_: a file in datasets.local-dir, compressed or not.
    base = Path(DATASETS["local-dir"]) / f"{name}.{wildcards.lang}"
    for suffix in (".zst", ".gz", ""):
        if Path(f"{base}{suffix}").exists():
            return f"{base}{suffix}"
    return f"{base}.zst"  # missing: Snakemake reports this file by name


# Dataset names never reach a path or a shell command raw: each maps to a file stem, the
# {stem} wildcard, and STEMS maps stems back. A downloaded dataset used as parallel data
# is imported in one job for both languages; one used only as monolingual data, in one
# job per language (mtdistill.data.importers).
STEMS = PLAN.stems
stems = stems_of
DOWNLOAD_PARALLEL = PLAN.download_parallel
DOWNLOAD_MONO = PLAN.download_mono
clean_parallel_files = PLAN.clean_parallel_files
mono_datasets = PLAN.mono_datasets
HAS_MONO_SRC = PLAN.has_mono_src
MIRRORS = json.dumps(DATASETS.get("mirrors") or {}, sort_keys=True)
# Limits of every download (datasets and continuation URLs); defaults from the schema.
DOWNLOADS = config["downloads"]


def stem_regex(names):
    """A wildcard constraint matching exactly these stems (none: matches nothing)."""
    return "|".join(re.escape(s) for s in names) or "(?!)"


# --- corpora ------------------------------------------------------------------------

# Downloaded (config continuation.corpora) or made here.
corpus_file = PLAN.corpus_file
alignments_file = PLAN.alignments_file
teacher_corpus = PLAN.teacher_corpus
# The corpora a run has: `snakemake corpora` builds (or downloads) them.
CORPUS_KINDS = PLAN.corpus_kinds


# --- cleaning (mtdistill.data.clean, options in config `cleaning`) --------------------

CLEANING = config["cleaning"]
BICLEANER = CLEANING["bicleaner"]
MERGE = config["merge"]
# The rule-based cleaning writes here; with the neural filter on, bicleaner_corpus reads
# it and writes {DATA}/clean/, which the merge rules and the report read.
CLEAN_RULES = PLAN.clean_rules

# What the config needs installed (the plan checked what it asks for); under --use-conda
# the rules' environments bring it.
if PLAN.uses_langid and not USE_CONDA and not importlib.util.find_spec("py3langid"):
    raise ValueError(
        "config cleaning.langid needs the py3langid package, which is not installed: "
        "pip install -r requirements.txt, or set cleaning.langid: false"
    )
# Only bicleaner-ai-classify, reading stdin and writing stdout (envs/bicleaner.yml).
config_checks.check_bicleaner(BICLEANER, installed=not USE_CONDA)
# Only Marian tools run (pymarian comes with envs/marian.yml).
config_checks.check_marian_commands(MARIAN, installed=not USE_CONDA)


def clean_options(src, trg=None):
    """clean.py's options from config `cleaning`, for one language or a pair."""
    c = CLEANING
    scripts = [f"{lang}={'+'.join(names)}" for lang, names in c["scripts"].items()]
    return " ".join(
        [f"--src-lang {src}"]
        + ([f"--trg-lang {trg}"] if trg else [])
        + [
            f"--normalization {c['normalization']}",
            f"--min-words {c['min-words']} --max-words {c['max-words']}",
            f"--max-chars {c['max-chars']} --max-ratio {c['max-length-ratio']}",
            "--drop-identical" if c["drop-identical"] else "--no-drop-identical",
            "--numbers" if c["numbers-mismatch"] else "--no-numbers",
            f"--min-script-share {c['min-script-share']}",
            f"--langid {PLAN.langid} --langid-threshold {c['langid-threshold']}",
        ]
        + ([f"--scripts {' '.join(scripts)}"] if scripts else [])
    )


def clean_stats_files(wildcards):
    """The statistics of the datasets of one use (train, devtest, mono-src, mono-trg)."""
    return PLAN.clean_stats_files(wildcards.split)


# merge.py's options from config `merge`: dedup key, shuffle, bucket size (memory bound).
MERGE_OPTIONS = (
    f"--seed {EXPERIMENT['seed']} --bucket-mb {MERGE['bucket-mb']}"
    f" --dedup {MERGE['dedup']} {'--shuffle' if MERGE['shuffle'] else '--no-shuffle'}"
)


def provenance():
    """Where each model came from, for the export's model.json and the report."""
    return json.dumps(PLAN.provenance)


def marian_options(stage):
    """Marian options of a stage from config `marian-args`, as JSON for the scripts."""
    return json.dumps(config["marian-args"].get(stage) or {})


# --- translation chunks (checkpoint split_corpus) ------------------------------------

SPLIT_INPUTS = {
    "corpus": [corpus_file("parallel", SRC), corpus_file("parallel", TRG)],
    "mono-src": [f"{CORPUS}/mono.{SRC}.zst"],
    "mono-trg": [f"{CORPUS}/mono.{TRG}.zst"],
}


def split_inputs(wildcards):
    return SPLIT_INPUTS[wildcards.part]


def chunk_ids(part):
    """Chunk ids of a split part; known once the checkpoint `split_corpus` has run."""
    chunk_dir = checkpoints.split_corpus.get(part=part).output[0]
    return sorted(glob_wildcards(f"{chunk_dir}/{{chunk}}.in").chunk)


def translator(part):
    """Who translates a split part (see the translation rule in distill.smk). The corpus
    and the source mono, the teachers' ensemble; the target mono, the backward model."""
    if part == "mono-trg":
        return {
            "name": "backward",
            "models": [model_file("backward")],
            "decoding": "decoding-backward",
        }
    return {
        "name": "teacher-ensemble" if len(TEACHERS) > 1 else TEACHERS[0],
        "models": [model_file(t) for t in TEACHERS],
        "decoding": "decoding-teacher",
    }


def chunk_files(part, kind):
    """Chunk inputs (`in`) or translations (`out`) of a part, in order."""

    def inner(wildcards):
        ids = chunk_ids(part)
        if kind == "in":
            return [f"{TRANS}/{part}/chunks/{i}.in" for i in ids]
        return [f"{TRANS}/{part}/out/{i}.zst" for i in ids]

    return inner


# --- evaluation ---------------------------------------------------------------------

# Every model the run has, and the teachers' ensemble.
EVAL_MODELS = PLAN.eval_models
QUANTIZED = PLAN.quantized
metrics_files = PLAN.metrics_files


def eval_langs(wildcards):
    """(source language, target language) of the model being evaluated."""
    return (TRG, SRC) if wildcards.model == "backward" else (SRC, TRG)


def eval_inputs(wildcards):
    source, target = eval_langs(wildcards)
    return {
        "models": PLAN.eval_model_files(wildcards.model),
        # The run's vocab, or a foreign model's own (OPUS-MT: its spms and YAML vocab).
        "vocabs": PLAN.model_vocab_files(wildcards.model),
        "src": f"{DATA}/original/{wildcards.stem}.{source}.zst",
        "ref": f"{DATA}/original/{wildcards.stem}.{target}.zst",
    }


def decoding_stage(model):
    if model == "backward":
        return "decoding-backward"
    return "decoding-teacher" if model.startswith("teacher") else "decoding-student"


# --- benchmarks ---------------------------------------------------------------------

# Snakemake's benchmark of each heavy job (training, translation, scoring, alignments,
# merges, imports, cleaning): wall time, peak memory, I/O and CPU time as a TSV file, at
# the path of the job's log under results/{exp}/benchmarks/ (a .tsv for the .log).
BENCH = f"{RESULTS}/benchmarks"


def training_benchmark(model):
    """The benchmark file of the job that trained a model (see the training rules)."""
    if model.startswith("teacher"):
        return f"{BENCH}/train_teacher/{model}.tsv"
    trained_by = {"student-finetuned": "finetune_student"}.get(model, f"train_{model}")
    return f"{BENCH}/{trained_by}.tsv"
