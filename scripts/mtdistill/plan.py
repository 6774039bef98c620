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
import re
import shlex
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
# An OPUS-MT target-language label as its README writes it (>>fin<<, >>zho_Hans<<): it
# reaches a shell command (quoted) and every source line.
TARGET_TOKEN = re.compile(r">>[a-z]{2,3}(_[A-Za-z0-9]{2,8}){0,2}<<")


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
    # default: a Marian model of this experiment's vocab. opusmt: an OPUS-MT release that
    # keeps its own vocab and pre/post-processing (source.spm, target.spm, vocab.yml in
    # `dir`), translating text to text; used as it is only.
    type: str = "default"
    target_token: str | None = None  # e.g. >>fin<<, prepended to every source line (opusmt)

    @property
    def foreign(self) -> bool:
        """Brings its own vocab: never checked against nor trained with the experiment's."""
        return self.type == "opusmt"


@dataclass(frozen=True)
class Vocab:
    """The SentencePiece vocab files; the URLs (and checksums) they are downloaded from when
    reused by URL (config continuation.vocab), or the reused model whose directory provides
    them (`model`, see vocab_provider). The same file on both sides is a joint vocab; from a
    model directory there are always two files, and identical content there means joint
    (decided by the jobs that read them, as the plan reads no file)."""

    src: str
    trg: str
    src_url: str | None = None
    trg_url: str | None = None
    src_sha256: str | None = None
    trg_sha256: str | None = None
    model: str | None = None  # the name of the model whose directory provides the vocab
    model_url: str | None = None

    @property
    def files(self) -> list[str]:
        return sorted({self.src, self.trg})

    @property
    def model_key(self) -> str | None:
        """Download folder key of the model directory that provides the vocab."""
        return url_key(self.model_url) if self.model_url else None

    @property
    def origin(self) -> str:
        """Where the vocab comes from, for errors at download time: URL(s), or 'trained here'."""
        if self.model_url:
            return self.model_url
        if self.src_url == self.trg_url:
            return self.src_url or "trained here"
        return f"{self.src_url} and {self.trg_url}"

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
    datasets: dict  # config `datasets` less what reused corpora replace (replaced_by_corpora)
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
    # What the config asks for that this run leaves aside (rules/common.smk prints them).
    warnings: tuple[str, ...] = ()

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

    def spec_of(self, name: str) -> Continued | None:
        """The download a model is, if it is one (the teachers' ensemble: its members', who
        share one type)."""
        return self.continued.get(self.teachers[0] if name == "teacher-ensemble" else name)

    def is_foreign(self, name: str) -> bool:
        """A model with its own vocab and preprocessing (type opusmt): translates text."""
        spec = self.spec_of(name)
        return bool(spec and spec.foreign)

    def model_vocab_files(self, name: str) -> list[str]:
        """What a model translates or scores with besides its weights: the experiment's
        vocabs (source, target of its direction), or a foreign model's own (OPUS-MT: its
        two SentencePiece models and its Marian YAML vocab)."""
        if self.is_foreign(name):
            folder = self.spec_of(name).dir
            return [f"{folder}/source.spm", f"{folder}/target.spm", f"{folder}/vocab.yml"]
        return self.vocabs("backward" if name == "backward" else "forward")

    def model_langs(self, name: str) -> tuple[str, str]:
        """(source, target) language of a model: they name the vocab.{lang}.spm files its
        directory ships. The backward model translates trg -> src."""
        return (self.trg, self.src) if name == "backward" else (self.src, self.trg)

    def model_vocab_args(self, name: str) -> str:
        """translate.py's and score.py's arguments naming those files."""
        files = self.model_vocab_files(name)
        if not self.is_foreign(name):
            return "--vocabs " + " ".join(files)
        token = self.spec_of(name).target_token
        return (
            f"--model-type opusmt --spm-src {files[0]} --spm-trg {files[1]}"
            f" --vocab-yml {files[2]}"
            + (f" --target-token {shlex.quote(token)}" if token else "")
        )

    def download_keys(self, foreign: bool) -> list[str]:
        """Download folder keys of the models reused by URL of one kind: Marian model
        directories (download_model) or foreign releases (download_opusmt)."""
        return [k for k, n in self.model_by_key.items() if self.continued[n].foreign == foreign]

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
        """Guided alignments of the distillation corpus, in piece positions of this run's
        vocab: computed here, or checked and converted from a downloaded trio (trio_kinds)."""
        return f"{self.paths.corpus}/distillation.aln.zst"

    @property
    def trio_kinds(self) -> list[str]:
        """The corpora of this run downloaded with a trio (tok-src, tok-trg, alignments):
        each is checked against its corpus and the vocab (mtdistill.distill.trio)."""
        return [k for k in self.corpus_kinds if k in self.corpora and "alignments" in self.corpora[k]]

    def trio_file(self, kind: str, part: str) -> str:
        """A downloaded trio's file: part tok-{lang} or aln."""
        return f"{self.corpus_dir(kind)}/{kind}.{part}.zst"

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
                | ({"type": self.continued[n].type} if self.is_foreign(n) else {})
                if n in self.continued
                else "trained"
            )
            for n in [*self.upstream_models, "student"]
        }

    @cached_property
    def provenance_inputs(self) -> dict:
        """The vocab and the corpora: their URLs (checksums left out), or made here."""
        vocab = self.vocab
        if vocab.model_url:
            found = {"vocab": {"model directory": vocab.model_url}}
        elif not vocab.src_url:
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
            kind = _model_type(ensemble_key, ensemble)
            found[f"teacher{i}"] = (url, ensemble["mode"], sha, *kind)
    for key, name in (("backwards", "backward"), ("student", "student")):
        if key in models:
            spec = models[key]
            _check_url(f"models.{key}.url", spec["url"])
            found[name] = (spec["url"], spec["mode"], spec.get("sha256"), *_model_type(key, spec))
    _check_foreign_ensemble(ensemble_key, [found[f"teacher{i}"][3] for i in range(n_teachers)]
                            if ensemble else [])
    # One model twice, however its URL is written (x, ./x, x/, file:///abs/x).
    keys = {f"teacher{i}": f"models.{ensemble_key}.urls[{i}]" for i in range(n_teachers)}
    keys |= {"backward": "models.backwards.url", "student": "models.student.url"}
    checks.check_model_urls([(keys[n], found[n][0]) for n in found])
    return {
        name: Continued(url, mode, sha, f"resources/models/{url_key(url)}", kind, token)
        for name, (url, mode, sha, kind, token) in found.items()
    }


