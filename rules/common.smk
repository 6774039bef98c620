import functools
import hashlib
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
# characters, lengths, braces, YAML booleans; 4000.0 becomes 4000). scripts/config_guard.py.
config_guard.check_files(workflow.configfiles)
config_guard.guard(
    config,
    config_guard.load_schema(
        Path(workflow.basedir) / "config/schema/config.schema.yml"
    ),
)

# Keys of upstream (Taskcluster) configs that mean nothing here: warned about and dropped,
# so such configs can be brought over instead of failing validation.
TASKCLUSTER_ONLY = {
    "taskcluster": "worker settings belong in `resources` and a profile (profiles/)",
    "wandb-publication": "Weights & Biases publishing is not supported; `snakemake "
    "--report report.html` shows the training curves",
    "target-stage": "name the stage as a target instead, e.g. `snakemake student` "
    "(targets: vocab, corpora, backwards, teacher, student, evaluate, export, all)",
}
for _key, _hint in TASKCLUSTER_ONLY.items():
    if _key in config:
        del config[_key]
        print(
            f"WARNING: config key `{_key}` only means something on Taskcluster and is "
            f"ignored: {_hint}",
            file=sys.stderr,
        )

validate(config, schema="../config/schema/config.schema.yml")

# What the schema cannot say (scripts/config_checks.py): each error names its key. Marian
# options reach Marian's argv as given: reserved names, values that would become options
# of their own (`--model=/x`) and unknown presets stop here.
from mtdistill.config import checks as config_checks  # noqa: E402

config_checks.check_marian_args(
    config["marian-args"], Path(workflow.basedir) / "config" / "marian"
)

EXPERIMENT = config["experiment"]
EXP = EXPERIMENT["name"]
SRC = EXPERIMENT["src"]
TRG = EXPERIMENT["trg"]
# Not the same language however written (en/eng, zh_Hant/zh_hant), and no code that is
# also a file name (distillation.aln.zst).
config_checks.check_languages(SRC, TRG)
DATASETS = config["datasets"]
RES = config["resources"]
MARIAN = config["marian"]
N_TEACHERS = EXPERIMENT["teacher-ensemble"]
BEST = EXPERIMENT["best-model"]

RESULTS = f"results/{EXP}"
DATA = f"{RESULTS}/data"
CORPUS = f"{RESULTS}/corpus"
VOCAB_DIR = f"{RESULTS}/vocab"
MODELS = f"{RESULTS}/models"
TRANS = f"{RESULTS}/translated"
EVAL = f"{RESULTS}/evaluation"
EXPORT = f"{RESULTS}/exported"
LOGS = f"logs/{EXP}"

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
# Arguments every training shares (see TRAIN_CMD). train.py finds the presets
# (config/marian/) next to itself: their path stays out of params.
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


