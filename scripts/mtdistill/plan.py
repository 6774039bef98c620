"""What a run makes, what it takes by URL, and where every file of it lies: decided from
the config alone, once, while Snakemake builds the DAG.

rules/common.smk calls make_plan(config) after the config guard and the schema (with its
defaults) have passed; the rule files read the Plan it returns instead of re-deriving
which stages run. Stdlib and the pure modules only (no job script: no zstandard,
requests, numpy...), so a dry run needs nothing else, and tests/test_plan.py checks plans
without Snakemake. Settings that parse but cannot work raise in make_plan, before any job
runs, each naming its config key. Nothing here opens a file or the network.

Models are named backward, teacher0..N-1, student, student-finetuned, student-quantized
(and teacher-ensemble for the teachers' evaluation); corpora parallel, backtranslations,
distillation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from mtdistill.common.errors import ConfigError
from mtdistill.common.langs import langid_code
from mtdistill.common.urls import DownloadError, resolve
from mtdistill.config import checks
from mtdistill.data.names import ImporterError, check_dataset, check_mirrors, dataset_stem

# The pieces a reused corpus may come with, all three or none: the student's guided
# alignments and the token streams they index.
TRIO = ("tok-src", "tok-trg", "alignments")
DATASET_KINDS = ("train", "devtest", "test", "mono-src", "mono-trg")
TOY_SPLITS = ("train", "dev", "test", "mono-src", "mono-trg")
# The modes that train a model from downloaded weights (`use` takes it as it is).
TRAINED_FROM_DOWNLOAD = ("continue", "init")


class ContinuationError(ConfigError):
    """A continuation setting that cannot work, found before any job runs."""


def url_key(*urls: str) -> str:
    """A stable folder name under resources/ for a download: experiments share downloads."""
    digest = hashlib.sha256("\n".join(urls).encode("utf-8")).hexdigest()
    return digest[:16]


def config_sha256(config: dict) -> str:
    """sha256 of the merged config: every --configfile and --config, and schema defaults."""
    text = json.dumps(config, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stems_of(names) -> list[str]:
    """File stems of dataset names (toy_ and local_ names are their own stems)."""
    return [dataset_stem(name) for name in names]


@dataclass(frozen=True)
class Paths:
    """The folders of an experiment's files: results/{name}/... and logs/{name}."""

    results: str
    data: str
    corpus: str
    vocab: str
    models: str
    translated: str
    evaluation: str
    exported: str
    report: str
    logs: str

    @classmethod
    def of(cls, exp: str) -> Paths:
        results = f"results/{exp}"
        return cls(
            results=results,
            data=f"{results}/data",
            corpus=f"{results}/corpus",
            vocab=f"{results}/vocab",
            models=f"{results}/models",
            translated=f"{results}/translated",
            evaluation=f"{results}/evaluation",
            exported=f"{results}/exported",
            report=f"{results}/report",
            logs=f"logs/{exp}",
        )


@dataclass(frozen=True)
class Continued:
    """A model reused by URL (config continuation.models), downloaded to `dir`."""

    url: str
    mode: str  # use (as downloaded), continue (its training), init (a new training from it)
    sha256: str | None
    dir: str  # resources/models/{url_key(url)}


@dataclass(frozen=True)
class Vocab:
    """The SentencePiece vocab files; the URLs (and checksums) they are downloaded from when
    reused by URL (config continuation.vocab). The same file on both sides is a joint vocab."""

    src: str
    trg: str
    src_url: str | None = None
    trg_url: str | None = None
    src_sha256: str | None = None
    trg_sha256: str | None = None

    @property
    def files(self) -> list[str]:
        return sorted({self.src, self.trg})

    @property
    def urls(self) -> dict:
        """Download folder key -> URL (one key for a joint vocab)."""
        if not self.src_url:
            return {}
        return {url_key(url): url for url in (self.src_url, self.trg_url)}

    @property
    def sha256(self) -> dict:
        """Download folder key -> sha256 or None."""
        if not self.src_url:
            return {}
        return {url_key(self.src_url): self.src_sha256, url_key(self.trg_url): self.trg_sha256}


