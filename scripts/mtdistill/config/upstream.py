"""Configs written for mozilla/translations ("upstream") brought over as they are.

rules/common.smk calls translate(config) after the config guard and before the schema:
every upstream key is accepted (the same meaning here: most of experiment, datasets,
marian-args, continuation), translated to this workflow's key with a warning, or dropped
with a warning naming the key and why. A config of this workflow passes unchanged and
without a warning. Pure (stdlib only), unit-tested in tests/test_config_upstream.py.
"""

from __future__ import annotations

import copy
import re

from mtdistill.common.errors import ConfigError

# Top-level keys that only mean something on Taskcluster.
TASKCLUSTER_ONLY = {
    "taskcluster": "worker settings belong in `resources` and a profile (profiles/)",
    "wandb-publication": "Weights & Biases publishing is not supported; `snakemake "
    "--report report.html` shows the training curves",
    "target-stage": "name the stage as a target instead, e.g. `snakemake student` "
    "(targets: vocab, corpora, backward, teacher, student, evaluate, export, all)",
    "previous-group-ids": "Snakemake reuses the outputs already under results/ by itself",
    "start-task-prefix": "Snakemake reuses the outputs already under results/ by itself; "
    "to rebuild from a stage, --forcerun its rule",
}

# experiment.* keys of upstream with no counterpart here, and why.
EXPERIMENT_DROPPED = {
    "opuscleaner-mode": "OpusCleaner does not run here; every dataset goes through the "
    "rules of `cleaning` (config/README.md, \"Cleaning\")",
    "archive-corpora": "the corpora stay under results/{name}/corpus/",
    "monocleaner": "monolingual data is cleaned by the rules of `cleaning` (script share, "
    "language identification); there is no fluency filter",
    "hplt-min-doc-score": "there is no hplt_ importer here (see datasets)",
    "dev-max-sentences": "every line of datasets.devtest is used: list fewer devtest sets "
    "to validate faster",
    "corpus-max-sentences": "the whole parallel corpus is used",
    "spm-norm-rule": "SentencePiece keeps its default normalization (nmt_nfkc); "
    "cleaning.normalization sets the Unicode form of every line (NFC or NFKC)",
    "teacher-mode": "teachers train in one stage on the parallel corpus and the "
    "back-translations",
    "teacher-decoder": "Marian decodes here (marian.decode)",
}

# Best-model metrics of upstream's Marian list, as experiment.best-model here spells them.
BEST_MODEL = {
    "perplexity": "ce-mean-words",  # exp(ce-mean-words): the same ranking
    "cross-entropy": "ce-mean-words",  # per sentence instead of per word
    "bleu": "bleu-detok",
    "bleu-segmented": "bleu-detok",
}
BEST_MODEL_HERE = ("chrf", "ce-mean-words", "bleu-detok")
# Upstream's other Marian metrics, which need its validation scripts: chrf instead. Any
# other value is left to the schema, which refuses it.
BEST_MODEL_DROPPED = ("translation", "valid-script")
STUDENT_MODELS = {"tiny": "student-tiny", "base": "student-base", "base-memory": "student-base-memory"}

# Upstream dataset importers that have none here, and what to do instead.
NO_IMPORTER = {
    "hplt": "download the HPLT files and list each as url_https://…/FILE (or local_)",
    "ntrex": "list the NTREX-128 files as url_https://…/newstest2019-ref.[LANG].txt "
    "(or local_)",
    "hf": "export the Hugging Face dataset to text files and list them as local_NAME",
    "hfp": "export the Hugging Face dataset to text files and list them as local_NAME",
    "bucket": "list the files as url_gs://BUCKET/…[LANG]…",
}
# Evaluation sets with an OpusTrainer augmentation (flores_aug-mix_dev): upstream's
# augmentation of a known importer's dataset.
AUGMENTED = re.compile(r"(opus|mtdata|sacrebleu|flores|url|local)_aug-[a-z]+(?:-[a-z]+)*_(.+)")
OPUS_MONO = "url_https://object.pouta.csc.fi/OPUS-{name}/mono/{lang}.txt.gz"
LISTS = ("train", "devtest", "test", "mono-src", "mono-trg")