def file_sha256(path):
    """sha256 of a file's content, for params compared by content rather than by path."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def script(module):
    """The command running one of the job scripts (a module of mtdistill), for params.

    The interpreter and scripts/ come from $PY and $PYTHONPATH (see shell.prefix above);
    -P keeps the job's working directory off sys.path. The digest, which python ignores
    (-X names an unused option), makes the command differ when the script or a module it
    imports changed, so Snakemake's params trigger reruns the jobs using it.
    """
    return f'"$PY" -P -X code-sha256={code_digest(module)} -m {module}'


TEACHERS = [f"teacher{i}" for i in range(N_TEACHERS)]


# --- continuation: artifacts reused by URL -------------------------------------------
# Downloads are cached under resources/ by a key derived from their URLs, so experiments
# share them. Input functions below return the cached path of a reused artifact and the
# training output otherwise: the rules below an artifact never change, the rules that
# would have produced it drop out of the DAG. Nothing here touches the network.

from mtdistill.data.download import DownloadError, resolve  # noqa: E402

CONT = config["continuation"]
CONT_VOCAB = CONT.get("vocab")
CONT_CORPORA = CONT.get("corpora", {})
CONT_MODELS = dict(CONT.get("models", {}))
TRIO = ("tok-src", "tok-trg", "alignments")


class ContinuationError(ValueError):
    """A continuation setting that cannot work, found before any job runs."""


def url_key(*urls):
    """A stable folder name under resources/ for a download."""
    digest = hashlib.sha256("\n".join(urls).encode("utf-8")).hexdigest()
    return digest[:16]


def check_url(key, url):
    try:
        resolve(url)
    except DownloadError as error:
        raise ContinuationError(f"continuation.{key}: {error}") from None


def continued_models():
    """name -> {url, mode, sha256} of every model reused by URL."""
    if "teacher" in CONT_MODELS and "teachers" in CONT_MODELS:
        raise ContinuationError(
            "continuation.models has both `teacher` and `teachers`: they are two spellings "
            "of the same setting, keep one"
        )
    models = {}
    ensemble_key = "teachers" if "teachers" in CONT_MODELS else "teacher"
    ensemble = CONT_MODELS.get(ensemble_key)
    if ensemble:
        urls = ensemble["urls"]
        if len(urls) != N_TEACHERS:
            raise ContinuationError(
                f"continuation.models.{ensemble_key}.urls lists {len(urls)} URL(s) but "
                f"experiment.teacher-ensemble is {N_TEACHERS}: give one URL per ensemble "
                "member or change teacher-ensemble"
            )
        sums = ensemble.get("sha256") or [None] * len(urls)
        if len(sums) != len(urls):
            raise ContinuationError(
                f"continuation.models.{ensemble_key}.sha256 needs one checksum per URL"
            )
        for i, (url, sha) in enumerate(zip(urls, sums)):
            check_url(f"models.{ensemble_key}.urls[{i}]", url)
            models[f"teacher{i}"] = {
                "url": url,
                "mode": ensemble["mode"],
                "sha256": sha,
            }
    for key, name in (("backwards", "backward"), ("student", "student")):
        if key in CONT_MODELS:
            spec = CONT_MODELS[key]
            check_url(f"models.{key}.url", spec["url"])
            models[name] = {
                "url": spec["url"],
                "mode": spec["mode"],
                "sha256": spec.get("sha256"),
            }
    # One model twice, however its URL is written (x, ./x, x/, file:///abs/x).
    keys = {
        f"teacher{i}": f"models.{ensemble_key}.urls[{i}]" for i in range(N_TEACHERS)
    }
    keys |= {"backward": "models.backwards.url", "student": "models.student.url"}
    config_checks.check_model_urls(
        [(keys[n], spec["url"]) for n, spec in models.items()]
    )
    for name, spec in models.items():
        spec["dir"] = f"resources/models/{url_key(spec['url'])}"
    return models


def check_continuation():
    """Settings that parse but could not work: stop before any job runs."""
    for kind, spec in CONT_CORPORA.items():
        given = [k for k in TRIO if k in spec]
        if given and len(given) != len(TRIO):
            missing = [k for k in TRIO if k not in spec]
            raise ContinuationError(
                f"continuation.corpora.{kind} has {', '.join(given)} but not "
                f"{', '.join(missing)}: tok-src, tok-trg and alignments come all three or none"
            )
        for key in ("src", "trg", *given):
            check_url(f"corpora.{kind}.{key}", spec[key])
    if CONT_VOCAB:
        for side in ("src", "trg"):
            check_url(f"vocab.{side}", CONT_VOCAB[side])
    if "parallel" in CONT_CORPORA and DATASETS["train"]:
        raise ContinuationError(
            "continuation.corpora.parallel replaces the training datasets, but "
            f"datasets.train lists {', '.join(DATASETS['train'])}: remove one of them"
        )
    if "backtranslations" in CONT_CORPORA and DATASETS["mono-trg"]:
        raise ContinuationError(
            "continuation.corpora.backtranslations replaces back-translating datasets.mono-trg "
            f"({', '.join(DATASETS['mono-trg'])}): remove one of them"
        )
    if "distillation" in CONT_CORPORA:
        if not CONT_VOCAB:
            raise ContinuationError(
                "continuation.corpora.distillation needs continuation.vocab: the student must "
                "use the vocab the distillation corpus was made with"
            )
        replaced = [
            f"datasets.{k}" for k in ("train", "mono-src", "mono-trg") if DATASETS[k]
        ]
        replaced += [
            f"continuation.corpora.{k}"
            for k in ("parallel", "backtranslations")
            if k in CONT_CORPORA
        ]
        replaced += [
            f"continuation.models.{k}"
            for k in ("teacher", "teachers", "backwards")
            if k in CONT_MODELS
        ]
        if replaced:
            raise ContinuationError(
                "continuation.corpora.distillation replaces the teachers and the data they "
                f"translate, so {', '.join(replaced)} would not be used: remove them"
            )
    elif not DATASETS["train"] and "parallel" not in CONT_CORPORA:
        raise ContinuationError(
            "no training data: list datasets.train or set continuation.corpora.parallel "
            "(or continuation.corpora.distillation to train only a student)"
        )
    if CONTINUED and not CONT_VOCAB:
        raise ContinuationError(
            f"continuation.models ({', '.join(CONTINUED)}) needs continuation.vocab: a model "
            "only works with the vocab it was trained with"
        )


CONTINUED = continued_models()
check_continuation()
DISTILLATION_GIVEN = "distillation" in CONT_CORPORA


def mode_of(name):
    """`train` (no URL), or the continuation mode of a model reused by URL."""
    return CONTINUED[name]["mode"] if name in CONTINUED else "train"


def is_downloaded(name):
    """A model used as downloaded: its training rule drops out of the DAG."""
    return mode_of(name) == "use"


# A student used as downloaded is not trained, so it cannot be fine-tuned: say so.
config_checks.check_student_mode(
    mode_of("student") if "student" in CONTINUED else None,
    EXPERIMENT["finetune-student"],
)
STUDENT_FINAL = "student-finetuned" if EXPERIMENT["finetune-student"] else "student"
# The backward model and the teachers this run has. They only serve the student's
# training: with a reused distillation corpus there are none, and with the student used
# as downloaded only those downloaded as they are (mode use), as training them just to
# evaluate them would cost more than the rest of the run.
UPSTREAM_MODELS = [
    m
    for m in ["backward", *TEACHERS]
    if not DISTILLATION_GIVEN and (not is_downloaded("student") or is_downloaded(m))
]


wildcard_constraints:
    # Dataset stems (see dataset_stem), never raw dataset names.
    dataset=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    lang=f"{SRC}|{TRG}",
    index=r"\d+",
    chunk=r"\d+",
    part="corpus|mono-src|mono-trg",


# --- vocabulary ---------------------------------------------------------------------

if CONT_VOCAB:
    # The same URL twice is a joint vocab.
    VOCAB_URLS = {
        url_key(CONT_VOCAB[side]): CONT_VOCAB[side] for side in ("src", "trg")
    }
    VOCAB_SHA = {
        url_key(CONT_VOCAB[side]): (CONT_VOCAB.get("sha256") or {}).get(side)
        for side in ("src", "trg")
    }
    SRC_VOCAB = f"resources/vocab/{url_key(CONT_VOCAB['src'])}/vocab.spm"
    TRG_VOCAB = f"resources/vocab/{url_key(CONT_VOCAB['trg'])}/vocab.spm"
elif EXPERIMENT["spm-vocab-split"]:
    SRC_VOCAB = f"{VOCAB_DIR}/vocab.{SRC}.spm"
    TRG_VOCAB = f"{VOCAB_DIR}/vocab.{TRG}.spm"
else:
    SRC_VOCAB = TRG_VOCAB = f"{VOCAB_DIR}/vocab.spm"
VOCABS = sorted({SRC_VOCAB, TRG_VOCAB})


def vocab_corpora(wildcards):
    """Which text a vocab file is trained on: both sides (joint) or one language."""
    if wildcards.name == "vocab":
        return [corpus_file("parallel", SRC), corpus_file("parallel", TRG)]
    return [corpus_file("parallel", wildcards.name.removeprefix("vocab."))]


def vocabs(direction):
    """(source vocab, target vocab) for a model translating `direction`."""
    return [SRC_VOCAB, TRG_VOCAB] if direction == "forward" else [TRG_VOCAB, SRC_VOCAB]


# --- datasets -----------------------------------------------------------------------

TOY_SPLITS = ["train", "dev", "test", "mono-src", "mono-trg"]


def toy_files():
    files = []
    for split in TOY_SPLITS:
        langs = {"mono-src": [SRC], "mono-trg": [TRG]}.get(split, [SRC, TRG])
        files += [f"{DATA}/toy/{split}.{lang}.zst" for lang in langs]
    return files


def import_source(wildcards):
    """Where an importer reads a dataset from, by its prefix."""
    importer, name = wildcards.dataset.split("_", 1)
    if importer == "toy":
        return f"{DATA}/toy/{name}.{wildcards.lang}.zst"
    # local_: a file in datasets.local-dir, compressed or not.
    base = Path(DATASETS["local-dir"]) / f"{name}.{wildcards.lang}"
    for suffix in (".zst", ".gz", ""):
        if Path(f"{base}{suffix}").exists():
            return f"{base}{suffix}"
    return f"{base}.zst"  # missing: Snakemake reports this file by name


# Downloaded datasets (scripts/importers.py). Names never reach a path or a shell command
# raw: each maps to a file stem used as the {dataset} wildcard, and STEMS maps stems back.
from mtdistill.data.importers import (
    ImporterError,
    check_dataset,
    check_mirrors,
    dataset_stem,
)  # noqa: E402

DATASET_KINDS = ("train", "devtest", "test", "mono-src", "mono-trg")


def dataset_stems():
    """stem -> name of every configured dataset; config errors stop here, before any job."""
    try:  # every import command carries the mirrors: no user:password@ in them
        check_mirrors(DATASETS.get("mirrors"))
    except ImporterError as error:
        raise ValueError(f"config {error}") from None
    found = {}
    for kind in DATASET_KINDS:
        langs = {"mono-src": [SRC], "mono-trg": [TRG]}.get(kind, [SRC, TRG])
        for name in DATASETS[kind]:
            try:
                stem = dataset_stem(name)
                check_dataset(name, langs)
            except ImporterError as error:
                raise ValueError(f"config datasets.{kind}: {error}") from None
            if found.setdefault(stem, name) != name:
                raise ValueError(
                    f"config datasets: {found[stem]!r} and {name!r} map to the same file "
                    f"name {stem}: keep one of them"
                )
    return found


STEMS = dataset_stems()
# No test set among the training or validation data (by file stem: one dataset, one stem).
config_checks.check_dataset_overlap(DATASETS, dataset_stem)


def stems(datasets):
    """File stems of dataset names (toy_ and local_ names are their own stems)."""
    return [dataset_stem(d) for d in datasets]


def downloaded(stem):
    return not STEMS[stem].startswith(("toy_", "local_"))


# A downloaded dataset used as parallel data is imported in one job for both languages;
# one used only as monolingual data, in one job per language.
PARALLEL_STEMS = sorted(
    {s for k in ("train", "devtest", "test") for s in stems(DATASETS[k])}
)
DOWNLOAD_PARALLEL = [s for s in PARALLEL_STEMS if downloaded(s)]
DOWNLOAD_MONO = sorted(
    s
    for s in set(stems(DATASETS["mono-src"] + DATASETS["mono-trg"]))
    if downloaded(s) and s not in PARALLEL_STEMS
)
MIRRORS = json.dumps(DATASETS.get("mirrors") or {}, sort_keys=True)
DOWNLOADS = {"max-bytes": 50 * 10**9, "retries": 4, "timeout": 60} | config.get(
    "downloads", {}
)


def stem_regex(names):
    """A wildcard constraint matching exactly these stems (none: matches nothing)."""
    return "|".join(re.escape(s) for s in names) or "(?!)"


def clean_parallel_files(datasets, lang):
    return [f"{DATA}/clean/{d}.{lang}.zst" for d in stems(datasets)]


def mono_datasets(lang):
    """Stems of the monolingual datasets of a language."""
    return stems(DATASETS["mono-src"] if lang == SRC else DATASETS["mono-trg"])


HAS_MONO_SRC = bool(DATASETS["mono-src"])
HAS_BACKTRANSLATIONS = bool(DATASETS["mono-trg"]) or "backtranslations" in CONT_CORPORA


def corpus_key(kind):
    spec = CONT_CORPORA[kind]
    return url_key(*(spec[k] for k in ("src", "trg", *TRIO) if k in spec))


def corpus_file(kind, lang):
    """A corpus (parallel, backtranslations, distillation): downloaded, or made here."""
    if kind in CONT_CORPORA:
        return f"resources/corpora/{corpus_key(kind)}/{kind}.{lang}.zst"
    return f"{CORPUS}/{kind}.{lang}.zst"


# The corpora a run has: `snakemake corpora` builds (or downloads) them.
CORPUS_KINDS = (
    ["parallel"] * (not DISTILLATION_GIVEN)
    + ["backtranslations"] * (HAS_BACKTRANSLATIONS and not DISTILLATION_GIVEN)
    + ["distillation"]
)


def alignments_file():
    """Guided alignments of the distillation corpus: downloaded with it, or computed."""
    if DISTILLATION_GIVEN and "alignments" in CONT_CORPORA["distillation"]:
        return f"resources/corpora/{corpus_key('distillation')}/distillation.aln.zst"
    return f"{CORPUS}/distillation.aln.zst"


# --- cleaning (scripts/clean.py, options in config `cleaning`) ------------------------

CLEANING = config["cleaning"]
BICLEANER = CLEANING["bicleaner"]
MERGE = config["merge"]
LANGID = {True: "on", False: "off", "auto": "auto"}[CLEANING["langid"]]
# The rule-based cleaning writes here; with the neural filter on, bicleaner_corpus reads
# it and writes {DATA}/clean/, which the merge rules and the report read.
CLEAN_RULES = f"{DATA}/clean-rules" if BICLEANER["enabled"] else f"{DATA}/clean"


def check_cleaning():
    """Cleaning settings that cannot work: stop before any job runs."""
    import importlib.util

    from mtdistill.data import clean

    if LANGID == "on":
        for key, lang in (("src", SRC), ("trg", TRG)):
            if clean.langid_code(lang) is None:
                raise ValueError(
                    f"config cleaning.langid is true but py3langid does not know "
                    f"experiment.{key} '{lang}': set cleaning.langid to auto (on only for "
                    "the languages it knows) or false"
                )
    uses_langid = LANGID != "off" and any(clean.langid_code(l) for l in (SRC, TRG))
    if uses_langid and not USE_CONDA and not importlib.util.find_spec("py3langid"):
        raise ValueError(
            "config cleaning.langid needs the py3langid package, which is not installed: "
            "pip install -r requirements.txt, or set cleaning.langid: false"
        )
    # Only bicleaner-ai-classify, reading stdin and writing stdout; under --use-conda the
    # tool comes with envs/bicleaner.yml.
    config_checks.check_bicleaner(BICLEANER, installed=not USE_CONDA)


check_cleaning()
# Only Marian tools run (pymarian comes with envs/marian.yml under --use-conda).
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
            f"--langid {LANGID} --langid-threshold {c['langid-threshold']}",
        ]
        + ([f"--scripts {' '.join(scripts)}"] if scripts else [])
    )


def clean_stats_files(wildcards):
    """The statistics of the datasets of one use (train, devtest, mono-src, mono-trg)."""
    if wildcards.split in ("train", "devtest"):
        return [
            f"{DATA}/clean/{d}.stats.json" for d in stems(DATASETS[wildcards.split])
        ]
    lang = SRC if wildcards.split == "mono-src" else TRG
    return [f"{DATA}/clean/mono/{d}.{lang}.stats.json" for d in mono_datasets(lang)]


# merge.py's options from config `merge`: dedup key, shuffle, bucket size (memory bound).
MERGE_OPTIONS = (
    f"--seed {EXPERIMENT['seed']} --bucket-mb {MERGE['bucket-mb']}"
    f" --dedup {MERGE['dedup']} {'--shuffle' if MERGE['shuffle'] else '--no-shuffle'}"
)


# --- models -------------------------------------------------------------------------


def model_file(name):
    """A model's final weights: downloaded (mode use) or trained here."""
    if is_downloaded(name):
        return f"{CONTINUED[name]['dir']}/final.npz"
    return f"{MODELS}/{name}/final.npz"