@dataclass(frozen=True)
class Plan:
    """What runs and from where. make_plan sets the fields (the decisions taken from the
    config); the rest derives from them. Treat the dicts and lists as read-only."""

    exp: str
    src: str
    trg: str
    paths: Paths
    config_sha256: str
    datasets: dict  # config `datasets`: names as configured
    stems: dict  # file stem (the {stem} wildcard) -> dataset name, every dataset
    teachers: tuple  # teacher0..N-1
    continued: dict  # name -> Continued, in config order: teachers, backward, student
    student_final: str  # student, or student-finetuned when it is finetuned
    quantize: bool
    vocab: Vocab
    corpora: dict  # kind -> config continuation.corpora.{kind}: the corpora reused by URL
    langid: str  # on, off or auto
    uses_langid: bool  # py3langid runs for one of the languages
    clean_rules: str  # where the rule-based cleaning writes

    # --- models

    def mode_of(self, name: str) -> str:
        """`train` (no URL), or the continuation mode of a model reused by URL."""
        return self.continued[name].mode if name in self.continued else "train"

    def is_downloaded(self, name: str) -> bool:
        """A model used as downloaded: its training rule drops out of the DAG."""
        return self.mode_of(name) == "use"

    def model_file(self, name: str) -> str:
        """A model's final weights: downloaded (mode use) or trained here."""
        if self.is_downloaded(name):
            return f"{self.continued[name].dir}/final.npz"
        return f"{self.paths.models}/{name}/final.npz"

    def pretrained_files(self, name: str) -> list[str]:
        """The download a training starts from (modes continue and init), else nothing."""
        if self.mode_of(name) in TRAINED_FROM_DOWNLOAD:
            return [f"{self.continued[name].dir}/final.npz"]
        return []

    def pretrained_args(self, name: str) -> str:
        if self.mode_of(name) in TRAINED_FROM_DOWNLOAD:
            return f"--pretrained {self.continued[name].dir}"
        return ""

    @cached_property
    def model_by_key(self) -> dict:
        """Download folder key -> name of every model reused by URL."""
        return {spec.dir.rsplit("/", 1)[1]: name for name, spec in self.continued.items()}

    def continued_at(self, key: str) -> Continued:
        """The model reused by URL that is downloaded to resources/models/{key}."""
        return self.continued[self.model_by_key[key]]

    @cached_property
    def upstream_models(self) -> list[str]:
        """The backward model and the teachers this run has. They only serve the student's
        training: with a reused distillation corpus there are none, and with the student
        used as downloaded only those downloaded as they are (mode use), as training them
        just to evaluate them would cost more than the rest of the run."""
        return [
            m
            for m in ["backward", *self.teachers]
            if not self.distillation_given
            and (not self.is_downloaded("student") or self.is_downloaded(m))
        ]

    @cached_property
    def trained_here(self) -> list[str]:
        """Models trained here (modes train, continue, init): Marian writes their logs here."""
        return [m for m in [*self.upstream_models, "student"] if not self.is_downloaded(m)] + (
            ["student-finetuned"] if self.student_final == "student-finetuned" else []
        )

    @cached_property
    def training_mode(self) -> dict:
        """How each model trained here starts: train, continue, init (from a download)."""
        modes = {m: self.mode_of(m) for m in self.trained_here if m != "student-finetuned"}
        modes["student-finetuned"] = "init from student"
        return modes

    @cached_property
    def eval_models(self) -> list[str]:
        """Every model the run has, and the teachers' ensemble: each evaluated on every
        test set."""
        ensemble = len(self.teachers) > 1 and set(self.teachers) <= set(self.upstream_models)
        return (
            self.upstream_models
            + (["teacher-ensemble"] if ensemble else [])
            + ["student"]
            + (["student-finetuned"] if self.student_final == "student-finetuned" else [])
            + (["student-quantized"] if self.quantize else [])
        )

    @property
    def quantized(self) -> str:
        return f"{self.paths.models}/student-quantized/model.intgemm8.bin"

    @property
    def exported_model(self) -> str:
        """The model the export copies: the quantized one, or the final student."""
        return self.quantized if self.quantize else self.model_file(self.student_final)

    def vocabs(self, direction: str) -> list[str]:
        """(source vocab, target vocab) for a model translating `direction`."""
        if direction == "forward":
            return [self.vocab.src, self.vocab.trg]
        return [self.vocab.trg, self.vocab.src]

    # --- corpora

    @property
    def distillation_given(self) -> bool:
        """The distillation corpus is reused by URL: no teachers, no data to translate."""
        return "distillation" in self.corpora

    @property
    def has_mono_src(self) -> bool:
        return bool(self.datasets["mono-src"])

    @property
    def has_backtranslations(self) -> bool:
        """Back-translations made here (of datasets.mono-trg) or reused by URL."""
        return bool(self.datasets["mono-trg"]) or "backtranslations" in self.corpora

    @cached_property
    def corpus_kinds(self) -> list[str]:
        """The corpora the run has: `snakemake corpora` builds (or downloads) them."""
        given = self.distillation_given
        return (
            ["parallel"] * (not given)
            + ["backtranslations"] * (self.has_backtranslations and not given)
            + ["distillation"]
        )

    def corpus_key(self, kind: str) -> str:
        spec = self.corpora[kind]
        return url_key(*(spec[k] for k in ("src", "trg", *TRIO) if k in spec))

    def corpus_dir(self, kind: str) -> str:
        """Where a corpus reused by URL is downloaded to."""
        return f"resources/corpora/{self.corpus_key(kind)}"

    def corpus_file(self, kind: str, lang: str) -> str:
        """A corpus (parallel, backtranslations, distillation): downloaded, or made here."""
        if kind in self.corpora:
            return f"{self.corpus_dir(kind)}/{kind}.{lang}.zst"
        return f"{self.paths.corpus}/{kind}.{lang}.zst"

    def alignments_file(self) -> str:
        """Guided alignments of the distillation corpus: downloaded with it, or computed."""
        if self.distillation_given and "alignments" in self.corpora["distillation"]:
            return f"{self.corpus_dir('distillation')}/distillation.aln.zst"
        return f"{self.paths.corpus}/distillation.aln.zst"

    def teacher_corpus(self, lang: str) -> str:
        """Teachers learn from the parallel corpus plus back-translations when there are."""
        if self.has_backtranslations:
            return f"{self.paths.corpus}/teacher.{lang}.zst"
        return self.corpus_file("parallel", lang)

    # --- datasets

    def downloaded(self, stem: str) -> bool:
        """A dataset an importer downloads (not toy_, not local_)."""
        return not self.stems[stem].startswith(("toy_", "local_"))

    @cached_property
    def download_parallel(self) -> list[str]:
        """Stems of the downloaded datasets used as parallel data: both languages are
        imported in one job."""
        kinds = ("train", "devtest", "test")
        parallel = sorted({s for k in kinds for s in stems_of(self.datasets[k])})
        return [s for s in parallel if self.downloaded(s)]

    @cached_property
    def download_mono(self) -> list[str]:
        """Stems of the downloaded datasets used only as monolingual data: one job per
        language."""
        kinds = ("train", "devtest", "test")
        parallel = {s for k in kinds for s in stems_of(self.datasets[k])}
        mono = stems_of(self.datasets["mono-src"] + self.datasets["mono-trg"])
        return sorted(s for s in set(mono) if self.downloaded(s) and s not in parallel)

    def mono_datasets(self, lang: str) -> list[str]:
        """Stems of the monolingual datasets of a language."""
        return stems_of(self.datasets["mono-src" if lang == self.src else "mono-trg"])

    def toy_files(self) -> list[str]:
        """What the toy corpus generator writes."""
        files = []
        for split in TOY_SPLITS:
            langs = {"mono-src": [self.src], "mono-trg": [self.trg]}.get(
                split, [self.src, self.trg]
            )
            files += [f"{self.paths.data}/toy/{split}.{lang}.zst" for lang in langs]
        return files

    def clean_parallel_files(self, names, lang: str) -> list[str]:
        return [f"{self.paths.data}/clean/{d}.{lang}.zst" for d in stems_of(names)]

    def clean_stats_files(self, split: str) -> list[str]:
        """The statistics of the datasets of one use (train, devtest, mono-src, mono-trg)."""
        data = self.paths.data
        if split in ("train", "devtest"):
            return [f"{data}/clean/{d}.stats.json" for d in stems_of(self.datasets[split])]
        lang = self.src if split == "mono-src" else self.trg
        return [f"{data}/clean/mono/{d}.{lang}.stats.json" for d in self.mono_datasets(lang)]

    # --- evaluation

    def eval_model_files(self, model: str) -> list[str]:
        """The files a model is evaluated with (the ensemble: every teacher)."""
        if model == "teacher-ensemble":
            return [self.model_file(t) for t in self.teachers]
        if model == "student-quantized":
            return [self.quantized]
        return [self.model_file(model)]

    def metrics_files(self) -> list[str]:
        tests = stems_of(self.datasets["test"])
        evaluation = self.paths.evaluation
        files = [f"{evaluation}/{m}/{d}.json" for m in self.eval_models for d in tests]
        return files + [f"{evaluation}/baseline-copy/{d}.json" for d in tests]

    # --- what of the data the run makes or uses (the report asks for nothing else)

    @property
    def student_trained(self) -> bool:
        return "student" in self.trained_here

    @property
    def teachers_trained(self) -> bool:
        return any(t in self.trained_here for t in self.teachers)

    @property
    def makes_distillation(self) -> bool:
        return self.student_trained and not self.distillation_given

    @property
    def uses_parallel(self) -> bool:
        """The parallel corpus serves a training here (directly or through distillation)."""
        return not self.distillation_given and (
            self.teachers_trained or "backward" in self.trained_here or self.makes_distillation
        )

    @property
    def uses_backtranslations(self) -> bool:
        return self.teachers_trained and self.has_backtranslations

    @property
    def makes_backtranslations(self) -> bool:
        return self.uses_backtranslations and bool(self.datasets["mono-trg"])

    @property
    def uses_mono_src(self) -> bool:
        return self.makes_distillation and self.has_mono_src

    @property
    def uses_devset(self) -> bool:
        return bool(self.trained_here)

    @cached_property
    def data_stats(self) -> list[tuple[str, str]]:
        """(use, statistics file) of every dataset cleaned for this run."""
        data, datasets = self.paths.data, self.datasets
        found = []
        if self.uses_parallel and "parallel" not in self.corpora:
            found += [
                ("train", f"{data}/clean/{d}.stats.json") for d in stems_of(datasets["train"])
            ]
        if self.uses_devset:
            train = stems_of(datasets["train"])
            found += [
                ("devtest", f"{data}/clean/{d}.stats.json")
                for d in stems_of(datasets["devtest"])
                if d not in train
            ]
        if self.uses_mono_src:
            found += [
                ("mono-src", f"{data}/clean/mono/{d}.{self.src}.stats.json")
                for d in stems_of(datasets["mono-src"])
            ]
        if self.makes_backtranslations:
            found += [
                ("mono-trg", f"{data}/clean/mono/{d}.{self.trg}.stats.json")
                for d in stems_of(datasets["mono-trg"])
            ]
        return found

    @cached_property
    def data_corpora(self) -> list[tuple[str, str]]:
        """(name, source side) of every corpus the run makes or uses: their lines are counted."""
        src, corpus = self.src, self.paths.corpus
        found = []
        if self.uses_parallel:
            found.append(("parallel", self.corpus_file("parallel", src)))
        if self.uses_backtranslations:
            found.append(("backtranslations", self.corpus_file("backtranslations", src)))
            found.append(("teacher", f"{corpus}/teacher.{src}.zst"))
        if self.uses_mono_src:
            found.append((f"mono.{src}", f"{corpus}/mono.{src}.zst"))
        if self.makes_backtranslations:
            found.append((f"mono.{self.trg}", f"{corpus}/mono.{self.trg}.zst"))
        if self.uses_devset:
            found.append(("devset", f"{corpus}/devset.{src}.zst"))
        if self.student_trained:
            found.append(("distillation", self.corpus_file("distillation", src)))
        return found

    @property
    def distill_filter(self) -> list[str]:
        """The distillation filter's statistics, when the filter runs here."""
        return [f"{self.paths.corpus}/distillation.filter.json"] if self.makes_distillation else []

    # --- provenance (the export's model.json, the report)

    @cached_property
    def provenance(self) -> dict:
        """Where each model came from: the upstream models and the student -> {url, mode},
        or "trained"."""
        return {
            n: (
                {"url": self.continued[n].url, "mode": self.mode_of(n)}
                if n in self.continued
                else "trained"
            )
            for n in [*self.upstream_models, "student"]
        }

    @cached_property
    def provenance_inputs(self) -> dict:
        """The vocab and the corpora: their URLs (checksums left out), or made here."""
        vocab = self.vocab
        if not vocab.src_url:
            found = {"vocab": "trained here"}
        elif vocab.src_url == vocab.trg_url:
            found = {"vocab": {"joint": vocab.src_url}}
        else:
            found = {"vocab": {"src": vocab.src_url, "trg": vocab.trg_url}}
        for kind in self.corpus_kinds:
            found[f"{kind} corpus"] = (
                {k: v for k, v in self.corpora[kind].items() if k != "sha256"}
                if kind in self.corpora
                else "made here"
            )
        return found

    @cached_property
    def derived_models(self) -> dict:
        """The models made here from other models, and how."""
        derived = {}
        if self.student_final == "student-finetuned":
            derived["student-finetuned"] = {"origin": "finetuned here from student"}
        if self.quantize:
            derived["student-quantized"] = {
                "origin": f"converted here from {self.student_final} (intgemm8)"
            }
        return derived


