"""Config files and values refused before any job (scripts/mtdistill/config/guard.py, the schema).

Unit tests call config_guard and jsonschema directly (no Snakemake, fast); a few dry runs
(`snakemake -n`) prove the wiring in rules/common.smk: exit != 0, a message naming the key
or file, no Python traceback, nothing written outside the results tree, no job run.

Cases (the index):
- Fuzz: every string of the schema (found by walking it, `definitions` included: names,
  language codes, dataset lists, mirrors, local-dir, bicleaner command/model, Marian
  commands, presets and option values, continuation URLs and sha256, enums) and the keys of
  free-form mappings (marian-args options, cleaning.scripts), each set to a valid value +
  `\\n`, `\\r`, `\\0`, NBSP, and to 10,000 characters: refused naming the dotted key (NBSP in
  the free-text `datasets.local-dir` is accepted). Every pattern is anchored at the true end
  (`$(?!\\n)`): jsonschema alone refuses value + `\\n` and value + NBSP.
- Files: duplicate keys (block, flow, nested, JSON), alias bombs (lists, mappings), an alias
  inside itself, several documents, empty / comment-only / list / scalar files, not UTF-8,
  invalid YAML, YTE templating; merge keys (`<<`) and small aliases still work.
- Values: a merged config over the budget (shared lists, a list inside itself), non-text
  keys (`no:` under cleaning.scripts), dates, braces (`{x}` in continuation paths and
  mirrors, Marian option values; allowed in local-dir), YAML booleans for language codes
  (`trg: no`) and other text, whole-number floats made integers (`split-length: 4000.0`,
  `seed: 1.0`, `spm-vocab-size: 600.0`, `teacher-ensemble: 2.0`) and others refused
  (`2.5`, `.inf`), maxLength (`experiment.name`), 300-character `local_` dataset names.
- Dry runs: a line break in experiment.name, NBSP in experiment.src, a NUL in a Marian
  command, 10,000 characters in a continuation URL, `{x}` in a continuation path, a long
  local_ name, `teacher-ensemble: 2.5`, `trg: no`, a duplicate key, a 500-byte alias bomb;
  and whole-number floats planned as integers in the shell commands.

Not here: an empty or list-shaped `--configfile` is refused by Snakemake's own loader
before the workflow runs (its message names no file); config_guard.load_file handles them
for the files it reads (tested below).
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from mtdistill.config import guard as config_guard
from mtdistill.config.guard import ConfigError, dotted
from conftest import DEFAULT, REPO, TINY, planned_jobs, snakemake

SCHEMA = config_guard.load_schema(REPO / "config" / "schema" / "config.schema.yml")
EMBEDDED = yaml.safe_load((REPO / "config" / "config.yml").read_text(encoding="utf-8"))
URL = "https://example.org/run"
SHA = "0" * 64


def full_config() -> dict:
    """The embedded config plus every optional string key the schema knows: valid under it."""
    cfg = copy.deepcopy(EMBEDDED)
    ds = cfg["datasets"]
    ds["train"] = ["toy_train", "local_mine", "opus_ELRC-3075/v1",
                   "mtdata_Statmt-news_commentary-16-deu-eng", f"url_{URL}/c.[LANG].zst"]
    ds["devtest"] = ["flores_dev", "sacrebleu_wmt20"]
    ds["mono-trg"] = ["news-crawl_news.2021"]
    ds["mirrors"] = {k: f"https://mirror.example.org/{k}"
                     for k in ("opus", "mtdata", "sacrebleu", "flores", "news-crawl")}
    cfg["cleaning"]["scripts"] = {"sr": ["Latin"]}
    cfg["cleaning"]["bicleaner"]["model"] = "bitextor/bicleaner-ai-full-en-xx"
    cfg["marian-args"]["training-teacher"]["valid-metrics"] = ["chrf", "bleu-detok"]
    trio = ("src", "trg", "tok-src", "tok-trg", "alignments")
    cfg["continuation"] = {
        "vocab": {"src": f"{URL}/vocab.spm", "trg": "vocabs/vocab.spm",
                  "sha256": {"src": SHA, "trg": SHA}},
        "corpora": {"parallel": {**{k: f"{URL}/parallel.{k}.zst" for k in trio},
                                 "sha256": {k: SHA for k in trio}}},
        "models": {
            "backwards": {"url": f"{URL}/backward.zip", "mode": "use", "type": "opusmt",
                          "target-token": ">>yy<<", "sha256": SHA},
            "teachers": {"urls": [f"{URL}/t0", f"{URL}/t1"], "mode": "init", "type": "default",
                         "sha256": [SHA, SHA]},
            "student": {"url": "gs://bucket/student", "mode": "continue"},
        },
    }
    return cfg


FULL = full_config()


def validator():
    return jsonschema.Draft202012Validator(SCHEMA)


def test_full_config_is_valid_and_passes_the_guard():
    validator().validate(FULL)
    cfg = copy.deepcopy(FULL)
    config_guard.guard(cfg, SCHEMA)
    assert cfg == FULL


# ---------------------------------------------------------------------------------------
# Walking the schema and the config together


def resolve(pointer: str, sub: dict):
    """Follow $ref: (pointer of the definition reached, its schema)."""
    while "$ref" in sub:
        pointer = sub["$ref"].removeprefix("#/")
        sub = SCHEMA
        for part in pointer.split("/"):
            sub = sub[part]
    return pointer, sub


def is_text(sub: dict) -> bool:
    kind = sub.get("type", [])
    kinds = [kind] if isinstance(kind, str) else kind
    return "string" in kinds or any(isinstance(v, str) for v in sub.get("enum", []))


def schema_strings(pointer="", sub=SCHEMA, seen=None) -> set[str]:
    """Pointers of every string-typed subschema reachable from the root."""
    seen = set() if seen is None else seen
    pointer, sub = resolve(pointer, sub)
    if pointer in seen:
        return set()
    seen.add(pointer)
    found = {pointer} if is_text(sub) else set()
    for key, child in sub.get("properties", {}).items():
        found |= schema_strings(f"{pointer}/properties/{key}".lstrip("/"), child, seen)
    for key in ("additionalProperties", "items", "propertyNames"):
        if isinstance(sub.get(key), dict):
            found |= schema_strings(f"{pointer}/{key}".lstrip("/"), sub[key], seen)
    for i, child in enumerate(sub.get("anyOf", [])):
        found |= schema_strings(f"{pointer}/anyOf/{i}", child, seen)
    return found


def config_strings(value=FULL, pointer="", sub=SCHEMA, path=()):
    """(path, schema pointer, schema) of every string of a config, and of free-form keys
    as (path + (key,), pointer of propertyNames or '', None)."""
    pointer, sub = resolve(pointer, sub)
    if isinstance(value, str):
        yield path, pointer, sub
    elif isinstance(value, dict):
        props, extra = sub.get("properties", {}), sub.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                yield from config_strings(item, f"{pointer}/properties/{key}".lstrip("/"), props[key], path + (key,))
            elif isinstance(extra, dict):
                yield path + (key,), "key", None
                yield from config_strings(item, f"{pointer}/additionalProperties".lstrip("/"), extra, path + (key,))
    elif isinstance(value, list) and isinstance(sub.get("items"), dict):
        for i, item in enumerate(value):
            yield from config_strings(item, f"{pointer}/items".lstrip("/"), sub["items"], path + (i,))
    elif isinstance(value, list):  # Marian option lists: strings of no schema of their own
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield path + (i,), pointer, sub


VALUES = [(path, pointer) for path, pointer, _ in config_strings() if pointer != "key"]
KEYS = [path for path, pointer, _ in config_strings() if pointer == "key"]


def test_fuzzed_config_reaches_every_string_of_the_schema():
    """A string key added to the schema must be added to full_config() (and so fuzzed)."""
    reached = {pointer for _, pointer in VALUES}
    # propertyNames: keys, fuzzed through KEYS; the lang definition is reached by values.
    expected = {p for p in schema_strings() if not p.endswith("propertyNames")}
    assert expected - reached == set()
    assert {("marian-args", "training-teacher", "after"), ("cleaning", "scripts", "sr")} <= set(KEYS)


def get(cfg, path):
    for part in path:
        cfg = cfg[part]
    return cfg


def put(cfg, path, value):
    get(cfg, path[:-1])[path[-1]] = value


MUTATIONS = {
    "line-feed": lambda v: v + "\n",
    "carriage-return": lambda v: v[:1] + "\r" + v[1:],
    "nul": lambda v: v + "\0",
    "nbsp": lambda v: v + "\u00a0",
    "10000-chars": lambda v: (v * 10000)[:10000],
}
EXPECTED = {"line-feed": "a line break (U+000A", "carriage-return": "a carriage return (U+000D",
            "nul": "a NUL byte (U+0000", "nbsp": "U+00A0 NO-BREAK SPACE",
            "10000-chars": "is 10,000 characters long"}


@pytest.mark.parametrize("path", [p for p, _ in VALUES], ids=dotted)
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_every_string_value_refuses_hostile_characters(path, mutation):
    cfg = copy.deepcopy(FULL)
    put(cfg, path, MUTATIONS[mutation](get(FULL, path)))
    if mutation == "nbsp" and path in config_guard.FREE_TEXT:
        config_guard.guard(cfg, SCHEMA)  # free text: a folder may have such a name
        return
    with pytest.raises(ConfigError) as error:
        config_guard.guard(cfg, SCHEMA)
    message = str(error.value)
    assert message.startswith(f"config {dotted(path)} "), message
    assert EXPECTED[mutation] in message
    assert "\n" not in message and "\0" not in message  # the value is not echoed


@pytest.mark.parametrize("path", KEYS, ids=dotted)
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_every_free_form_key_refuses_hostile_characters(path, mutation):
    cfg = copy.deepcopy(FULL)
    parent = get(cfg, path[:-1])
    parent[MUTATIONS[mutation](path[-1])] = parent.pop(path[-1])
    with pytest.raises(ConfigError) as error:
        config_guard.guard(cfg, SCHEMA)
    assert str(error.value).startswith(f"config {dotted(path[:-1])} has a key that ")
    assert EXPECTED[mutation] in str(error.value)


# Patterns that only check a prefix: `url` (a local path may be any text) and none at all
# (local-dir, Marian option values, enums are exact). The guard covers those.
UNANCHORED = {"definitions/url", "properties/datasets/properties/local-dir",
              "definitions/marian-options/additionalProperties"}


@pytest.mark.parametrize("path,pointer", [(p, q) for p, q in VALUES if q not in UNANCHORED],
                         ids=[dotted(p) for p, q in VALUES if q not in UNANCHORED])
@pytest.mark.parametrize("mutation", ["line-feed", "nbsp"])
def test_schema_alone_refuses_a_trailing_line_break_and_nbsp(path, pointer, mutation):
    """jsonschema's `$` matches before a trailing newline: the patterns end in `$(?!\\n)`."""
    cfg = copy.deepcopy(FULL)
    put(cfg, path, MUTATIONS[mutation](get(FULL, path)))
    errors = [tuple(e.absolute_path) for e in validator().iter_errors(cfg)]
    assert path in errors