def pretrained_files(name):
    """The download a training starts from (modes continue and init), else nothing."""
    if mode_of(name) in ("continue", "init"):
        return [f"{CONTINUED[name]['dir']}/final.npz"]
    return []


def pretrained_args(name):
    if mode_of(name) in ("continue", "init"):
        return f"--pretrained {CONTINUED[name]['dir']}"
    return ""


def provenance():
    """Where each model came from, for the export's model.json."""
    names = [*UPSTREAM_MODELS, "student"]
    return json.dumps(
        {
            n: (
                {"url": CONTINUED[n]["url"], "mode": mode_of(n)}
                if n in CONTINUED
                else "trained"
            )
            for n in names
        }
    )


def marian_options(stage):
    """Marian options of a stage from config `marian-args`, as JSON for the scripts."""
    return json.dumps(config["marian-args"].get(stage) or {})


def teacher_corpus(lang):
    """Teachers learn from the parallel corpus plus back-translations when there are any."""
    if HAS_BACKTRANSLATIONS:
        return f"{CORPUS}/teacher.{lang}.zst"
    return corpus_file("parallel", lang)


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


def chunk_files(part, kind):
    """Chunk inputs (`in`) or translations (`out`) of a part, in order."""

    def inner(wildcards):
        ids = chunk_ids(part)
        if kind == "in":
            return [f"{TRANS}/{part}/chunks/{i}.in" for i in ids]
        return [f"{TRANS}/{part}/out/{i}.zst" for i in ids]

    return inner


