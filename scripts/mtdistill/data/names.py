"""Dataset names (stdlib only: pure, used while Snakemake builds its DAG).

Names, as MT pipelines spell them (see config/README.md):
  toy_{name}, local_{name}    a generated toy corpus, a file in datasets.local-dir
  opus_{corpus}/{version}     an OPUS moses zip
  mtdata_{id}                 an mtdata index entry (e.g. Statmt-news_commentary-16-deu-eng)
  sacrebleu_{test set}        a sacrebleu test set (e.g. wmt19), for the pairs it has
  flores_{dev|devtest}        FLORES-200
  news-crawl_news.{year}      a WMT news-crawl year
  url_{URL}                   any URL with [LANG] standing for the language

split_name, check_name, dataset_stem, check_dataset and check_mirrors read nothing but
their arguments (check_dataset of a sacrebleu_ name reads sacrebleu's dataset index).
mtdistill.data.importers downloads and reads the datasets.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from mtdistill.common import urls
from mtdistill.common.errors import ImporterError

IMPORTERS = ("toy", "local", "opus", "mtdata", "sacrebleu", "flores", "news-crawl", "url")
# Importers downloading from a configurable base URL, and their defaults. mtdata and
# sacrebleu take their URLs from the libraries' indexes; a mirror for them holds each file
# at {mirror}/{host}/{path} of its original URL.
MIRRORS = {
    "opus": "https://object.pouta.csc.fi",
    "flores": "https://dl.fbaipublicfiles.com/nllb",
    "news-crawl": "https://data.statmt.org",
    "mtdata": None,
    "sacrebleu": None,
}
# Characters no dataset name may hold (shell and quoting metacharacters, whitespace).
FORBIDDEN = re.compile(r"[\s'\"`;$|&<>\\]")
STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

# FLORES-200 codes of common languages, by ISO 639-1 and 639-3 code.
FLORES_CODES = {
    "af": "afr_Latn", "am": "amh_Ethi", "ar": "arb_Arab", "az": "azj_Latn", "be": "bel_Cyrl",
    "bg": "bul_Cyrl", "bn": "ben_Beng", "bs": "bos_Latn", "ca": "cat_Latn", "cs": "ces_Latn",
    "cy": "cym_Latn", "da": "dan_Latn", "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn",
    "es": "spa_Latn", "et": "est_Latn", "eu": "eus_Latn", "fa": "pes_Arab", "fi": "fin_Latn",
    "fr": "fra_Latn", "ga": "gle_Latn", "gl": "glg_Latn", "gu": "guj_Gujr", "he": "heb_Hebr",
    "hi": "hin_Deva", "hr": "hrv_Latn", "hu": "hun_Latn", "hy": "hye_Armn", "id": "ind_Latn",
    "is": "isl_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "ka": "kat_Geor", "kk": "kaz_Cyrl",
    "km": "khm_Khmr", "kn": "kan_Knda", "ko": "kor_Hang", "ky": "kir_Cyrl", "lt": "lit_Latn",
    "lv": "lvs_Latn", "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mn": "khk_Cyrl", "mr": "mar_Deva",
    "ms": "zsm_Latn", "mt": "mlt_Latn", "my": "mya_Mymr", "nb": "nob_Latn", "ne": "npi_Deva",
    "nl": "nld_Latn", "nn": "nno_Latn", "no": "nob_Latn", "pa": "pan_Guru", "pl": "pol_Latn",
    "ps": "pbt_Arab", "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "si": "sin_Sinh",
    "sk": "slk_Latn", "sl": "slv_Latn", "sq": "als_Latn", "sr": "srp_Cyrl", "sv": "swe_Latn",
    "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "tg": "tgk_Cyrl", "th": "tha_Thai",
    "tl": "tgl_Latn", "tr": "tur_Latn", "uk": "ukr_Cyrl", "ur": "urd_Arab", "uz": "uzn_Latn",
    "vi": "vie_Latn", "zh": "zho_Hans", "zh_hans": "zho_Hans", "zh_hant": "zho_Hant",
    "zh_tw": "zho_Hant", "zh_cn": "zho_Hans", "pt_br": "por_Latn",
}
FLORES_CODES |= {code.split("_")[0]: code for code in set(FLORES_CODES.values())}
FLORES_SPLITS = ("dev", "devtest")



def split_name(name: str) -> tuple[str, str]:
    """(importer, rest) of a dataset name: 'opus_ELRC-3075/v1' -> ('opus', 'ELRC-3075/v1')."""
    for importer in IMPORTERS:
        if name.startswith(importer + "_") and len(name) > len(importer) + 1:
            return importer, name[len(importer) + 1:]
    raise ImporterError(
        f"dataset {name!r}: unknown importer prefix: use one of "
        + ", ".join(f"{i}_" for i in IMPORTERS)
    )


def check_name(name: str) -> None:
    """The checks the config schema also makes, for callers that bypass it."""
    if FORBIDDEN.search(name):
        raise ImporterError(f"dataset {name!r}: whitespace, quotes and shell metacharacters "
                            "are not allowed in dataset names")
    if ".." in name.split("/"):
        raise ImporterError(f"dataset {name!r}: a '..' path component is not allowed")
    split_name(name)


def dataset_stem(name: str) -> str:
    """A file stem for a dataset name, safe in paths and shell commands.

    toy_/local_ names are their own stems; other names get every character outside
    [A-Za-z0-9_.-] replaced by '_'; url_ names become url_{sha256 of the URL}_{tail}.
    """
    importer, rest = split_name(name)
    if importer == "url":
        digest = hashlib.sha256(rest.encode("utf-8")).hexdigest()[:12]
        try:
            path = urlsplit(rest).path
        except ValueError:  # not a URL ("http://[bad/"): check_dataset says so, by name
            path = re.split(r"[?#]", rest, maxsplit=1)[0]
        tail = path.rsplit("/", 1)[-1].replace("[LANG]", "LANG")
        tail = re.sub(r"\.(zst|gz)$", "", tail)
        tail = re.sub(r"[^A-Za-z0-9_.-]+", "_", tail).strip("._-")[:40]
        return f"url_{digest}" + (f"_{tail}" if tail else "")
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    stem = re.sub(r"\.{2,}", "_", stem)  # no '..' even inside a stem
    if not STEM.fullmatch(stem):
        raise ImporterError(f"dataset {name!r} gives no usable file name")
    return stem


def flores_code(lang: str, name: str = "flores") -> str:
    if re.fullmatch(r"[a-z]{3}_[A-Z][a-z]{3}", lang):
        return lang  # already a FLORES-200 code
    code = FLORES_CODES.get(lang.lower())
    if not code:
        raise ImporterError(
            f"dataset {name}: no FLORES-200 code known for language {lang!r}: use the FLORES "
            "code itself (like eng_Latn) as the language, or import the files with url_ "
            "or local_"
        )
    return code


def sacrebleu_pairs(testset: str, name: str) -> dict:
    from sacrebleu.dataset import DATASETS

    if testset not in DATASETS:
        raise ImporterError(f"dataset {name}: sacrebleu has no test set {testset!r}; it has "
                            + ", ".join(sorted(DATASETS)))
    return DATASETS[testset].langpairs


def sacrebleu_direction(testset: str, langs: list[str], name: str) -> tuple[str, bool]:
    """(sacrebleu language pair, whether its sides are swapped) for langs."""
    pairs = sacrebleu_pairs(testset, name)
    if len(langs) == 2:
        forward, backward = f"{langs[0]}-{langs[1]}", f"{langs[1]}-{langs[0]}"
        if forward in pairs:
            return forward, False
        if backward in pairs:
            return backward, True
    else:  # one side of any pair holding the language
        for pair in pairs:
            left, right = pair.split("-", 1)
            if langs[0] in (left, right):
                return pair, langs[0] == right
    raise ImporterError(
        f"dataset {name}: sacrebleu test set {testset} has no {'-'.join(langs)} data; its "
        f"pairs are {', '.join(sorted(pairs))}"
    )


def check_dataset(name: str, langs: list[str]) -> None:
    """Raise ImporterError for a dataset that cannot give `langs` (1 = mono, 2 = parallel)."""
    check_name(name)
    importer, rest = split_name(name)
    if importer == "news-crawl":
        if len(langs) != 1:
            raise ImporterError(f"dataset {name}: news-crawl is monolingual: list it under "
                                "datasets.mono-src or datasets.mono-trg")
        if not re.fullmatch(r"news\.\d{4}", rest):
            raise ImporterError(f"dataset {name}: expected news-crawl_news.YEAR, like "
                                "news-crawl_news.2021")
    elif importer == "flores":
        if rest not in FLORES_SPLITS:
            raise ImporterError(f"dataset {name}: FLORES-200 splits are flores_dev and "
                                "flores_devtest")
        for lang in langs:
            flores_code(lang, name)
    elif importer == "sacrebleu":
        sacrebleu_direction(rest, langs, name)
    elif importer == "opus":
        if not re.fullmatch(r"[^/]+/[^/]+", rest):
            raise ImporterError(f"dataset {name}: expected opus_CORPUS/VERSION, like "
                                "opus_ELRC-3075/v1")
        if len(langs) != 2:
            raise ImporterError(f"dataset {name}: OPUS moses downloads are per language pair: "
                                "list it under datasets.train (or use url_ with the file of "
                                "one language as monolingual data)")
    elif importer == "mtdata":
        parts = rest.split("-")
        if len(parts) not in (4, 5) or not all(parts):
            raise ImporterError(f"dataset {name}: expected mtdata_GROUP-NAME-VERSION-L1[-L2], "
                                "like mtdata_Statmt-news_commentary-16-deu-eng "
                                "(see `mtdata list`)")
    elif importer == "url":
        try:
            urls.resolve(rest)
        except urls.DownloadError as err:
            # The error's own text already hides credentials; the name must not repeat them.
            raise ImporterError(f"dataset url_{urls.redact(rest)}: {err}") from None
        if len(langs) == 2 and "[LANG]" not in rest:
            raise ImporterError(f"dataset {name}: a parallel url_ dataset needs [LANG] in the "
                                "URL, standing for each language code")


def check_mirrors(mirrors: dict | None) -> None:
    """Refuse mirrors (datasets.mirrors) that cannot be used or would leak: user:password@
    would be printed with every import command (Snakemake shows them) and logged."""
    for importer, url in (mirrors or {}).items():
        if importer not in MIRRORS:
            raise ImporterError(f"datasets.mirrors.{importer}: no importer {importer!r}; "
                                f"mirrors are for {', '.join(MIRRORS)}")
        try:
            urls.resolve(url)
        except urls.DownloadError as err:  # its text already hides credentials
            raise ImporterError(f"datasets.mirrors.{importer}: {err}") from None