def _model_type(key: str, spec: dict) -> tuple[str, str | None]:
    """(type, target token) of continuation.models.{key}, checked."""
    kind, token = spec.get("type", "default"), spec.get("target-token")
    where = f"continuation.models.{key}"
    if kind == "opusmt" and key == "student":
        raise ContinuationError(
            f"{where}.type opusmt: the student is trained, exported and evaluated with the "
            "experiment's vocab, so it cannot be a foreign model; use an OPUS-MT model as "
            "teacher or backward model, or set type: default"
        )
    if kind == "opusmt" and spec["mode"] != "use":
        raise ContinuationError(
            f"{where}: type opusmt works with mode use only (mode is {spec['mode']}): an "
            "OPUS-MT model keeps its own vocab and preprocessing, while continue and init "
            "train with the experiment's vocab; set mode: use, or train the model here"
        )
    if token is not None:
        if kind != "opusmt":
            raise ContinuationError(
                f"{where}.target-token is only read for type opusmt (a multilingual OPUS-MT "
                "model); remove it or set type: opusmt"
            )
        if not TARGET_TOKEN.fullmatch(token):
            raise ContinuationError(
                f"{where}.target-token {token!r} is not a target-language token: write it "
                "as in the model's README, e.g. >>fin<< or >>zho_Hans<<"
            )
    return kind, token


def _check_foreign_ensemble(key: str, kinds: list[str]) -> None:
    """One Marian ensemble decodes with one vocab: a foreign model cannot join one."""
    if len(kinds) > 1 and "opusmt" in kinds:
        raise ContinuationError(
            f"continuation.models.{key}: an ensemble of {len(kinds)} teachers with type "
            "opusmt cannot be decoded: each OPUS-MT model has its own vocab, and a Marian "
            "ensemble needs one vocab for all members; set experiment.teacher-ensemble: 1 "
            "with one URL, or use teachers of one vocab (type default)"
        )


def vocab_provider(continued: dict) -> str:
    """The model whose directory provides the vocab when continuation.vocab is not set: the
    first reused model in the order teacher0..N-1, backward, student. Settled without
    reading a file (downloads never run while the DAG is built): that model's download
    writes vocab.{src}.spm and vocab.{trg}.spm; every other model directory that ships a
    vocab is checked against them when it is downloaded."""
    order = [n for n in continued if n.startswith("teacher")] + ["backward", "student"]
    # A foreign model (type opusmt) keeps its own vocab: it never provides the experiment's.
    return next(n for n in order if n in continued and not continued[n].foreign)


