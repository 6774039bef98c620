import json
import sys
from pathlib import Path

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

# Scripts run with the interpreter running Snakemake, from the workflow's own folder.
PY = sys.executable
SCRIPTS = str(Path(workflow.basedir) / "scripts")
PRESETS = str(Path(workflow.basedir) / "config" / "marian")

TEACHERS = [f"teacher{i}" for i in range(N_TEACHERS)]
STUDENT_FINAL = "student-finetuned" if EXPERIMENT["finetune-student"] else "student"


wildcard_constraints:
    dataset=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    lang=f"{SRC}|{TRG}",
    index=r"\d+",
    chunk=r"\d+",
    part="corpus|mono-src|mono-trg",


# --- vocabulary ---------------------------------------------------------------------

if EXPERIMENT["spm-vocab-split"]:
    SRC_VOCAB = f"{VOCAB_DIR}/vocab.{SRC}.spm"
    TRG_VOCAB = f"{VOCAB_DIR}/vocab.{TRG}.spm"
else:
    SRC_VOCAB = TRG_VOCAB = f"{VOCAB_DIR}/vocab.spm"
VOCABS = sorted({SRC_VOCAB, TRG_VOCAB})


def vocab_corpora(wildcards):
    """Which text a vocab file is trained on: both sides (joint) or one language."""
    if wildcards.name == "vocab":
        return [f"{CORPUS}/parallel.{SRC}.zst", f"{CORPUS}/parallel.{TRG}.zst"]
    lang = wildcards.name.removeprefix("vocab.")
    return [f"{CORPUS}/parallel.{lang}.zst"]


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
HAS_MONO_TRG = bool(DATASETS["mono-trg"])


# --- models -------------------------------------------------------------------------


def model_file(name):
    return f"{MODELS}/{name}/final.npz"


def marian_options(stage):
    """Marian options of a stage from config `marian-args`, as JSON for the scripts."""
    return json.dumps(config["marian-args"].get(stage) or {})


def teacher_corpus(lang):
    """Teachers learn from the parallel corpus plus back-translations when there are any."""
    if HAS_MONO_TRG:
        return f"{CORPUS}/teacher.{lang}.zst"
    return f"{CORPUS}/parallel.{lang}.zst"


# --- translation chunks (checkpoint split_corpus) ------------------------------------

SPLIT_INPUTS = {
    "corpus": [f"{CORPUS}/parallel.{SRC}.zst", f"{CORPUS}/parallel.{TRG}.zst"],
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

EVAL_MODELS = (
    ["backward"]
    + TEACHERS
    + (["teacher-ensemble"] if N_TEACHERS > 1 else [])
    + ["student"]
    + (["student-finetuned"] if EXPERIMENT["finetune-student"] else [])
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


def provenance():
    """Where each model came from, for the export's model.json."""
    return json.dumps({m: "trained" for m in ["backward", *TEACHERS, "student"]})


# --- shell commands shared by rule families ---------------------------------------

# Every training rule names its inputs src/trg/valid_src/valid_trg/vocabs and its params
# options/mode/extra/seed, so one command serves them all.
TRAIN_CMD = (
    "{PY} {SCRIPTS}/train.py --marian {params.marian:q} --model-dir {params.model_dir}"
    " --train-src {input.src} --train-trg {input.trg}"
    " --valid-src {input.valid_src} --valid-trg {input.valid_trg}"
    " --src-vocab {input.vocabs[0]} --trg-vocab {input.vocabs[1]}"
    " --options {params.options:q} --preset-dir {PRESETS} --best-model {BEST}"
    " --mode {params.mode} {params.extra} --seed {params.seed}"
    " --devices {MARIAN[devices]} --threads {threads} --workspace {MARIAN[workspace]}"
    " >>{log} 2>&1"
)

# Translation rules name their inputs src/models/vocabs (ref optional via params.ref).
TRANSLATE_CMD = (
    "{PY} {SCRIPTS}/translate.py --marian {params.marian:q} --models {input.models}"
    " --vocabs {input.vocabs} --input {input.src} --output {output}"
    " --options {params.options:q} {params.nbest}"
    " --devices {MARIAN[devices]} --threads {threads} --workspace {MARIAN[workspace]}"
    " >>{log} 2>&1"
)