# --- checks, in the order make_plan runs them --------------------------------------------


def _check_url(key: str, url: str) -> None:
    try:
        resolve(url)
    except DownloadError as error:
        raise ContinuationError(f"continuation.{key}: {error}") from None


def continued_models(models: dict, n_teachers: int) -> dict:
    """name -> Continued of every model reused by URL (config continuation.models)."""
    if "teacher" in models and "teachers" in models:
        raise ContinuationError(
            "continuation.models has both `teacher` and `teachers`: they are two spellings "
            "of the same setting, keep one"
        )
    found = {}
    ensemble_key = "teachers" if "teachers" in models else "teacher"
    ensemble = models.get(ensemble_key)
    if ensemble:
        urls = ensemble["urls"]
        if len(urls) != n_teachers:
            raise ContinuationError(
                f"continuation.models.{ensemble_key}.urls lists {len(urls)} URL(s) but "
                f"experiment.teacher-ensemble is {n_teachers}: give one URL per ensemble "
                "member or change teacher-ensemble"
            )
        sums = ensemble.get("sha256") or [None] * len(urls)
        if len(sums) != len(urls):
            raise ContinuationError(
                f"continuation.models.{ensemble_key}.sha256 needs one checksum per URL"
            )
        for i, (url, sha) in enumerate(zip(urls, sums)):
            _check_url(f"models.{ensemble_key}.urls[{i}]", url)
            found[f"teacher{i}"] = (url, ensemble["mode"], sha)
    for key, name in (("backwards", "backward"), ("student", "student")):
        if key in models:
            spec = models[key]
            _check_url(f"models.{key}.url", spec["url"])
            found[name] = (spec["url"], spec["mode"], spec.get("sha256"))
    # One model twice, however its URL is written (x, ./x, x/, file:///abs/x).
    keys = {f"teacher{i}": f"models.{ensemble_key}.urls[{i}]" for i in range(n_teachers)}
    keys |= {"backward": "models.backwards.url", "student": "models.student.url"}
    checks.check_model_urls([(keys[n], url) for n, (url, _, _) in found.items()])
    return {
        name: Continued(url, mode, sha, f"resources/models/{url_key(url)}")
        for name, (url, mode, sha) in found.items()
    }