def _names(names: list[str], most: int = 4) -> str:
    """A list of dataset names for a message, cut short (upstream configs list dozens)."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def replaced_by_corpora(datasets: dict, cont: dict) -> tuple[dict, dict, tuple[str, ...]]:
    """(datasets, continuation, warnings): the settings a reused corpus replaces, dropped.

    Upstream (mozilla/translations) accepts a continuation block on top of a full config (its
    own continuation test does that), so this is a warning, not an error; and what would go
    unused is not imported: the datasets' stems and the models' downloads leave the DAG. A
    parallel corpus replaces datasets.train, back-translations datasets.mono-trg; a
    distillation corpus the teachers and everything they learn from or translate. devtest and
    test stay (validation and evaluation)."""
    datasets = dict(datasets)
    cont = {**cont, "corpora": dict(cont.get("corpora", {})), "models": dict(cont.get("models", {}))}
    corpora, models = cont["corpora"], cont["models"]
    warnings = []

    def drop_datasets(kinds):
        found = [f"datasets.{k} ({_names(datasets[k])})" for k in kinds if datasets[k]]
        for kind in kinds:
            datasets[kind] = []
        return found

    if "distillation" in corpora:
        dropped = drop_datasets(("train", "mono-src", "mono-trg"))
        dropped += [f"continuation.corpora.{k}" for k in ("parallel", "backtranslations")
                    if corpora.pop(k, None)]
        dropped += [f"continuation.models.{k}" for k in ("teacher", "teachers", "backwards")
                    if models.pop(k, None)]
        if dropped:
            warnings.append(
                "continuation.corpora.distillation replaces the teachers, the backward model and "
                f"the data they learn from or translate: {'; '.join(dropped)} not used, nothing "
                "of it is imported or downloaded (datasets.devtest and datasets.test still are)"
            )
    for kind, key, what in (("parallel", "train", "the training datasets"),
                            ("backtranslations", "mono-trg", "back-translating")):
        if kind in corpora and datasets[key]:
            (dropped,) = drop_datasets((key,))
            warnings.append(
                f"continuation.corpora.{kind} replaces {what}: {dropped} not used and not "
                "imported"
            )
    if not models:
        del cont["models"]
    if not corpora:
        del cont["corpora"]
    return datasets, cont, tuple(warnings)


def check_continuation(cont: dict, datasets: dict, continued: dict) -> None:
    """Settings that parse but could not work: stop before any job runs."""
    vocab = cont.get("vocab")
    corpora = cont.get("corpora", {})
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
    # What a reused corpus replaces was dropped before (replaced_by_corpora), with a warning.
    if "distillation" in corpora:
        if not vocab and not continued:
            raise ContinuationError(
                "continuation.corpora.distillation needs continuation.vocab (or a model in "
                "continuation.models, whose directory provides it): the student must use the "
                "vocab the distillation corpus was made with"
            )
    elif not datasets["train"] and "parallel" not in corpora:
        raise ContinuationError(
            "no training data: list datasets.train or set continuation.corpora.parallel "
            "(or continuation.corpora.distillation to train only a student)"
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
    n_teachers = experiment["teacher-ensemble"]
    # Continuation: artifacts reused by URL are downloaded under resources/, keyed by URL
    # (experiments share them); the rules that would have made them drop out of the DAG.
    # What a reused corpus replaces is dropped here, with a warning (the plan's datasets are
    # the effective ones: the rules read them, not config["datasets"]).
    datasets, cont, warnings = replaced_by_corpora(config["datasets"], config["continuation"])
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
    elif any(not spec.foreign for spec in continued.values()):
        # The vocab travels with the models, as upstream takes it.
        name = vocab_provider(continued)
        spec = continued[name]
        vocab = Vocab(
            src=f"{spec.dir}/vocab.{src}.spm",
            trg=f"{spec.dir}/vocab.{trg}.spm",
            model=name,
            model_url=spec.url,
        )
    elif experiment["spm-vocab-split"]:
        vocab = Vocab(f"{paths.vocab}/vocab.{src}.spm", f"{paths.vocab}/vocab.{trg}.spm")
    else:
        vocab = Vocab(f"{paths.vocab}/vocab.spm", f"{paths.vocab}/vocab.spm")
    stems = dataset_stems(datasets, src, trg)
    # Toy data (generated gibberish) never reaches a real language pair.
    checks.check_toy_datasets(datasets, src, trg)
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
        warnings=warnings,
    )