def _names(names, most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def translate(config: dict) -> tuple[dict, list[str]]:
    """(config, warnings): a copy of the merged config with upstream's keys brought over."""
    config = copy.deepcopy(config)
    warnings: list[str] = []
    for key, hint in TASKCLUSTER_ONLY.items():
        if key in config:
            del config[key]
            warnings.append(
                f"config key `{key}` only means something on Taskcluster and is ignored: {hint}"
            )
    experiment = config.get("experiment")
    if isinstance(experiment, dict):
        _experiment(config, experiment, warnings)
    _pretrained_models(config, warnings)
    datasets = config.get("datasets")
    if isinstance(datasets, dict):
        _datasets(datasets, experiment if isinstance(experiment, dict) else {}, warnings)
    return config, warnings


def _section(config: dict, *path: str) -> dict:
    """config[path[0]][path[1]]…, made a mapping where missing."""
    for key in path:
        if not isinstance(config.get(key), dict):
            config[key] = {}
        config = config[key]
    return config


def _experiment(config: dict, experiment: dict, warnings: list[str]) -> None:
    for key, why in EXPERIMENT_DROPPED.items():
        if key in experiment:
            value = experiment.pop(key)
            if key == "teacher-decoder" and value == "marian":
                continue  # what runs here anyway
            warnings.append(f"config experiment.{key} is upstream's and ignored here: {why}")
    best = experiment.get("best-model")
    if isinstance(best, str) and best not in BEST_MODEL_HERE:
        if best in BEST_MODEL:
            experiment["best-model"] = BEST_MODEL[best]
            warnings.append(
                f"config experiment.best-model {best} is taken as {BEST_MODEL[best]} (the "
                f"metrics here: {', '.join(BEST_MODEL_HERE)})"
            )
        elif best in BEST_MODEL_DROPPED:
            del experiment["best-model"]
            warnings.append(
                f"config experiment.best-model {best} is not a metric here and is ignored: "
                f"chrf picks the checkpoints (others: {', '.join(BEST_MODEL_HERE[1:])})"
            )
    for side in ("src", "trg"):
        key = f"mono-max-sentences-{side}"
        if key not in experiment:
            continue
        value = experiment.pop(key)
        if isinstance(value, dict):
            per = value.get("per-dataset")
            value = value.get("total")
            if per is not None:
                warnings.append(
                    f"config experiment.{key}.per-dataset is ignored: there is no cap per "
                    "dataset here, the merged and deduplicated monolingual data is sampled "
                    "down to the total"
                )
        if value is not None:
            config[key] = value
            warnings.append(
                f"config experiment.{key} (upstream's place) is taken as the top-level "
                f"{key}: {value}; write it there"
            )
    bicleaner = experiment.pop("bicleaner", None)
    if isinstance(bicleaner, dict):
        if "default-threshold" in bicleaner:
            threshold = bicleaner["default-threshold"]
            _section(config, "cleaning", "bicleaner")["threshold"] = threshold
            warnings.append(
                f"config experiment.bicleaner.default-threshold is taken as "
                f"cleaning.bicleaner.threshold: {threshold}; the neural filter runs only with "
                "cleaning.bicleaner.enabled: true and a model (config/README.md)"
            )
        if bicleaner.get("dataset-thresholds"):
            warnings.append(
                "config experiment.bicleaner.dataset-thresholds is ignored: one threshold "
                "(cleaning.bicleaner.threshold) applies to every dataset here"
            )
    student = experiment.pop("student-model", None)
    if student is not None:
        preset = STUDENT_MODELS.get(student)
        if preset is None:
            warnings.append(
                f"config experiment.student-model {student} is ignored: the student "
                f"presets here are {', '.join(STUDENT_MODELS.values())} "
                "(marian-args.training-student.preset)"
            )
        else:
            _student_preset(config, student, preset, warnings)


def _student_preset(config: dict, student: str, preset: str, warnings: list[str]) -> None:
    """experiment.student-model as the preset of both student trainings, unless set."""
    taken, kept = [], []
    for stage in ("training-student", "training-student-finetuned"):
        options = _section(config, "marian-args", stage)
        if "preset" not in options:
            options["preset"] = preset
            taken.append(stage)
        elif options["preset"] != preset:
            kept.append(f"marian-args.{stage}.preset is {options['preset']}")
    if taken:
        warnings.append(
            f"config experiment.student-model {student} is taken as preset {preset} of "
            f"marian-args.{' and marian-args.'.join(taken)}"
        )
    if kept:
        warnings.append(
            f"config experiment.student-model {student} is ignored where "
            f"{' and '.join(kept)}"
        )


def _pretrained_models(config: dict, warnings: list[str]) -> None:
    """The old pretrained-models (top level or under experiment): continuation.models."""
    for where, holder in (("pretrained-models", config), ("experiment.pretrained-models",
                                                          config.get("experiment"))):
        if not isinstance(holder, dict) or "pretrained-models" not in holder:
            continue
        old = holder.pop("pretrained-models") or {}
        if not old:
            continue  # upstream's configs carried an empty one: nothing to bring over
        if not isinstance(old, dict):
            raise ConfigError(
                f"config {where} is the old spelling of continuation.models: write "
                "continuation.models.teachers / .backwards (README, \"Reusing pretrained "
                "models\")"
            )
        models = _section(config, "continuation", "models")
        for old_key, new_key in (("train-teacher", "teachers"), ("train-backwards", "backwards")):
            if old_key not in old:
                continue
            spec = dict(old.pop(old_key) or {})
            if new_key in models or (new_key == "teachers" and "teacher" in models):
                raise ConfigError(
                    f"config {where}.{old_key} and continuation.models.{new_key} both set the "
                    f"{new_key} model: {where} is the old spelling, remove it"
                )
            urls = spec.pop("urls", None)
            if new_key == "backwards" and isinstance(urls, list) and len(urls) == 1:
                spec["url"] = urls[0]
            elif new_key == "teachers" and "url" in spec and urls is None:
                spec["urls"] = [spec.pop("url")]
            elif urls is not None:
                spec["urls"] = urls  # kept as written: the schema names what is wrong
            models[new_key] = spec
            warnings.append(
                f"config {where}.{old_key} is the old spelling of continuation.models."
                f"{new_key}: taken as that; write it there"
            )
        if old:
            raise ConfigError(
                f"config {where} has {', '.join(map(str, old))}: only train-teacher and "
                "train-backwards were ever read there; write continuation.models instead"
            )


def _datasets(datasets: dict, experiment: dict, warnings: list[str]) -> None:
    for kind in LISTS:
        names = datasets.get(kind)
        if not isinstance(names, list):
            continue
        kept, augmented, dropped, opus_mono = [], [], {}, []
        for name in names:
            if not isinstance(name, str):
                kept.append(name)  # the schema says what is wrong with it
                continue
            prefix = name.split("_", 1)[0]
            match = AUGMENTED.fullmatch(name)
            if match:
                augmented.append(name)
                name = f"{match.group(1)}_{match.group(2)}"
            elif prefix in NO_IMPORTER and "_" in name:
                dropped.setdefault(prefix, []).append(name)
                continue
            elif prefix == "opus" and kind.startswith("mono-") and experiment.get(
                    kind.replace("mono-", "")):
                # Upstream's OPUS importer reads OPUS's monolingual files for mono lists.
                lang = experiment[kind.replace("mono-", "")]
                opus_mono.append(name)
                name = OPUS_MONO.format(name=name.split("_", 1)[1], lang=lang)
            kept.append(name)
        if augmented:
            warnings.append(
                f"config datasets.{kind}: {_names(augmented)} are augmented (upstream's "
                "OpusTrainer augmentation, which does not run here): each is taken as its "
                "plain dataset"
            )
        if opus_mono:
            warnings.append(
                f"config datasets.{kind}: {_names(opus_mono)} are imported from OPUS's "
                f"monolingual files ({OPUS_MONO.format(name='CORPUS/VERSION', lang='LANG')})"
            )
        for prefix, found in dropped.items():
            warnings.append(
                f"config datasets.{kind}: {_names(found)} dropped: no {prefix}_ importer "
                f"here; {NO_IMPORTER[prefix]}"
            )
        if not all(isinstance(n, str) for n in kept):
            datasets[kind] = kept
            continue
        unique = list(dict.fromkeys(kept))
        if len(unique) != len(kept):
            twice = [n for n in unique if kept.count(n) > 1]
            warnings.append(
                f"config datasets.{kind} lists {_names(twice)} more than once: used once"
            )
        datasets[kind] = unique
