"""Config files and values checked before anything reads them (stdlib and PyYAML only).

rules/common.smk calls this first thing, before the schema: `check_files` re-reads each
config file strictly, `guard` checks the merged `config` Snakemake built from them. Each
problem raises ConfigError naming the file (and line) or the config key as a dotted path
(`datasets.train[0]`) and saying what to do; values are never echoed (a URL may hold a
secret, a string may be 10,000 characters long).

Files: duplicate keys (PyYAML keeps the last one silently), aliases expanding beyond
MAX_VALUES values or MAX_CHARS characters (a 700-byte "billion laughs" file), aliases that
contain themselves, several documents, an empty or non-mapping file, YTE templating.

Values: any key or string holding a control or format character (line breaks, NUL, tab,
bidi overrides…: they split commands and file names) or a space other than U+0020
(except the free-text path `datasets.local-dir`); '{' or '}' (Snakemake reads `{name}` in
rule parameters as a wildcard); strings longer than MAX_STRING or the schema's
`maxLength`; dataset names too long for a file name; non-text keys; YAML booleans and
dates where the schema wants text (`trg: no` is false); floats where it wants an integer
(4000.0 becomes 4000, 2.5 is refused).
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
from pathlib import Path

import yaml

from mtdistill.common.errors import ConfigError

# Values (mappings, lists, scalars) and characters a config may hold once its aliases
# are expanded. Real configs hold a few hundred values and a few thousand characters.
MAX_VALUES = 10_000
MAX_CHARS = 1_000_000
MAX_STRING = 4096  # any one key or string (PATH_MAX)
# Dataset names other than url_ become file stems, with suffixes like
# `.tmp-XXXXXXXX{stem}.zh_Hant.stats.json.d`; file names have at most 255 bytes.
MAX_DATASET_NAME = 128
# Keys whose value is free text, only ever quoted or used through a function: braces
# and non-ASCII spaces are allowed there.
FREE_TEXT = {("datasets", "local-dir")}

YAML_BOOLS = "YAML reads unquoted yes, no, on, off, true and false as booleans"


# ConfigError (a ValueError): the config is refused, the message says where and why.


# --- where: dotted key paths --------------------------------------------------------------


def dotted(path) -> str:
    """('datasets', 'train', 0) -> 'datasets.train[0]'."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and part and all(c.isascii() and (c.isalnum() or c in "_-+")
                                                    for c in part):
            out += f".{part}" if out else part
        else:
            out += f"[{_short(part)}]"
    return out or "(top level)"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _char(ch: str) -> str:
    name = unicodedata.name(ch, "")
    shown = {"\n": "a line break", "\r": "a carriage return", "\0": "a NUL byte",
             "\t": "a tab"}.get(ch, "the character")
    return f"{shown} (U+{ord(ch):04X}{' ' + name if name else ''})"


