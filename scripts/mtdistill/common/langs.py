"""Facts about languages, by code (stdlib only: also used while Snakemake builds its DAG).

One table per fact: which codes name the same language (ISO_639_1, language_identity),
the scripts a language is written in (SCRIPTS_OF, SCRIPT_RANGES), languages written
without spaces (CHARS_PER_WORD), the languages py3langid knows (LANGID_LANGUAGES). The
tables are keyed by ISO 639-1 code where there is one; base_language maps any spelling
(`eng`, `zh_Hant`) to that key.
"""

from __future__ import annotations

# ISO 639-3 (and 639-2/B) codes of the languages with an ISO 639-1 code that the workflow's
# tables know (below, and FLORES codes in mtdistill.data.names), so that `en` and
# `eng` are recognised as one language. Individual-language codes FLORES uses (arb, pes,
# zsm...) map to their macrolanguage's code.
ISO_639_1 = {
    three: two
    for two, threes in {
        "af": "afr", "am": "amh", "an": "arg", "ar": "ara arb", "as": "asm", "az": "aze azj azb",
        "ba": "bak", "be": "bel", "bg": "bul", "bn": "ben", "bo": "bod tib", "br": "bre",
        "bs": "bos", "ca": "cat", "ce": "che", "co": "cos", "cs": "ces cze", "cv": "chv",
        "cy": "cym wel", "da": "dan", "de": "deu ger", "dv": "div", "dz": "dzo",
        "el": "ell gre", "en": "eng", "eo": "epo", "es": "spa", "et": "est ekk",
        "eu": "eus baq", "fa": "fas per pes", "fi": "fin", "fo": "fao", "fr": "fra fre",
        "fy": "fry", "ga": "gle", "gd": "gla", "gl": "glg", "gu": "guj", "ha": "hau",
        "he": "heb", "hi": "hin", "hr": "hrv", "ht": "hat", "hu": "hun", "hy": "hye arm",
        "id": "ind", "ig": "ibo", "is": "isl ice", "it": "ita", "ja": "jpn", "jv": "jav",
        "ka": "kat geo", "kk": "kaz", "km": "khm", "kn": "kan", "ko": "kor", "ku": "kur kmr",
        "ky": "kir", "la": "lat", "lb": "ltz", "lg": "lug", "li": "lim", "ln": "lin",
        "lo": "lao", "lt": "lit", "lv": "lav lvs", "mg": "mlg plt", "mi": "mri mao",
        "mk": "mkd mac", "ml": "mal", "mn": "mon khk", "mr": "mar", "ms": "msa may zsm",
        "mt": "mlt", "my": "mya bur", "nb": "nob", "ne": "nep npi", "nl": "nld dut",
        "nn": "nno", "no": "nor", "oc": "oci", "om": "orm gaz", "or": "ori ory", "os": "oss",
        "pa": "pan", "pl": "pol", "ps": "pus pbt", "pt": "por", "qu": "que", "rm": "roh",
        "ro": "ron rum", "ru": "rus", "rw": "kin", "sa": "san", "sc": "srd", "sd": "snd",
        "si": "sin", "sk": "slk slo", "sl": "slv", "sm": "smo", "sn": "sna", "so": "som",
        "sq": "sqi alb als", "sr": "srp", "st": "sot", "su": "sun", "sv": "swe",
        "sw": "swa swh", "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha", "ti": "tir",
        "tk": "tuk", "tl": "tgl fil", "tn": "tsn", "to": "ton", "tr": "tur", "tt": "tat",
        "ug": "uig", "uk": "ukr", "ur": "urd", "uz": "uzb uzn", "vi": "vie", "wa": "wln",
        "xh": "xho", "yi": "yid", "yo": "yor", "zh": "zho chi cmn", "zu": "zul",
    }.items()
    for three in threes.split()
}


def language_identity(code: str) -> tuple[str, str]:
    """(language, script or region) of a code, case-insensitive: `eng` and `en` give
    ('en', ''), `zh_Hant` and `zh_hant` ('zh', 'hant')."""
    base, _, suffix = code.lower().partition("_")
    return ISO_639_1.get(base, base), suffix