def check_continuation(cont: dict, datasets: dict, continued: dict) -> None:
    """Settings that parse but could not work: stop before any job runs."""
    vocab = cont.get("vocab")
    corpora = cont.get("corpora", {})
    models = cont.get("models", {})
    for kind, spec in corpora.items():
        given = [k for k in TRIO if k in spec]
        if given and len(given) != len(TRIO):
            missing = [k for k in TRIO if k not in spec]
            raise ContinuationError(
                f"continuation.corpora.{kind} has {', '.join(given)} but not "
                f"{', '.join(missing)}: tok-src, tok-trg and alignments come all three or none"
            )
        for key in ("src", "trg", *given):
            _check_url(f"corpora.{kind}.{key}", spec[key])
    if vocab:
        for side in ("src", "trg"):
            _check_url(f"vocab.{side}", vocab[side])
    if "parallel" in corpora and datasets["train"]:
        raise ContinuationError(
            "continuation.corpora.parallel replaces the training datasets, but "
            f"datasets.train lists {', '.join(datasets['train'])}: remove one of them"
        )
    if "backtranslations" in corpora and datasets["mono-trg"]:
        raise ContinuationError(
            "continuation.corpora.backtranslations replaces back-translating datasets.mono-trg "
            f"({', '.join(datasets['mono-trg'])}): remove one of them"
        )
    if "distillation" in corpora:
        if not vocab:
            raise ContinuationError(
                "continuation.corpora.distillation needs continuation.vocab: the student must "
                "use the vocab the distillation corpus was made with"
            )
        replaced = [f"datasets.{k}" for k in ("train", "mono-src", "mono-trg") if datasets[k]]
        replaced += [
            f"continuation.corpora.{k}" for k in ("parallel", "backtranslations") if k in corpora
        ]
        replaced += [
            f"continuation.models.{k}" for k in ("teacher", "teachers", "backwards") if k in models
        ]
        if replaced:
            raise ContinuationError(
                "continuation.corpora.distillation replaces the teachers and the data they "
                f"translate, so {', '.join(replaced)} would not be used: remove them"
            )
    elif not datasets["train"] and "parallel" not in corpora:
        raise ContinuationError(
            "no training data: list datasets.train or set continuation.corpora.parallel "
            "(or continuation.corpora.distillation to train only a student)"
        )
    if continued and not vocab:
        raise ContinuationError(
            f"continuation.models ({', '.join(continued)}) needs continuation.vocab: a model "
            "only works with the vocab it was trained with"
        )


