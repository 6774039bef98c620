#!/usr/bin/env python3
"""Download artifacts for continuation, checked: a vocab, corpora or Marian models by URL.

URLs (http(s)://, gs://, file://, local paths) are read by mtdistill.common.urls; files are
fetched atomically, retried and size-bounded by mtdistill.common.http (see there for the
bearer token, redirects and local files). This module checks what a download must be: a
Marian model directory (model, decoder config, vocab, checkpoint), a zstd file, a
SentencePiece vocab, a parallel corpus whose files agree line by line.

Usage:
  download.py file   --url U --out F [--sha256 H] [--zst] [--spm]
  download.py model  --url U --out-dir D --mode use|continue|init [--src xx --trg yy] [--no-vocab]
  download.py opusmt --url U --out-dir D [--sha256 H]   (an OPUS-MT release, own vocab)
  download.py corpus --src-url U --trg-url U --out-src F --out-trg F
                     [--tok-src-url U --out-tok-src F --tok-trg-url U --out-tok-trg F]
                     [--aln-url U --out-aln F]
All subcommands take --log FILE, --retries N, --timeout S and --max-bytes N (config
`downloads`, required: the rules pass the configured values). URLs with user:password@ are
refused: credentials come from the environment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from mtdistill.common import errors, http, textio
from mtdistill.common.errors import DownloadError, InputError
from mtdistill.common.http import (CHUNK, RAISE_LIMIT, exists, fetch, file_sha256,  # noqa: F401
                                   fsync_dir)
from mtdistill.common.textio import (CorruptInput, LimitExceeded, atomic_path, count_lines,
                                     scratch_dir)
from mtdistill.common.urls import TOKEN_ENV, is_http, join, redact, resolve  # noqa: F401

log = logging.getLogger("download")

MODES = ("use", "continue", "init")
METRICS = ("chrf", "bleu-detok", "ce-mean-words")
# Parts of a Marian training checkpoint besides model.npz; each one is optional.
CHECKPOINT_EXTRAS = ("model.npz.optimizer.npz", "model.npz.progress.yml", "model.npz.yml")


def check_zst(path: str | os.PathLike, name: str | None = None,
              max_bytes: int | None = None) -> int:
    """textio.check_zst for a download: its line count, or a DownloadError."""
    try:
        return textio.check_zst(path, name, max_bytes)
    except LimitExceeded:
        raise DownloadError(f"{name or path} decompresses to more than {max_bytes} bytes (a "
                            f"decompression bomb?): {RAISE_LIMIT}") from None
    except InputError as err:
        raise DownloadError(str(err)) from None


GZIP_MAGIC = b"\x1f\x8b"


def gzip_to_zst(path: str, url: str, max_bytes: int | None = None) -> bool:
    """Recompress a gzip download to zstd in place (the workflow reads .zst corpora):
    gzip is what the older Snakemake-era pipeline wrote (corpus.aln.gz). Told by its
    magic bytes, not its name. Return whether it was gzip."""
    import gzip

    import zstandard

    with open(path, "rb") as head:
        if head.read(2) != GZIP_MAGIC:
            return False
    tmp, seen = path + ".zst-tmp", 0
    try:
        with gzip.open(path, "rb") as src, open(tmp, "wb") as raw, \
                zstandard.ZstdCompressor().stream_writer(raw) as dst:
            while data := src.read(CHUNK):
                seen += len(data)
                if max_bytes is not None and seen > max_bytes:
                    raise DownloadError(f"{url} decompresses to more than {max_bytes} bytes (a "
                                        f"decompression bomb?): {RAISE_LIMIT}")
                dst.write(data)
        os.replace(tmp, path)
    except (OSError, EOFError, zlib.error) as err:
        raise DownloadError(f"{url} is a damaged gzip file ({err}): download it again or "
                            "check the file at its source") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    log.info("%s: gzip, recompressed to zstd", url)
    return True


# ---------------------------------------------------------------------------------------
# Models, vocabularies, corpora


def _copy_hint(url: str, name: str) -> str:
    if url.startswith("gs://"):
        return f"e.g. gsutil cp gs://<training output>/{name} {join(url, name)}"
    if is_http(url):
        return f"upload it as {join(url, name)}"
    return f"e.g. cp <training output>/{name} {join(url, name)}"


def fetch_model(
    url: str,
    out_dir: str | os.PathLike,
    mode: str,
    metrics: Iterable[str] = METRICS,
    src: str | None = None,
    trg: str | None = None,
    require_vocab: bool = True,
    sha256: str | None = None,
    *,
    retries: int = http.RETRIES,
    backoff: float = http.BACKOFF,
    timeout: float = http.TIMEOUT,
    max_bytes: int | None = None,
) -> dict:
    """Fetch a Marian model directory; return the manifest also written to download.json.

    Saves out_dir/final.npz (+ .decoder.yml), the vocab, and for mode 'continue' the
    training checkpoint (model.npz, optimizer state, progress, config). Everything is
    probed before anything is downloaded, so a missing piece costs no transfer.
    """
    if mode not in MODES:
        raise DownloadError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    metrics = tuple(metrics)
    if not all(re.fullmatch(r"[A-Za-z0-9-]+", m) for m in metrics):
        raise DownloadError(f"invalid metric names {metrics}: use names like {', '.join(METRICS)}")
    net = dict(retries=retries, backoff=backoff, timeout=timeout)
    out_dir = str(out_dir)

    def there(name: str) -> bool:
        return exists(join(url, name), **net)

    # Best checkpoints first; the plain names are fixed, so an optimizer state or a
    # progress file can never be picked as the model.
    candidates = [f"final.model.npz.best-{m}.npz" for m in metrics]
    candidates += [f"model.npz.best-{m}.npz" for m in metrics] + ["final.npz", "model.npz"]
    model = next((name for name in candidates if there(name)), None)
    if model is None:
        raise DownloadError(
            f"no model found under {url}: tried {', '.join(candidates)}. "
            "Put the model's .npz (and its .decoder.yml) in that directory."
        )
    decoder = model + ".decoder.yml"
    if not there(decoder):
        raise DownloadError(
            f"model {join(url, model)} found but its decoder config {decoder} is missing: "
            f"copy it next to the model, {_copy_hint(url, decoder)}"
        )
    plan = {"final.npz": model, "final.npz.decoder.yml": decoder}

    # The vocab as upstream (mozilla/translations) looks for it: the pair vocab.{src}.spm +
    # vocab.{trg}.spm first, else the joint vocab.spm, saved under both language names
    # when they are known (identical content is what makes a pair joint).
    split = [f"vocab.{src}.spm", f"vocab.{trg}.spm"] if src and trg else []
    if split and all(there(name) for name in split):
        plan.update({name: name for name in split})
    elif there("vocab.spm"):
        plan.update({name: "vocab.spm" for name in split or ["vocab.spm"]})
    elif require_vocab:
        expected = "vocab.spm" + (f" or {split[0]} + {split[1]}" if split else "")
        raise DownloadError(
            f"no vocabulary under {url}: expected {expected}; the run takes its vocab from "
            "this model directory when continuation.vocab is not set: copy the vocab used "
            f"to train the model there, {_copy_hint(url, 'vocab.spm')}, or set "
            "continuation.vocab"
        )

    checkpoint = {}
    if mode == "continue":
        if model != "model.npz" and not there("model.npz"):
            raise DownloadError(
                f"mode continue needs the training checkpoint model.npz under {url}: "
                f"{_copy_hint(url, 'model.npz')}, or use mode init to train from {model}"
            )
        checkpoint = {"model.npz": True} | {name: there(name) for name in CHECKPOINT_EXTRAS}
        plan.update({name: name for name, found in checkpoint.items() if found})
        if not checkpoint["model.npz.optimizer.npz"]:
            log.warning("%s: optimizer state absent: training continues from the weights "
                        "with a fresh optimizer", url)

    manifest = {"url": url, "mode": mode, "model": model, "files": {}, "sha256": {}}
    fetched = {}  # remote name -> where it was saved
    for saved, name in plan.items():
        source = join(url, name)
        dest = os.path.join(out_dir, saved)
        if name in fetched:
            # Saved already (the checkpoint is the model, a joint vocab goes under two
            # names): copy it locally, not over the network.
            manifest["sha256"][saved] = fetch(fetched[name], dest)
        else:
            digest = sha256 if saved == "final.npz" else None
            manifest["sha256"][saved] = fetch(source, dest, sha256=digest, max_bytes=max_bytes, **net)
            fetched[name] = dest
        manifest["files"][saved] = source
    vocabs = [manifest["sha256"][name] for name in split if name in manifest["sha256"]]
    if vocabs:
        manifest["vocab"] = "joint" if len(set(vocabs)) == 1 else "split"
    if checkpoint:
        manifest["checkpoint"] = checkpoint
    with atomic_path(os.path.join(out_dir, "download.json")) as tmp:
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(manifest, out, indent=2, sort_keys=True)
            out.write("\n")
    return manifest


def vocab_size(path: str | os.PathLike, name: str | None = None) -> int:
    """Pieces of a SentencePiece model; `name` is what errors call it (default: the path)."""
    import sentencepiece

    try:
        return sentencepiece.SentencePieceProcessor(model_file=str(path)).get_piece_size()
    except (RuntimeError, OSError) as err:
        raise DownloadError(
            f"{name or path} is not a SentencePiece model ({err}): check that the URL "
            "names the vocab file (.spm) the models were trained with"
        ) from None


def check_npz(path: str | os.PathLike, name: str) -> None:
    """Refuse a 'model' that is not an .npz archive (an error page, a truncated file) or
    has a member that does not read back (checked against its CRC)."""
    if not zipfile.is_zipfile(path):
        raise DownloadError(
            f"{name} is not a Marian .npz model (not a zip archive): check the URL, or that "
            "the server did not answer with an error page"
        )
    member = None
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                with archive.open(member) as stream:
                    while stream.read(CHUNK):
                        pass
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError,
            NotImplementedError) as err:  # RuntimeError: encrypted; NotImplementedError: method
        where = f" (member {member.filename})" if member else ""
        raise DownloadError(
            f"{name} is a damaged .npz model{where}: {err}; download it again or check the "
            "file at its source"
        ) from None


def check_shipped_vocabs(out_dir: Path, src_vocab: str, trg_vocab: str, src: str | None,
                         trg: str | None, url: str, origin: str) -> None:
    """Every vocab a model directory ships must be the run's: vocab.{src}.spm its source
    vocab, vocab.{trg}.spm its target vocab, a joint vocab.spm both (by content)."""
    sides = {"source": src_vocab, "target": trg_vocab}
    named = {}
    if src and trg:
        named = {f"vocab.{src}.spm": ["source"], f"vocab.{trg}.spm": ["target"]}
    digests = {side: file_sha256(path) for side, path in sides.items()}
    own = {Path(path).resolve() for path in sides.values()}
    for path in sorted(out_dir.glob("vocab*.spm")):
        if path.resolve() in own:
            continue  # this directory provides the run's vocab
        digest = file_sha256(path)
        joint = ["source", "target"] if path.name == "vocab.spm" else []
        against = named.get(path.name) or joint  # [] for another name: either side
        differs = [s for s in against if digests[s] != digest]
        if differs or (not against and digest not in digests.values()):
            which = " and ".join(differs) if differs else "source or target"
            shown = ", ".join(sides[s] for s in (differs or sides))
            raise DownloadError(
                f"the model directory {url} ships {path.name}, which differs from the {which} "
                f"vocab this run uses ({shown}, from {origin}): the models of a run must "
                "share the vocab they were trained with; set continuation.vocab to it, or "
                "reuse models trained with one vocab"
            )


def check_vocab_fit(out_dir: str | os.PathLike, src_vocab: str, trg_vocab: str,
                    src: str | None = None, trg: str | None = None,
                    origin: str | None = None) -> None:
    """Fail when the run's vocab cannot be the one the downloaded model was trained with:
    the model directory ships a different vocab file, or its size differs from the model's
    embeddings. src_vocab and trg_vocab are in the model's direction, as are the languages
    src and trg that name the shipped vocab.{lang}.spm; `origin` says where the run's vocab
    came from (a URL) for the errors."""
    import numpy as np

    out_dir = Path(out_dir)
    manifest = out_dir / "download.json"
    record = json.loads(manifest.read_text()) if manifest.exists() else {}
    files = record.get("files", {})
    source = files.get("final.npz")
    url = record.get("url") or str(out_dir)
    origin = origin or f"{src_vocab}, {trg_vocab}"
    # Every downloaded .npz is read back member by member (CRC-checked) before Marian or
    # numpy meets it; a damaged one is removed, so that a rerun downloads it again.
    for name in ("final.npz", "model.npz", "model.npz.optimizer.npz"):
        path = out_dir / name
        if path.exists():
            try:
                check_npz(path, files.get(name) or str(path))
            except DownloadError:
                path.unlink()
                raise
    # Then what the directory ships: a different vocab is the precise diagnosis (it would
    # often fail the size check below too, with a vaguer message).
    check_shipped_vocabs(out_dir, src_vocab, trg_vocab, src, trg, url, origin)
    sizes = {"source": vocab_size(src_vocab), "target": vocab_size(trg_vocab)}
    # Marian parameter names: tied (Wemb), or per side; the output layer follows the target.
    expect = {"Wemb": ("source", 0), "encoder_Wemb": ("source", 0),
              "decoder_Wemb": ("target", 0), "decoder_ff_logit_out_b": ("target", -1)}
    try:
        with np.load(out_dir / "final.npz") as weights:
            shapes = {name: weights[name].shape for name in expect if name in weights.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise DownloadError(f"{source or out_dir / 'final.npz'} is a damaged .npz model: "
                            f"{err}; download it again or check the file at its source") from None
    for name, (side, axis) in expect.items():
        if name in shapes and shapes[name][axis] != sizes[side]:
            raise DownloadError(
                f"the {side} vocab ({src_vocab if side == 'source' else trg_vocab}, from "
                f"{origin}, {sizes[side]} pieces) does not fit the model {url} ({name} has "
                f"{shapes[name][axis]} rows): set continuation.vocab to the vocab "
                "the model was trained with"
            )


def fetch_corpus(
    src_url: str,
    trg_url: str,
    out_src: str | os.PathLike,
    out_trg: str | os.PathLike,
    tok_src: str | None = None,
    tok_trg: str | None = None,
    alignments: str | None = None,
    out_tok_src: str | os.PathLike | None = None,
    out_tok_trg: str | os.PathLike | None = None,
    out_aln: str | os.PathLike | None = None,
    *,
    retries: int = http.RETRIES,
    backoff: float = http.BACKOFF,
    timeout: float = http.TIMEOUT,
    max_bytes: int | None = None,
) -> int | None:
    """Fetch parallel files that must agree line by line; return their line count.

    If every output exists already nothing is done and None is returned. Each file goes to
    a hidden temporary name next to its output and is checked (.zst outputs are fully
    decompressed; a gzip file, like the older pipeline's corpus.aln.gz, is recompressed to zstd). Only when every file is valid and all line counts agree are they
    renamed into place; otherwise nothing is left behind.
    """
    jobs = [(src_url, out_src), (trg_url, out_trg)]
    for url, out, what in [(tok_src, out_tok_src, "tok_src"), (tok_trg, out_tok_trg, "tok_trg"),
                           (alignments, out_aln, "alignments")]:
        if url is None:
            continue
        if out is None:
            raise DownloadError(f"{what} URL {url} given without an output path")
        jobs.append((url, out))
    jobs = [(url, str(out)) for url, out in jobs]
    if all(os.path.isfile(out) for _, out in jobs):
        log.info("%s exist: not downloading again", ", ".join(out for _, out in jobs))
        return None

    net = dict(retries=retries, backoff=backoff, timeout=timeout)
    # Each file in a scratch directory next to its output (same filesystem, for the rename);
    # the ones a killed run leaves behind are removed by the next run (textio.scratch_dir).
    scratch = contextlib.ExitStack()
    temps = [os.path.join(scratch.enter_context(scratch_dir(out)), Path(out).name) for _, out in jobs]
    try:
        counts = []
        for (url, out), tmp in zip(jobs, temps, strict=True):
            fetch(url, tmp, max_bytes=max_bytes, **net)
            if out.endswith(".zst"):
                gzip_to_zst(tmp, url, max_bytes)
            try:
                counts.append(check_zst(tmp, url, max_bytes) if out.endswith(".zst")
                              else count_lines(tmp))
            except (CorruptInput, UnicodeDecodeError) as err:  # a .gz or plain output
                raise DownloadError(f"{url} cannot be read: {getattr(err, 'reason', err)}") from None
        if len(set(counts)) > 1:
            listing = ", ".join(f"{url} has {n}" for (url, _), n in zip(jobs, counts, strict=True))
            raise DownloadError(f"line counts differ in a parallel corpus: {listing} lines")
        for (_, out), tmp in zip(jobs, temps, strict=True):
            os.replace(tmp, out)
            fsync_dir(out)
        log.info("%d parallel lines in %s", counts[0], ", ".join(out for _, out in jobs))
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        scratch.close()
    return counts[0]


# ---------------------------------------------------------------------------------------
# Foreign models (continuation type opusmt): an OPUS-MT release, its own vocab included

# Where each file of a release goes in resources/models/{key}/: one layout whatever the
# release calls them (mtdistill.plan.Plan.model_vocab_files reads these names).
OPUSMT_LAYOUT = ("final.npz", "source.spm", "target.spm", "vocab.yml")
# The parameters whose rows are the vocab (tied, or per side; the output layer's bias).
EMBEDDINGS = {"Wemb": 0, "encoder_Wemb": 0, "decoder_Wemb": 0, "decoder_ff_logit_out_b": -1}


def _decoder_names(path: str | os.PathLike, url: str) -> tuple[str | None, list[str]]:
    """(first model, vocabs) a release's decoder.yml names, as bare file names
    (releases write them relative: relative-paths: true)."""
    import yaml

    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise DownloadError(f"the decoder.yml of {url} cannot be read: {err}") from None
    if not isinstance(config, dict):
        raise DownloadError(f"the decoder.yml of {url} is not a Marian config (a mapping)")
    models = [str(m).rsplit("/", 1)[-1] for m in config.get("models") or []]
    vocabs = [str(v).rsplit("/", 1)[-1] for v in config.get("vocabs") or []]
    return (models[0] if models else None), vocabs


def _pick_release_files(names: list[str], decoder: tuple[str | None, list[str]] | None,
                        url: str) -> dict:
    """Layout name -> release file name: the model decoder.yml names (else the best
    checkpoint, *.npz.best-perplexity.npz first), its YAML vocab, source.spm, target.spm."""
    model, vocabs = decoder or (None, [])
    npz = sorted(n for n in names if n.endswith(".npz"))
    if model not in npz:
        best = sorted(n for n in npz if ".npz.best-" in n)
        ranked = [n for n in best if n.endswith(".best-perplexity.npz")] + best + npz
        if len(npz) > 1 and not best:
            raise DownloadError(
                f"{url} holds several models ({', '.join(npz)}) and no decoder.yml naming "
                "one: add the release's decoder.yml"
            )
        model = ranked[0] if ranked else None
    if model is None:
        raise DownloadError(
            f"no Marian model (.npz) in {url}: an OPUS-MT release holds its model "
            "(e.g. opus.spm32k-spm32k.transformer-align.model1.npz.best-perplexity.npz), "
            "decoder.yml, source.spm, target.spm and its YAML vocab (opus*.vocab.yml); check "
            "the URL names a release zip, or use type default for a Marian model directory"
        )
    if len(set(vocabs)) > 1:
        raise DownloadError(
            f"the decoder.yml of {url} names two vocabs ({', '.join(vocabs)}): only releases "
            "with one YAML vocab for both sides are supported"
        )
    ymls = sorted(n for n in names if n.endswith("vocab.yml"))
    vocab = vocabs[0] if vocabs and vocabs[0] in names else (ymls[0] if len(ymls) == 1 else None)
    if vocab is None:
        found = f" (found {', '.join(ymls)})" if ymls else ""
        raise DownloadError(
            f"no Marian YAML vocab in {url}{found}: an OPUS-MT release holds one "
            "(e.g. opus.spm32k-spm32k.vocab.yml), named by its decoder.yml"
        )
    missing = [n for n in ("source.spm", "target.spm") if n not in names]
    if missing:
        raise DownloadError(
            f"{url} has no {' or '.join(missing)}: an OPUS-MT release ships the SentencePiece "
            "models of both sides; use the release zip as published"
        )
    return {"final.npz": model, "source.spm": "source.spm", "target.spm": "target.spm",
            "vocab.yml": vocab}


def yml_vocab_size(path: str | os.PathLike, name: str) -> int:
    """Rows of a Marian YAML vocab (piece: id): its largest id + 1. It must hold </s> and
    <unk>, as Marian requires."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as handle:
            vocab = yaml.load(handle, Loader=loader)  # noqa: S506 (a safe loader)
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise DownloadError(f"{name} is not a Marian YAML vocab: {err}") from None
    if not isinstance(vocab, dict) or not vocab or not all(
            isinstance(i, int) and i >= 0 for i in vocab.values()):
        raise DownloadError(f"{name} is not a Marian YAML vocab (piece: id lines)")
    missing = [s for s in ("</s>", "<unk>") if s not in vocab]
    if missing:
        raise DownloadError(f"{name} lacks {' and '.join(missing)}, which Marian requires")
    return max(vocab.values()) + 1


def check_own_vocab(out_dir: str | os.PathLike, names: dict, url: str) -> None:
    """A foreign model must fit its own vocab (never the experiment's): every embedding
    has as many rows as the YAML vocab has ids, and both SentencePiece models load."""
    import numpy as np

    out_dir = Path(out_dir)
    where = {saved: f"{url}:{name}" for saved, name in names.items()}
    check_npz(out_dir / "final.npz", where["final.npz"])
    for side in ("source.spm", "target.spm"):
        vocab_size(out_dir / side, where[side])
    size = yml_vocab_size(out_dir / "vocab.yml", where["vocab.yml"])
    with np.load(out_dir / "final.npz") as weights:
        rows = {n: weights[n].shape[axis] for n, axis in EMBEDDINGS.items() if n in weights.files}
    if not rows:
        raise DownloadError(f"{where['final.npz']} has no embeddings: not a Marian model")
    wrong = {n: r for n, r in rows.items() if r != size}
    if wrong:
        listing = ", ".join(f"{n} has {r}" for n, r in wrong.items())
        raise DownloadError(
            f"the model {where['final.npz']} does not fit its vocab {where['vocab.yml']} "
            f"({size} ids; {listing} rows): the release is inconsistent, use another"
        )


def fetch_opusmt(
    url: str,
    out_dir: str | os.PathLike,
    sha256: str | None = None,
    *,
    retries: int = http.RETRIES,
    backoff: float = http.BACKOFF,
    timeout: float = http.TIMEOUT,
    max_bytes: int | None = None,
) -> dict:
    """Fetch an OPUS-MT release (a .zip, or a directory of its files) into out_dir as
    final.npz, source.spm, target.spm, vocab.yml; return the manifest (download.json).

    A zip is downloaded whole (sha256, when given, is the zip's; for a directory, the
    model's) and only the chosen members are read out of it (mtdistill.data.archives: no
    absolute names, '..' or links, bounded by max_bytes). The files are checked against
    each other in a scratch folder, then renamed into place.
    """
    from mtdistill.data import archives

    net = dict(retries=retries, backoff=backoff, timeout=timeout)
    out_dir = str(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    manifest = {"url": url, "mode": "use", "type": "opusmt", "files": {}, "sha256": {}}
    with scratch_dir(os.path.join(out_dir, "final.npz")) as tmp:
        if urlsplit(url).path.endswith(".zip"):
            archive = os.path.join(tmp, "release.zip")
            manifest["archive_sha256"] = fetch(url, archive, sha256=sha256,
                                               max_bytes=max_bytes, **net)
            try:
                with archives.Archive(archive, url) as release:
                    members = {m.rsplit("/", 1)[-1]: m for m in release.members()}
                    decoder = None
                    if "decoder.yml" in members:
                        release.extract(members["decoder.yml"], os.path.join(tmp, "decoder.yml"),
                                        1 << 20)
                        decoder = _decoder_names(os.path.join(tmp, "decoder.yml"), url)
                    names = _pick_release_files(list(members), decoder, url)
                    left = max_bytes
                    for saved, name in names.items():
                        size = release.extract(members[name], os.path.join(tmp, saved), left)
                        left = None if left is None else left - size
                        manifest["files"][saved] = f"{url}:{members[name]}"
            except archives.ArchiveError as err:
                raise DownloadError(f"{url}: {err}") from None
            os.unlink(archive)
        else:
            decoder_url = join(url, "decoder.yml")
            if not exists(decoder_url, **net):
                raise DownloadError(
                    f"no decoder.yml under {url}: give the URL of an OPUS-MT release zip, or "
                    "of a directory holding its files (decoder.yml names the model and vocab)"
                )
            fetch(decoder_url, os.path.join(tmp, "decoder.yml"), max_bytes=1 << 20, **net)
            decoder = _decoder_names(os.path.join(tmp, "decoder.yml"), url)
            listed = [n for n in (decoder[0], *decoder[1], "source.spm", "target.spm") if n]
            names = _pick_release_files([n for n in listed if exists(join(url, n), **net)],
                                        decoder, url)
            for saved, name in names.items():
                digest = sha256 if saved == "final.npz" else None
                fetch(join(url, name), os.path.join(tmp, saved), sha256=digest,
                      max_bytes=max_bytes, **net)
                manifest["files"][saved] = join(url, name)
        check_own_vocab(tmp, names, url)
        manifest["model"] = names["final.npz"]
        for saved in OPUSMT_LAYOUT:
            manifest["sha256"][saved] = file_sha256(os.path.join(tmp, saved))
            os.replace(os.path.join(tmp, saved), os.path.join(out_dir, saved))
            fsync_dir(os.path.join(out_dir, saved))
    with atomic_path(os.path.join(out_dir, "download.json")) as tmp:
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(manifest, out, indent=2, sort_keys=True)
            out.write("\n")
    log.info("OPUS-MT model %s from %s in %s", manifest["model"], url, out_dir)
    return manifest


# ---------------------------------------------------------------------------------------
# CLI


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log", help="also append the log to this file")
    # The limits of config `downloads`: required, the schema holds their defaults.
    common.add_argument("--retries", type=int, required=True)
    common.add_argument("--timeout", type=float, required=True, help="seconds per network read")
    common.add_argument("--max-bytes", type=int, required=True,
                        help="refuse any file larger than this")

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("file", parents=[common], help="one file")
    p.add_argument("--url", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--sha256")
    p.add_argument("--zst", action="store_true", help="check that the file is valid zstd")
    p.add_argument("--spm", action="store_true", help="check that the file is a SentencePiece model")

    p = sub.add_parser("model", parents=[common], help="a Marian model directory")
    p.add_argument("--url", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--src")
    p.add_argument("--trg")
    p.add_argument("--metrics", default=",".join(METRICS), help="best-checkpoint preference")
    p.add_argument("--no-vocab", action="store_true", help="do not require a vocab")
    p.add_argument("--sha256", help="checksum of the model .npz")
    p.add_argument("--check-vocabs", nargs=2, metavar=("SRC_VOCAB", "TRG_VOCAB"),
                   help="fail unless these vocabs (in the model's direction, as --src and "
                   "--trg) fit the model")
    p.add_argument("--vocab-origin", help="where the checked vocabs came from (URL), for errors")

    p = sub.add_parser("opusmt", parents=[common],
                       help="an OPUS-MT release (zip or directory), with its own vocab")
    p.add_argument("--url", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--sha256", help="checksum of the zip (of the model .npz for a directory)")

    p = sub.add_parser("corpus", parents=[common], help="a parallel corpus, checked line by line")
    for name in ("--src-url", "--trg-url", "--out-src", "--out-trg"):
        p.add_argument(name, required=True)
    for name in ("--tok-src-url", "--tok-trg-url", "--aln-url",
                 "--out-tok-src", "--out-tok-trg", "--out-aln"):
        p.add_argument(name)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.log:
        errors.setup_logging(args.log)
    net = dict(retries=args.retries, timeout=args.timeout, max_bytes=args.max_bytes)
    if args.command == "file":
        checks = ([lambda tmp: check_zst(tmp, args.url, args.max_bytes)] if args.zst else []) + (
            [lambda tmp: vocab_size(tmp, args.url)] if args.spm else [])
        fetch(args.url, args.out, sha256=args.sha256,
              check=lambda tmp: [check(tmp) for check in checks], **net)
    elif args.command == "model":
        fetch_model(args.url, args.out_dir, args.mode, metrics=args.metrics.split(","),
                    src=args.src, trg=args.trg, require_vocab=not args.no_vocab,
                    sha256=args.sha256, **net)
        if args.check_vocabs:
            check_vocab_fit(args.out_dir, *args.check_vocabs, src=args.src, trg=args.trg,
                            origin=args.vocab_origin)
    elif args.command == "opusmt":
        fetch_opusmt(args.url, args.out_dir, sha256=args.sha256, **net)
    else:
        fetch_corpus(args.src_url, args.trg_url, args.out_src, args.out_trg,
                     tok_src=args.tok_src_url, tok_trg=args.tok_trg_url,
                     alignments=args.aln_url, out_tok_src=args.out_tok_src,
                     out_tok_trg=args.out_tok_trg, out_aln=args.out_aln, **net)
    return 0


if __name__ == "__main__":
    errors.run_main(main)