# --- evaluation ---------------------------------------------------------------------

# Every model the run has (see UPSTREAM_MODELS), and the teachers' ensemble.
EVAL_MODELS = (
    UPSTREAM_MODELS
    + (
        ["teacher-ensemble"]
        if N_TEACHERS > 1 and set(TEACHERS) <= set(UPSTREAM_MODELS)
        else []
    )
    + ["student"]
    + (["student-finetuned"] if STUDENT_FINAL == "student-finetuned" else [])
    + (["student-quantized"] if EXPERIMENT["quantize"] else [])
)
QUANTIZED = f"{MODELS}/student-quantized/model.intgemm8.bin"


def eval_models(wildcards):
    if wildcards.model == "teacher-ensemble":
        return [model_file(t) for t in TEACHERS]
    if wildcards.model == "student-quantized":
        return [QUANTIZED]
    return [model_file(wildcards.model)]


def eval_direction(model):
    return "backward" if model == "backward" else "forward"


def eval_langs(wildcards):
    """(source language, target language) of the model being evaluated."""
    return (TRG, SRC) if wildcards.model == "backward" else (SRC, TRG)


def eval_inputs(wildcards):
    source, target = eval_langs(wildcards)
    return {
        "models": eval_models(wildcards),
        "vocabs": VOCABS,
        "src": f"{DATA}/original/{wildcards.dataset}.{source}.zst",
        "ref": f"{DATA}/original/{wildcards.dataset}.{target}.zst",
    }