def dataset_stems(datasets: dict, src: str, trg: str) -> dict:
    """stem -> name of every configured dataset. Names never reach a path or a shell
    command raw: each maps to a file stem, the {dataset} wildcard."""
    try:  # every import command carries the mirrors: no user:password@ in them
        check_mirrors(datasets.get("mirrors"))
    except ImporterError as error:
        raise ValueError(f"config {error}") from None
    found = {}
    for kind in DATASET_KINDS:
        langs = {"mono-src": [src], "mono-trg": [trg]}.get(kind, [src, trg])
        for name in datasets[kind]:
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


def check_langid(langid: str, src: str, trg: str) -> None:
    if langid == "on":
        for key, lang in (("src", src), ("trg", trg)):
            if langid_code(lang) is None:
                raise ValueError(
                    f"config cleaning.langid is true but py3langid does not know "
                    f"experiment.{key} '{lang}': set cleaning.langid to auto (on only for "
                    "the languages it knows) or false"
                )


def make_plan(config: dict) -> Plan:
    """The plan of a validated config (schema defaults set). Raises ContinuationError,
    ConfigError or ValueError, naming the config key, for settings that cannot work."""
    experiment = config["experiment"]
    exp, src, trg = experiment["name"], experiment["src"], experiment["trg"]
    # Not the same language however written (en/eng, zh_Hant/zh_hant), and no code that
    # is also a file name (distillation.aln.zst).
    checks.check_languages(src, trg)
    datasets = config["datasets"]
    n_teachers = experiment["teacher-ensemble"]
    # Continuation: artifacts reused by URL are downloaded under resources/, keyed by URL
    # (experiments share them); the rules that would have made them drop out of the DAG.
    cont = config["continuation"]
    continued = continued_models(cont.get("models", {}), n_teachers)
    check_continuation(cont, datasets, continued)
    # A student used as downloaded is not trained, so it cannot be fine-tuned: say so.
    checks.check_student_mode(
        continued["student"].mode if "student" in continued else None,
        experiment["finetune-student"],
    )
    paths = Paths.of(exp)
    given = cont.get("vocab")
    if given:  # the same URL twice is a joint vocab
        sums = given.get("sha256") or {}
        vocab = Vocab(
            src=f"resources/vocab/{url_key(given['src'])}/vocab.spm",
            trg=f"resources/vocab/{url_key(given['trg'])}/vocab.spm",
            src_url=given["src"],
            trg_url=given["trg"],
            src_sha256=sums.get("src"),
            trg_sha256=sums.get("trg"),
        )
    elif experiment["spm-vocab-split"]:
        vocab = Vocab(f"{paths.vocab}/vocab.{src}.spm", f"{paths.vocab}/vocab.{trg}.spm")
    else:
        vocab = Vocab(f"{paths.vocab}/vocab.spm", f"{paths.vocab}/vocab.spm")
    stems = dataset_stems(datasets, src, trg)
    # No test set among the training or validation data (by file stem: one dataset, one stem).
    checks.check_dataset_overlap(datasets, dataset_stem)
    cleaning = config["cleaning"]
    clean = f"{paths.data}/clean"
    langid = {True: "on", False: "off", "auto": "auto"}[cleaning["langid"]]
    check_langid(langid, src, trg)
    return Plan(
        exp=exp,
        src=src,
        trg=trg,
        paths=paths,
        config_sha256=config_sha256(config),
        datasets=datasets,
        stems=stems,
        teachers=tuple(f"teacher{i}" for i in range(n_teachers)),
        continued=continued,
        student_final="student-finetuned" if experiment["finetune-student"] else "student",
        quantize=experiment["quantize"],
        vocab=vocab,
        corpora=dict(cont.get("corpora", {})),
        langid=langid,
        uses_langid=langid != "off" and any(langid_code(lang) for lang in (src, trg)),
        # With the neural filter on, bicleaner reads the rule-based cleaning's output and
        # writes {data}/clean/, which the merges and the report read.
        clean_rules=f"{paths.data}/clean-rules" if cleaning["bicleaner"]["enabled"] else clean,
    )
