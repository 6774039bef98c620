import hashlib
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

validate(config, schema="../config/schema/config.schema.yml")

EXPERIMENT = config["experiment"]
EXP = EXPERIMENT["name"]
SRC = EXPERIMENT["src"]
TRG = EXPERIMENT["trg"]
if SRC == TRG:
    raise ValueError(
        f"config experiment.src and experiment.trg are both '{SRC}': they must differ"
    )
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
PRESETS = str(Path(workflow.basedir) / "config" / "marian")
DEVICES = f"--devices {MARIAN['devices']} --workspace {MARIAN['workspace']}"
# Arguments every training shares (see TRAIN_CMD).
TRAIN_ARGS = f"--preset-dir {PRESETS} --best-model {BEST} {DEVICES}"
ENV_DATA = "../envs/data.yml"
ENV_MARIAN = "../envs/marian.yml"


def script(name):
    """The command running one of scripts/."""
    return f"{PY} {SCRIPTS}/{name}"


TEACHERS = [f"teacher{i}" for i in range(N_TEACHERS)]


# --- continuation: artifacts reused by URL -------------------------------------------
# Downloads are cached under resources/ by a key derived from their URLs, so experiments
# share them. Input functions below return the cached path of a reused artifact and the
# training output otherwise: the rules below an artifact never change, the rules that
# would have produced it drop out of the DAG. Nothing here touches the network.

sys.path.insert(0, SCRIPTS)
from download import DownloadError, resolve  # noqa: E402

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
        if len(set(urls)) != len(urls):
            raise ContinuationError(
                f"continuation.models.{ensemble_key}.urls repeats a URL: an ensemble needs "
                "different models"
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
    urls = [spec["url"] for spec in models.values()]
    if len(set(urls)) != len(urls):
        raise ContinuationError(
            "continuation.models uses one URL for two models: each model needs its own"
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


STUDENT_FINAL = (
    "student-finetuned"
    if EXPERIMENT["finetune-student"] and not is_downloaded("student")
    else "student"
)


wildcard_constraints:
    dataset=r"[A-Za-z0-9][A-Za-z0-9_-]*",
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


def clean_parallel_files(datasets, lang):
    return [f"{DATA}/clean/{d}.{lang}.zst" for d in datasets]


def mono_datasets(lang):
    return DATASETS["mono-src"] if lang == SRC else DATASETS["mono-trg"]


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
    names = (
        ["backward", *TEACHERS, "student"] if not DISTILLATION_GIVEN else ["student"]
    )
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

# With a reused distillation corpus there are no teachers (and no backward model, unless
# one is reused) to evaluate.
EVAL_MODELS = (
    (["backward"] if not DISTILLATION_GIVEN or "backward" in CONTINUED else [])
    + (TEACHERS if not DISTILLATION_GIVEN else [])
    + (["teacher-ensemble"] if N_TEACHERS > 1 and not DISTILLATION_GIVEN else [])
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
    files = [f"{EVAL}/{m}/{d}.json" for m in EVAL_MODELS for d in DATASETS["test"]]
    return files + [f"{EVAL}/baseline-copy/{d}.json" for d in DATASETS["test"]]


# --- shell commands shared by rule families ---------------------------------------

# Every training rule names its inputs src/trg/valid_src/valid_trg/vocabs and its params
# script/marian/model_dir/options/mode/extra/seed/common, so one command serves them all.
TRAIN_CMD = (
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