def test_every_pattern_ends_at_the_true_end():
    patterns = []

    def walk(node):
        if isinstance(node, dict):
            patterns.extend(v for k, v in node.items() if k == "pattern")
            for k, v in node.items():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(SCHEMA)
    assert len(patterns) >= 15
    for pattern in patterns:
        assert pattern.count("$(?!\\n)") >= 1, pattern


def test_dotted_paths():
    assert dotted(("datasets", "train", 0)) == "datasets.train[0]"
    assert dotted(("continuation", "models", "teachers", "urls", 1)) == \
        "continuation.models.teachers.urls[1]"
    assert dotted(("marian-args", "x\ny")) == "marian-args['x\\ny']"
    assert dotted(()) == "(top level)"


# ---------------------------------------------------------------------------------------
# Files


def write(tmp_path, text, name="c.yml", raw=None) -> Path:
    path = tmp_path / name
    path.write_bytes(raw if raw is not None else text.encode("utf-8"))
    return path


@pytest.mark.parametrize("text,line,first,key", [
    ("experiment: {name: a}\nexperiment: {name: b}\n", 2, 1, "'experiment'"),
    ("experiment:\n  name: a\n  src: xx\n  name: b\n", 4, 2, "'name'"),
    ("marian-args: {training-teacher: {after: 1u, after: 2u}}\n", 1, 1, "'after'"),
    ("cleaning:\n  scripts: {sr: [Latin]}\n  scripts: {}\n", 3, 2, "'scripts'"),
])
def test_duplicate_keys_name_file_key_and_lines(tmp_path, text, line, first, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        config_guard.load_file(path)
    assert str(error.value) == (
        f"config file {path}, line {line}: key {key} is given twice (first on line {first}); "
        "YAML would silently keep only the last one: remove one of them")


def test_duplicate_keys_in_json(tmp_path):
    path = write(tmp_path, '{"experiment": {"name": "a", "name": "b"}}', "c.json")
    with pytest.raises(ConfigError, match=rf"config file {path}: key 'name' is given twice"):
        config_guard.load_file(path)


def test_merge_keys_and_small_aliases_still_work(tmp_path):
    path = write(tmp_path, (
        "marian-args:\n"
        "  training-teacher: &base {preset: transformer-toy, after: 100u}\n"
        "  training-student: {<<: *base, after: 50u}\n"
        "  training-backward: *base\n"))
    args = config_guard.load_file(path)["marian-args"]
    assert args["training-student"] == {"preset": "transformer-toy", "after": "50u"}
    assert args["training-backward"] == args["training-teacher"]


def bomb(kind: str, levels: int = 9) -> str:
    if kind == "list":
        lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    else:
        lines = ["a0: &a0 {" + ", ".join(f"{k}: lol" for k in "abcdefghi") + "}"]
        lines += [f"a{i}: &a{i} {{" + ", ".join(f"{k}: *a{i - 1}" for k in "abcdefghi") + "}"
                  for i in range(1, levels)]
    return "marian-args:\n  training-teacher:\n" + "".join(f"    {line}\n" for line in lines)


@pytest.mark.parametrize("kind", ["list", "mapping"])
def test_alias_bombs_are_refused_before_expanding(tmp_path, kind):
    path = write(tmp_path, bomb(kind))
    assert path.stat().st_size < 800
    start = time.monotonic()
    with pytest.raises(ConfigError) as error:
        config_guard.load_file(path)
    assert time.monotonic() - start < 2
    assert str(error.value).startswith(f"config file {path}: its aliases (*name) expand to "
                                       "more than 10,000 values")


def test_long_strings_repeated_by_aliases_count_as_characters(tmp_path):
    text = "x: &x " + "a" * 4000 + "\ny: [" + ", ".join(["*x"] * 300) + "]\n"
    with pytest.raises(ConfigError, match="1,000,000 characters"):
        config_guard.load_file(write(tmp_path, text))


def test_alias_inside_itself_is_refused(tmp_path):
    path = write(tmp_path, "marian-args: &a {training-teacher: *a}\n")
    with pytest.raises(ConfigError, match=rf"config file {path}: an alias \(\*name\) refers "
                                          "to the mapping or list that contains it"):
        config_guard.load_file(path)


@pytest.mark.parametrize("text,message", [
    ("", "is empty: it must be a mapping of config keys"),
    ("# only a comment\n\n", "is empty: it must be a mapping of config keys"),
    ("- experiment\n- datasets\n", "holds a list, not a mapping of config keys"),
    ("toy\n", "holds a str, not a mapping of config keys"),
    ("[1, 2]", "holds a list, not a mapping of config keys"),  # JSON
    ("a: 1\n---\nb: 2\n", "is not valid YAML: expected a single document"),
    ("a: [1\n", "is not valid YAML"),
    ("__use_yte__: true\nexperiment: {name: a}\n", "turns on YTE templating"),
])
def test_file_shape_errors_name_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        config_guard.load_file(path)
    assert str(error.value).startswith(f"config file {path} ")
    assert message in str(error.value)


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = write(tmp_path, "", raw="experiment: {name: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"config file {path} is not UTF-8 text"):
        config_guard.load_file(path)


def test_check_files_reads_each_file_once_and_skips_missing_ones(tmp_path):
    good = write(tmp_path, "experiment: {name: a}\n", "good.yml")
    bad = write(tmp_path, "a: 1\na: 2\n", "bad.yml")
    config_guard.check_files([good, str(good), tmp_path / "missing.yml"])
    with pytest.raises(ConfigError, match="bad.yml, line 2"):
        config_guard.check_files([good, bad])


# ---------------------------------------------------------------------------------------
# Values of the merged config


def test_a_merged_config_over_the_budget_is_refused_quickly():
    cfg = copy.deepcopy(EMBEDDED)
    layer = ["lol"] * 9
    for _ in range(8):  # 9**9 strings by reference, like a loaded list bomb
        layer = [layer] * 9
    cfg["marian-args"]["training-teacher"]["x"] = layer
    start = time.monotonic()
    with pytest.raises(ConfigError, match="holds more than 10,000 values"):
        config_guard.guard(cfg, SCHEMA)
    assert time.monotonic() - start < 2


def test_a_list_inside_itself_is_refused():
    cfg = copy.deepcopy(EMBEDDED)
    loop = []
    loop.append(loop)
    cfg["marian-args"]["training-teacher"]["x"] = loop
    with pytest.raises(ConfigError, match="holds more than 10,000 values"):
        config_guard.guard(cfg, SCHEMA)


@pytest.mark.parametrize("path,value,message", [
    (("experiment", "trg"), False, 'config experiment.trg is false, not a language code: YAML '
     'reads unquoted yes, no, on, off, true and false as booleans; quote language codes, e.g. '
     'trg: "no"'),
    (("experiment", "src"), True, "config experiment.src is true, not a language code"),
    (("experiment", "name"), True, "config experiment.name is true, not text: YAML reads"),
    (("marian-args", "training-teacher", "preset"), False,
     "config marian-args.training-teacher.preset is false, not text"),
    (("experiment", "best-model"), True, "config experiment.best-model is true, not text"),
    (("datasets", "train", 0), __import__("datetime").date(2021, 1, 1),
     "config datasets.train[0] is a date, not text: YAML reads unquoted dates as dates"),
])
def test_yaml_booleans_and_dates_where_text_is_wanted(path, value, message):
    cfg = copy.deepcopy(FULL)
    put(cfg, path, value)
    with pytest.raises(ConfigError) as error:
        config_guard.guard(cfg, SCHEMA)
    assert str(error.value).startswith(message)


def test_a_boolean_language_key_is_refused():
    cfg = copy.deepcopy(FULL)
    cfg["cleaning"]["scripts"] = {False: ["Latin"]}  # `no: [Latin]`
    with pytest.raises(ConfigError, match="config cleaning.scripts has the key false, not "
                                          "text: YAML reads unquoted yes, no"):
        config_guard.guard(cfg, SCHEMA)


def test_booleans_stay_where_the_schema_allows_them():
    cfg = copy.deepcopy(FULL)
    cfg["cleaning"]["langid"] = True  # enum [auto, true, false]
    cfg["marian-args"]["training-teacher"]["sync-sgd"] = True
    config_guard.guard(cfg, SCHEMA)
    validator().validate(cfg)


WHOLE = [("experiment", "split-length"), ("experiment", "seed"), ("experiment", "spm-vocab-size"),
         ("experiment", "teacher-ensemble"), ("toy", "seed"), ("resources", "gpu"),
         ("downloads", "max-bytes"), ("marian", "workspace"), ("cleaning", "threads")]


def test_whole_number_floats_become_integers():
    cfg = copy.deepcopy(FULL)
    cfg["resources"]["gpu"], cfg["downloads"]["max-bytes"] = 1.0, 5.0e10
    for key in ("split-length", "seed", "spm-vocab-size", "teacher-ensemble"):
        cfg["experiment"][key] = float(FULL["experiment"].get(key, 1))
    cfg["toy"]["seed"], cfg["marian"]["workspace"], cfg["cleaning"]["threads"] = 3.0, 2000.0, 2.0
    config_guard.guard(cfg, SCHEMA)
    for path in WHOLE:
        assert type(get(cfg, path)) is int, dotted(path)
    assert cfg["downloads"]["max-bytes"] == 50_000_000_000
    assert json.dumps(cfg["experiment"]["split-length"]) == "4000"


def test_floats_stay_where_numbers_are_wanted():
    cfg = copy.deepcopy(FULL)
    cfg["experiment"]["spm-character-coverage"] = 1.0
    config_guard.guard(cfg, SCHEMA)
    assert type(cfg["experiment"]["spm-character-coverage"]) is float
    assert type(cfg["marian-args"]["training-student-finetuned"]["learn-rate"]) is float


@pytest.mark.parametrize("path", WHOLE, ids=dotted)
@pytest.mark.parametrize("value", [2.5, math.inf, math.nan])
def test_other_floats_where_integers_are_wanted_are_refused(path, value):
    cfg = copy.deepcopy(FULL)
    put(cfg, path, value)
    with pytest.raises(ConfigError) as error:
        config_guard.guard(cfg, SCHEMA)
    assert str(error.value) == f"config {dotted(path)} is {value}: it must be a whole number"


@pytest.mark.parametrize("path", [("continuation", "vocab", "src"),
                                  ("continuation", "corpora", "parallel", "alignments"),
                                  ("continuation", "models", "teachers", "urls", 1),
                                  ("datasets", "mirrors", "opus"),
                                  ("marian-args", "training-teacher", "after")], ids=dotted)
def test_braces_are_refused(path):
    cfg = copy.deepcopy(FULL)
    put(cfg, path, "data/{x}.zst")
    with pytest.raises(ConfigError) as error:
        config_guard.guard(cfg, SCHEMA)
    assert str(error.value) == (
        f"config {dotted(path)} contains '{{' at character 6: Snakemake reads {{name}} in rule "
        "parameters as a wildcard; rename the file, or write %7B and %7D in a URL")


def test_local_dir_is_free_text():
    cfg = copy.deepcopy(FULL)
    cfg["datasets"]["local-dir"] = "my {data}\u00a0dir;$(x)"
    config_guard.guard(cfg, SCHEMA)


def test_schema_max_length_is_named():
    cfg = copy.deepcopy(FULL)
    cfg["experiment"]["name"] = "n" * 65
    with pytest.raises(ConfigError) as error:
        config_guard.guard(cfg, SCHEMA)
    assert str(error.value).startswith("config experiment.name is 65 characters long, more "
                                       "than the 64 allowed: shorten it (Letters, digits")
    # Long and breaking the pattern: left to the schema, whose message shows the pattern.
    cfg["experiment"]["name"] = "x;" + "n" * 70
    config_guard.guard(cfg, SCHEMA)
    assert ("experiment", "name") in [tuple(e.absolute_path) for e in validator().iter_errors(cfg)]


@pytest.mark.parametrize("name", ["local_" + "a" * 294, "opus_" + "C" * 150 + "/v1"])
def test_long_dataset_names_are_refused(name):
    cfg = copy.deepcopy(FULL)
    cfg["datasets"]["test"] = ["toy_test", name]
    with pytest.raises(ConfigError) as error:
        config_guard.guard(cfg, SCHEMA)
    assert str(error.value).startswith(
        f"config datasets.test[1] is a dataset name of {len(name)} characters: names other "
        "than url_ become file names and may have at most 128")
    assert "rename its files in datasets.local-dir" in str(error.value)
    # The schema refuses it too, without the guard.
    assert ("datasets", "test", 1) in [tuple(e.absolute_path) for e in validator().iter_errors(cfg)]


def test_long_url_datasets_are_hashed_so_allowed():
    cfg = copy.deepcopy(FULL)
    cfg["datasets"]["train"] = [f"url_{URL}/" + "d" * 300 + ".[LANG].zst"]
    config_guard.guard(cfg, SCHEMA)
    validator().validate(cfg)


# ---------------------------------------------------------------------------------------
# Dry runs: the wiring in rules/common.smk


RESULTS_TREE = ("results", "resources", "logs", ".snakemake")


def snapshot(root: Path) -> dict:
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root / "work":
            dirnames[:] = [d for d in dirnames if d not in RESULTS_TREE]
        for name in filenames:
            info = (Path(dirpath) / name).stat()
            state[os.path.relpath(os.path.join(dirpath, name), root)] = (info.st_size, info.st_mtime_ns)
    return state


DRY_RUNS = {
    "name-line-break": ('experiment: {name: "tiny\\n"}\n',
                        ["config experiment.name contains a line break (U+000A) at character 5"]),
    "src-nbsp": ('experiment: {src: "xx\\u00a0"}\n',
                 ["config experiment.src contains the character (U+00A0 NO-BREAK SPACE)"]),
    "command-nul": ('marian: {train: "pymarian train\\0"}\n',
                    ["config marian.train contains a NUL byte (U+0000)"]),
    "url-10000": ("continuation: {vocab: {src: " + "v" * 10000 + ", trg: v.spm}}\n",
                  ["config continuation.vocab.src is 10,000 characters long"]),
    "path-braces": ("continuation:\n  vocab: {src: v.spm, trg: v.spm}\n"
                    "  corpora: {parallel: {src: 'c{x}.xx.zst', trg: c.yy.zst}}\n"
                    "datasets: {train: []}\n",
                    ["config continuation.corpora.parallel.src contains '{'", "wildcard"]),
    "local-300": ("datasets: {train: [local_" + "a" * 294 + "]}\n",
                  ["config datasets.train[0] is a dataset name of 300 characters"]),
    "ensemble-2.5": ("experiment: {teacher-ensemble: 2.5}\n",
                     ["config experiment.teacher-ensemble is 2.5: it must be a whole number"]),
    "trg-no": ("experiment:\n  trg: no\n", ["config experiment.trg is false, not a language code",
                                           'quote language codes, e.g. trg: "no"']),
    "duplicate-key": ("experiment:\n  name: a\n  name: b\n",
                      ["bad.yml, line 3: key 'name' is given twice (first on line 2)"]),
    "alias-bomb": (bomb("list"), ["bad.yml: its aliases (*name) expand to more than 10,000"]),
}


@pytest.mark.parametrize("case", list(DRY_RUNS))
def test_dry_run_refuses_before_any_job(tmp_path, case):
    text, messages = DRY_RUNS[case]
    work = tmp_path / "work"
    work.mkdir()
    cfg = tmp_path / "bad.yml"
    cfg.write_text(text, encoding="utf-8")
    before = snapshot(tmp_path)
    result = snakemake(work, "-n", configfiles=[DEFAULT, TINY, cfg], check=False, cwd=tmp_path, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    for message in messages:
        assert message in out, out[-3000:]
    assert "Traceback" not in out and "Building DAG" not in out
    assert not (work / "results").exists() and not (work / "resources").exists()
    assert snapshot(tmp_path) == before


def test_whole_number_floats_reach_commands_as_integers(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cfg = tmp_path / "floats.yml"
    cfg.write_text("experiment: {split-length: 4000.0, seed: 3.0, spm-vocab-size: 600.0, "
                   "teacher-ensemble: 3.0}\n", encoding="utf-8")
    result = snakemake(work, "-n", "-p", configfiles=[DEFAULT, TINY, cfg], timeout=120)
    out = result.stdout + result.stderr
    assert planned_jobs(out)["train_teacher"] == 3
    assert "--lines 4000 " in out and "--vocab-size 600 " in out
    assert "--seed 3 " in out and "--seed 5 " in out  # teacher i: seed + i
    assert "4000.0" not in out and "600.0" not in out and "--seed 3.0" not in out