# Character ranges of the scripts (Unicode blocks; letters and marks of each block).
SCRIPT_RANGES = {
    "Latin": "A-Za-z\u00aa\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02af\u1d00-\u1dbf\u1e00-\u1eff"
             "\u2c60-\u2c7f\ua720-\ua7ff\uab30-\uab6f\ufb00-\ufb06\uff21-\uff3a\uff41-\uff5a",
    "Greek": "\u0370-\u03ff\u1f00-\u1fff",
    "Cyrillic": "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f",
    "Armenian": "\u0530-\u058f\ufb13-\ufb17",
    "Hebrew": "\u0590-\u05ff\ufb1d-\ufb4f",
    "Arabic": "\u0600-\u06ff\u0750-\u077f\u0870-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Thaana": "\u0780-\u07bf",
    "Devanagari": "\u0900-\u097f\ua8e0-\ua8ff",
    "Bengali": "\u0980-\u09ff",
    "Gurmukhi": "\u0a00-\u0a7f",
    "Gujarati": "\u0a80-\u0aff",
    "Oriya": "\u0b00-\u0b7f",
    "Tamil": "\u0b80-\u0bff",
    "Telugu": "\u0c00-\u0c7f",
    "Kannada": "\u0c80-\u0cff",
    "Malayalam": "\u0d00-\u0d7f",
    "Sinhala": "\u0d80-\u0dff",
    "Thai": "\u0e00-\u0e7f",
    "Lao": "\u0e80-\u0eff",
    "Tibetan": "\u0f00-\u0fff",
    "Myanmar": "\u1000-\u109f\uaa60-\uaa7f",
    "Georgian": "\u10a0-\u10ff\u1c90-\u1cbf\u2d00-\u2d2f",
    "Hangul": "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff",
    "Ethiopic": "\u1200-\u139f\u2d80-\u2ddf\uab00-\uab2f",
    "Khmer": "\u1780-\u17ff\u19e0-\u19ff",
    "Mongolian": "\u1800-\u18af",
    "Hiragana": "\u3040-\u309f",
    "Katakana": "\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "Han": "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
           "\U00020000-\U0003134f",
}

_LATIN = ("af an ast az br bs ca co cs cy da de en eo es et eu fi fil fo fr fy ga gd gl ha hr "
          "ht hu id ig is it jv ku la lb lg li ln lt lv mg mi ms mt nb nl nn no oc om pl pt qu rm "
          "ro rw sc sk sl sm sn so sq st su sv sw tk tl tn to tr uz vi wa xh yo zu").split()
# The scripts each language is written in; languages not listed only need some letter.
SCRIPTS_OF = {lang: ["Latin"] for lang in _LATIN}
SCRIPTS_OF.update({
    **{lang: ["Cyrillic"] for lang in "ba be bg ce cv kk ky mk mn os ru tg tt uk".split()},
    "sr": ["Cyrillic", "Latin"],  # both are official
    "el": ["Greek"], "hy": ["Armenian"], "ka": ["Georgian"],
    **{lang: ["Arabic"] for lang in "ar arz ary ckb fa ps sd ug ur".split()},
    "he": ["Hebrew"], "yi": ["Hebrew"], "dv": ["Thaana"],
    **{lang: ["Devanagari"] for lang in "hi mr ne sa mai bho".split()},
    "bn": ["Bengali"], "as": ["Bengali"], "pa": ["Gurmukhi"], "gu": ["Gujarati"],
    "or": ["Oriya"], "ta": ["Tamil"], "te": ["Telugu"], "kn": ["Kannada"],
    "ml": ["Malayalam"], "si": ["Sinhala"], "th": ["Thai"], "lo": ["Lao"],
    "bo": ["Tibetan"], "dz": ["Tibetan"], "my": ["Myanmar"], "km": ["Khmer"],
    "am": ["Ethiopic"], "ti": ["Ethiopic"],
    "zh": ["Han"], "yue": ["Han"], "wuu": ["Han"],
    "ja": ["Han", "Hiragana", "Katakana"],
    "ko": ["Hangul", "Han"],
})
# Languages written without spaces between words: characters per word, roughly.
CHARS_PER_WORD = {"zh": 1.5, "yue": 1.5, "wuu": 1.5, "ja": 2.0, "th": 4.5, "lo": 4.5,
                  "km": 5.0, "my": 4.0, "bo": 4.0, "dz": 4.0}

# The languages py3langid 0.4.0 knows (its model's labels; a test checks this list).
LANGID_LANGUAGES = frozenset(
    "ace af am an ar arz ary as az ba bcl be bg bn br bs ca crh cs cy da de dz el en eo es et eu "
    "ext fa fi fo fr fuv fy ga gcf gcr gd gl gom grc gu gug guw ha hbo he hi hr ht hu hy id ig "
    "is it ja jv ka kab kik kk km kn ko ku ky la lb lg lij ln lo lt ltg lv mg mk ml mn mr ms "
    "mt my ne nl nn no nso oc om or pa pcm pl ps pt qu ro ru rw sa sdh se si sk sl sn so sq sr "
    "st sv sw ta te tg th tk tl tr tt ug uk ur uz uzs vec vi vo wa wuu xh yo yue zh zu zxx".split()
)
# Config codes py3langid spells differently.
LANGID_ALIASES = {"nb": "no", "fil": "tl"}


def base_language(lang: str) -> str:
    """`zh_Hant` -> `zh`, `eng` -> `en`: the tables are by language (ISO 639-1 where it has
    a code), the script or region suffix is dropped."""
    base = lang.split("_", 1)[0].lower()
    return ISO_639_1.get(base, base)


def langid_code(lang: str) -> str | None:
    """py3langid's code for a config language, or None when it does not know it."""
    code = base_language(lang)
    code = LANGID_ALIASES.get(code, code)
    return code if code in LANGID_LANGUAGES else None