# --- files ----------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` then overriding a key is the point of merging
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable key: PyYAML refuses it itself
                if first is not None:
                    raise ConfigError(
                        f"config file {self.name}, line {line}: key {_short(key)} is given "
                        f"twice (first on line {first}); YAML would silently keep only the "
                        "last one: remove one of them"
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _expanded(node, name, memo, active):
    """(values, characters) of a YAML node once its aliases are expanded, capped."""
    if id(node) in memo:
        return memo[id(node)]
    if id(node) in active:
        raise ConfigError(
            f"config file {name}: an alias (*name) refers to the mapping or list that "
            "contains it, which expands forever: write the values out"
        )
    active.add(id(node))
    values, chars = 1, 0
    if isinstance(node, yaml.ScalarNode):
        chars = len(node.value)
    else:
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [n for pair in node.value for n in pair]
        for child in children:
            v, c = _expanded(child, name, memo, active)
            values, chars = values + v, chars + c
            if values > MAX_VALUES or chars > MAX_CHARS:
                break  # capped: keeps the numbers small on a "billion laughs" file
    active.discard(id(node))
    memo[id(node)] = (min(values, MAX_VALUES + 1), min(chars, MAX_CHARS + 1))
    return memo[id(node)]


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(f"key {key!r} is given twice: remove one of them")
    return dict(pairs)


def load_file(path) -> dict:
    """A config file, read strictly: JSON first (as Snakemake does), then YAML."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file {name} is not UTF-8 text ({error.reason} at byte "
                          f"{error.start}): save it as UTF-8") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except ConfigError as error:
        raise ConfigError(f"config file {name}: {error}") from None
    except ValueError:
        data = _load_yaml(text, name)
    if data is None:
        raise ConfigError(f"config file {name} is empty: it must be a mapping of config keys "
                          "(`experiment:`, `datasets:`…), like config/config.yml")
    if not isinstance(data, dict):
        raise ConfigError(f"config file {name} holds a {type(data).__name__}, not a mapping "
                          "of config keys (`experiment:`, `datasets:`…) like config/config.yml")
    if "__use_yte__" in data:
        raise ConfigError(f"config file {name} turns on YTE templating (`__use_yte__`), "
                          "which runs Python code written in the config: not supported, "
                          "write the values out")
    return data


def _load_yaml(text, name):
    loader = _StrictLoader(text)
    loader.name = name
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        # Before constructing anything: construction shares aliased values, but every
        # consumer (json.dumps, Snakemake's merging) expands them.
        values, chars = _expanded(node, name, {}, set())
        if values > MAX_VALUES or chars > MAX_CHARS:
            raise ConfigError(
                f"config file {name}: its aliases (*name) expand to more than "
                f"{MAX_VALUES:,} values or {MAX_CHARS:,} characters (a real config has a "
                "few hundred): write the values out or alias less"
            )
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {name} is not valid YAML: {error}") from None
    except RecursionError:
        raise ConfigError(f"config file {name} nests mappings or lists too deeply") from None
    finally:
        loader.dispose()


def check_files(paths) -> None:
    """Every config file Snakemake loaded (`workflow.configfiles`), each read strictly."""
    seen = set()
    for path in paths:
        path = Path(path).resolve()
        if path in seen or not path.is_file():
            continue  # a missing file was reported by Snakemake already
        seen.add(path)
        load_file(path)


# --- the merged config ----------------------------------------------------------------


def check_values(config) -> None:
    """Budget, key types and characters of every key and string of the merged config."""
    if not isinstance(config, dict):
        raise ConfigError("the config is not a mapping of config keys")
    values = chars = 0
    stack = [((), config)]
    while stack:  # iterative and counted: a self-containing or huge config stops here
        path, value = stack.pop()
        values += 1
        if values > MAX_VALUES or chars > MAX_CHARS:
            raise ConfigError(
                f"the config holds more than {MAX_VALUES:,} values or {MAX_CHARS:,} "
                "characters once YAML aliases are expanded (a real config has a few "
                "hundred): write the values out or alias less"
            )
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ConfigError(_not_text(path, key, is_key=True))
                _check_string(path + (key,), key, is_key=True)
                chars += len(key)
                stack.append((path + (key,), item))
        elif isinstance(value, list):
            stack.extend((path + (i,), item) for i, item in enumerate(value))
        elif isinstance(value, str):
            _check_string(path, value)
            chars += len(value)
        elif not isinstance(value, (bool, int, float, type(None))):
            raise ConfigError(_not_text(path, value))


def _not_text(path, value, is_key=False) -> str:
    where = f"config {dotted(path)} has the key" if is_key else f"config {dotted(path)} is"
    if isinstance(value, bool):
        return f"{where} {str(value).lower()}, not text: {YAML_BOOLS}; quote it"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"{where} a date, not text: YAML reads unquoted dates as dates; quote it"
    if is_key:
        return f"{where} {_short(value)}, not text: quote it"
    return f"{where} a YAML {type(value).__name__}, not text, a number or a list: quote it"


def _check_string(path, text, is_key=False) -> None:
    where = (f"config {dotted(path[:-1])} has a key that" if is_key
             else f"config {dotted(path)}")
    if len(text) > MAX_STRING:
        raise ConfigError(f"{where} is {len(text):,} characters long, more than the "
                          f"{MAX_STRING:,} any config value may have: shorten it")
    free = path in FREE_TEXT
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        # Cc: controls (\n \r \0 \t \x85…); Cf: format (bidi overrides, zero widths, BOM);
        # Cs: lone surrogates; Zl/Zp: line and paragraph separators (str.splitlines).
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise ConfigError(
                f"{where} contains {_char(ch)} at character {i + 1}: config values become "
                "file names and command-line words; remove it"
            )
        if category == "Zs" and ch != " " and not free:
            raise ConfigError(
                f"{where} contains {_char(ch)} at character {i + 1}, a space that looks "
                "like an ordinary one: type a plain space or remove it"
            )
        if ch in "{}" and not free:
            raise ConfigError(
                f"{where} contains '{ch}' at character {i + 1}: Snakemake reads {{name}} in "
                "rule parameters as a wildcard; rename the file, or write %7B and %7D in "
                "a URL"
            )


# --- guided by the schema ---------------------------------------------------------------


def load_schema(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _resolve(schema, root):
    """A subschema with its $ref followed (sibling keys win), and the refs followed."""
    refs = []
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        refs.append(ref)
        target = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return (schema if isinstance(schema, dict) else {}), refs


def _types(schema, root) -> set:
    kind = schema.get("type", [])
    types = {kind} if isinstance(kind, str) else set(kind)
    for member in schema.get("enum", []):
        types.add({bool: "boolean", str: "string", int: "integer", float: "number"}.get(
            type(member), "other"))
    for sub in schema.get("anyOf", []) + schema.get("oneOf", []):
        types |= _types(_resolve(sub, root)[0], root)
    return types


def check_types(config, schema) -> None:
    """Where the schema wants text or integers: YAML booleans and dates refused, whole
    floats made integers in place, others refused; the schema's maxLength, with a message."""
    stack = [((), config, schema)]
    while stack:
        path, value, sub = stack.pop()
        sub, refs = _resolve(sub, schema)
        types = _types(sub, schema)
        if isinstance(value, bool) and "boolean" not in types and "string" in types:
            if "#/definitions/lang" in refs:
                raise ConfigError(
                    f"config {dotted(path)} is {str(value).lower()}, not a language code: "
                    f"{YAML_BOOLS}; quote language codes, e.g. {path[-1]}: \"no\""
                )
            raise ConfigError(_not_text(path, value))
        if isinstance(value, float) and "integer" in types and "number" not in types:
            if not value.is_integer():
                raise ConfigError(f"config {dotted(path)} is {value}: it must be a whole "
                                  "number")
            value = int(value)
            _set(config, path, value)  # 4000.0 would reach commands as "4000.0"
        # Too long but otherwise well formed (a value breaking the pattern gets the
        # schema's message, which shows the pattern).
        if isinstance(value, str) and len(value) > sub.get("maxLength", MAX_STRING) and \
                re.search(sub.get("pattern", ""), value):
            hint = f" ({sub['description'].strip().rstrip('.')})" if "description" in sub else ""
            raise ConfigError(f"config {dotted(path)} is {len(value):,} characters long, "
                              f"more than the {sub['maxLength']} allowed: shorten it{hint}")
        if isinstance(value, dict):
            props = sub.get("properties", {})
            extra = sub.get("additionalProperties")
            for key, item in value.items():
                child = props.get(key, extra if isinstance(extra, dict) else None)
                if child is not None:
                    stack.append((path + (key,), item, child))
        elif isinstance(value, list) and isinstance(sub.get("items"), dict):
            stack.extend((path + (i,), item, sub["items"]) for i, item in enumerate(value))


def _set(config, path, value) -> None:
    parent = config
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value


def check_dataset_names(config) -> None:
    """Names other than url_ become file stems: they must fit a file name."""
    datasets = config.get("datasets")
    if not isinstance(datasets, dict):
        return
    for kind, names in datasets.items():
        if not isinstance(names, list):
            continue
        for i, name in enumerate(names):
            if isinstance(name, str) and not name.startswith("url_") and \
                    len(name) > MAX_DATASET_NAME:
                raise ConfigError(
                    f"config datasets.{kind}[{i}] is a dataset name of {len(name)} "
                    f"characters: names other than url_ become file names and may have at "
                    f"most {MAX_DATASET_NAME}; shorten it (for local_, rename its files in "
                    "datasets.local-dir)"
                )


def guard(config, schema) -> None:
    """Everything above on the merged config, in place (whole floats become integers)."""
    check_values(config)
    check_types(config, schema)
    check_dataset_names(config)