def decoding_stage(model):
    if model == "backward":
        return "decoding-backward"
    return "decoding-teacher" if model.startswith("teacher") else "decoding-student"


def metrics_files():
    tests = stems(DATASETS["test"])
    files = [f"{EVAL}/{m}/{d}.json" for m in EVAL_MODELS for d in tests]
    return files + [f"{EVAL}/baseline-copy/{d}.json" for d in tests]


# --- shell commands shared by rule families ---------------------------------------

# Every training rule names its inputs src/trg/valid_src/valid_trg/vocabs and its params
# script/space/marian/model_dir/options/mode/extra/seed/common, so one command serves them all.
TRAIN_CMD = (
    # Warn (console and log) when the filesystem lacks the space training needs.
    "{params.space} train --inputs {input} --target {params.model_dir} --log {log} && "
    # exec: train.py receives SLURM's SIGTERM itself and waits for Marian to save.
    "exec {params.script} --marian {params.marian:q} --model-dir {params.model_dir}"
    " --train-src {input.src} --train-trg {input.trg}"
    " --valid-src {input.valid_src} --valid-trg {input.valid_trg}"
    " --src-vocab {input.vocabs[0]} --trg-vocab {input.vocabs[1]}"
    " --options {params.options:q} --mode {params.mode} {params.extra}"
    " --seed {params.seed} {params.common} --threads {threads}"
    " >>{log} 2>&1"
)

# Translation rules name their inputs src/models/vocabs and their params
# script/marian/options/nbest/devices.
TRANSLATE_CMD = (
    "{params.script} --marian {params.marian:q} --models {input.models}"
    " --vocabs {input.vocabs} --input {input.src} --output {output}"
    " --options {params.options:q} {params.nbest}"
    " {params.devices} --threads {threads} >>{log} 2>&1"
)
