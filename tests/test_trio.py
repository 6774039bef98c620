"""Reused alignment trios (mtdistill.distill.trio): detection, remapping, refusals.

Fixtures are made the upstream way on real human translations (tests/data/README.md):
ICU word tokens exactly as mozilla/translations' IcuTokenizer makes them (spaces kept as
▁ tokens), eflomal links on them symmetrized with grow-diag-final-and; and this
workflow's own trio (pieces of the vocab, mtdistill.distill.alignments).
"""

from __future__ import annotations

import gzip
import math
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT, TINY, snakemake, write_config
from mtdistill.common import textio
from mtdistill.distill import alignments, trio

DATA = Path(__file__).parent / "data"
SRC, TRG = "en", "ru"
# Share of remapped links that the alignments computed on the pieces have too: two eflomal
# runs on different tokenizations of 400 lines; measured 0.74.
AGREEMENT_FLOOR = 0.6


def icu_tokenize(text: str, lang: str) -> list[str]:
    """upstream pipeline/alignments/tokenizer.py IcuTokenizer.tokenize, as it is."""
    from icu import BreakIterator, Locale

    bi = BreakIterator.createWordInstance(Locale(lang))
    bi.setText(text)
    tokens = []
    start = bi.first()
    for end in bi:
        token = text[start:end]
        start = end
        if not token or token == "\n":
            continue
        tokens.append(token.replace(" ", "\u2581"))
    return tokens


def upstream_trio(src_lines, trg_lines, out: Path) -> dict:
    """corpus.{lang}.zst, corpus.tok-icu.{lang}.zst, corpus.aln.zst as align.py
    --tokenization=icu --output_tokenized writes them."""
    import eflomal

    pytest.importorskip("icu")
    out.mkdir(parents=True, exist_ok=True)
    tok = {lang: [" ".join(icu_tokenize(line, lang)) for line in lines]
           for lang, lines in ((SRC, src_lines), (TRG, trg_lines))}
    for lang in (SRC, TRG):
        (out / f"tok.{lang}").write_text("".join(t + "\n" for t in tok[lang]), encoding="utf-8")
    with open(out / f"tok.{SRC}", encoding="utf-8") as s, open(out / f"tok.{TRG}", encoding="utf-8") as t:
        eflomal.Aligner().align(s, t, links_filename_fwd=str(out / "fwd"), links_filename_rev=str(out / "rev"),
                                quiet=True)
    links = [" ".join(f"{i}-{j}" for i, j in sorted(alignments.grow_diag_final_and(
        alignments.parse_links(f), alignments.parse_links(r))))
        for f, r in zip(textio.read_lines(out / "fwd"), textio.read_lines(out / "rev"))]
    paths = {"src": out / f"corpus.{SRC}.zst", "trg": out / f"corpus.{TRG}.zst",
             "tok-src": out / f"corpus.tok-icu.{SRC}.zst", "tok-trg": out / f"corpus.tok-icu.{TRG}.zst",
             "alignments": out / "corpus.aln.zst"}
    textio.write_lines(paths["src"], src_lines)
    textio.write_lines(paths["trg"], trg_lines)
    textio.write_lines(paths["tok-src"], tok[SRC])
    textio.write_lines(paths["tok-trg"], tok[TRG])
    textio.write_lines(paths["alignments"], links)
    for name in ("fwd", "rev", f"tok.{SRC}", f"tok.{TRG}"):
        (out / name).unlink()
    return paths


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The real pairs, a vocab trained on them, the upstream trio and this workflow's."""
    from mtdistill.train import vocab

    root = tmp_path_factory.mktemp("trio")
    src_lines = (DATA / f"elrc2922.en-ru.{SRC}").read_text(encoding="utf-8").splitlines()
    trg_lines = (DATA / f"elrc2922.en-ru.{TRG}").read_text(encoding="utf-8").splitlines()
    icu = upstream_trio(src_lines, trg_lines, root / "upstream")
    spm = root / "vocab.spm"
    vocab.train([str(icu["src"]), str(icu["trg"])], str(spm), 1000, 1000, 1, 1.0)
    own = root / "own"
    own.mkdir()
    pieces = {"src": icu["src"], "trg": icu["trg"], "tok-src": own / f"tok-{SRC}.zst",
              "tok-trg": own / f"tok-{TRG}.zst", "alignments": own / "aln.zst"}
    alignments.align(str(icu["src"]), str(icu["trg"]), str(spm), str(spm), str(pieces["alignments"]),
                     tok_outputs=(str(pieces["tok-src"]), str(pieces["tok-trg"])))
    return {"root": root, "icu": icu, "pieces": pieces, "vocab": str(spm), "src": src_lines, "trg": trg_lines}


def convert(paths, vocab, output=None, urls=None):
    return trio.convert({k: str(v) for k, v in paths.items()}, vocab, vocab, output and str(output), urls)


def variant(real, tmp_path, kind, key, edit, suffix=".zst"):
    """A copy of a trio whose `key` file has its lines changed by `edit`."""
    paths = dict(real[kind])
    lines = list(textio.read_lines(paths[key]))
    paths[key] = tmp_path / f"{key}{suffix}"
    textio.write_lines(paths[key], edit(lines))
    return paths


# --- detection and remapping ------------------------------------------------------------


def test_upstream_icu_trio_is_remapped_to_pieces(real, tmp_path):
    out = tmp_path / "aln.zst"
    report = convert(real["icu"], real["vocab"], out)
    assert report["format"] == "icu" and report["lines"] == len(real["src"])
    remapped = list(textio.read_lines(out))
    direct = list(textio.read_lines(real["pieces"]["alignments"]))
    assert len(remapped) == len(direct)
    common = sum(len(set(a.split()) & set(b.split())) for a, b in zip(remapped, direct))
    n_remapped = sum(len(a.split()) for a in remapped)
    n_direct = sum(len(b.split()) for b in direct)
    agreement = common / n_remapped
    print(f"\nremapped ICU/eflomal links also in the alignments computed on the pieces: "
          f"{agreement:.1%} ({common}/{n_remapped}); direct links covered: {common / n_direct:.1%}; "
          f"links on ▁ tokens dropped: {report['links_dropped']}/{report['links']}")
    assert agreement >= AGREEMENT_FLOOR
    # Every link is in range of the pieces Marian sees.
    sp = __import__("sentencepiece").SentencePieceProcessor(model_file=real["vocab"])
    for src, trg, line in zip(real["src"], real["trg"], remapped):
        n_src, n_trg = len(sp.encode(src)), len(sp.encode(trg))
        assert all(int(i) < n_src and int(j) < n_trg for i, j in (p.split("-") for p in line.split()))


def test_own_pieces_trio_passes_through(real, tmp_path):
    out = tmp_path / "aln.zst"
    report = convert(real["pieces"], real["vocab"], out)
    assert report["format"] == "pieces" and "fast_align" not in report["described"]
    assert list(textio.read_lines(out)) == list(textio.read_lines(real["pieces"]["alignments"]))


def test_older_pipeline_gzip_pieces(real, tmp_path):
    paths = variant(real, tmp_path, "pieces", "alignments", lambda lines: lines, suffix=".gz")
    with gzip.open(paths["alignments"], "rt", encoding="utf-8") as handle:
        assert handle.readline()  # really gzip
    report = convert(paths, real["vocab"], tmp_path / "aln.zst", urls={"alignments": "https://old/corpus.aln.gz"})
    assert report["format"] == "pieces" and "fast_align" in report["described"]
    assert list(textio.read_lines(tmp_path / "aln.zst")) == list(textio.read_lines(real["pieces"]["alignments"]))


def test_gzip_download_is_recompressed(real, http_server, tmp_path):
    from mtdistill.data.download import fetch_corpus

    files = {"c.en.zst": real["icu"]["src"], "c.ru.zst": real["icu"]["trg"]}
    for name, path in files.items():
        http_server.put(name, Path(path).read_bytes())
    text = "".join(line + "\n" for line in textio.read_lines(real["pieces"]["alignments"]))
    http_server.put("corpus.aln.gz", gzip.compress(text.encode()))
    http_server.put("tok.en.zst", Path(real["pieces"]["tok-src"]).read_bytes())
    http_server.put("tok.ru.zst", Path(real["pieces"]["tok-trg"]).read_bytes())
    u, out = http_server.url, tmp_path / "out"
    n = fetch_corpus(f"{u}/c.en.zst", f"{u}/c.ru.zst", out / "en.zst", out / "ru.zst",
                     tok_src=f"{u}/tok.en.zst", tok_trg=f"{u}/tok.ru.zst", alignments=f"{u}/corpus.aln.gz",
                     out_tok_src=out / "tok.en.zst", out_tok_trg=out / "tok.ru.zst", out_aln=out / "aln.zst",
                     retries=0)
    assert n == len(real["src"])
    assert textio.check_zst(out / "aln.zst") == n
    assert "".join(line + "\n" for line in textio.read_lines(out / "aln.zst")) == text


def test_icu_spans_and_overlaps():
    line = "Hello, big  world"
    tokens = ["Hello", ",", "▁", "big", "▁▁", "world"]
    spans = trio.icu_spans(line, tokens)
    assert spans == [(0, 5), (5, 6), None, (7, 10), None, (12, 17)]
    # Whitespace that the token file cannot hold (a no-break space) may be missing; the
    # line's end too (upstream strips it).
    assert trio.icu_spans("a\u00a0b  ", ["a", "b"]) == [(0, 1), (2, 3)]
    assert "token 2 'x'" in trio.icu_spans("a b", ["a", "x"])
    # Pieces with empty spans (byte fallback) take the next piece's.
    pieces = trio.piece_spans([(0, 0), (0, 5), (5, 6), (6, 10), (10, 10), (10, 10), (10, 17)])
    assert pieces == [(0, 5), (0, 5), (5, 6), (6, 10), (10, 17), (10, 17), (10, 17)]
    assert trio.token_pieces(spans, pieces) == [[0, 1], [2], [], [3], [], [4, 5, 6]]


# --- refusals: before any training, naming the URL and the line -------------------------

URLS = {"src": "https://up/corpus.en.zst", "trg": "https://up/corpus.ru.zst",
        "tok-src": "https://up/corpus.tok-icu.en.zst", "tok-trg": "https://up/corpus.tok-icu.ru.zst",
        "alignments": "https://up/corpus.aln.zst"}


def refused(paths, vocab, tmp_path) -> str:
    with pytest.raises(trio.TrioError) as err:
        convert(paths, vocab, tmp_path / "out.aln.zst", urls=URLS)
    assert not (tmp_path / "out.aln.zst").exists()
    return str(err.value)


def test_link_beyond_the_tokens(real, tmp_path):
    n = len(list(textio.read_lines(real["icu"]["tok-src"]))[41].split())
    paths = variant(real, tmp_path, "icu", "alignments",
                    lambda lines: lines[:41] + [lines[41] + f" {n + 500}-0"] + lines[42:])
    message = refused(paths, real["vocab"], tmp_path)
    assert message.startswith(f"{URLS['alignments']}: line 42: link {n + 500}-0 points to source token "
                              f"{n + 500}, but the line has {n} tokens")


def test_tokens_that_do_not_rebuild_the_line(real, tmp_path):
    paths = variant(real, tmp_path, "icu", "tok-trg",
                    lambda lines: lines[:299] + [lines[299].replace("▁", "", 1)] + lines[300:])
    message = refused(paths, real["vocab"], tmp_path)
    assert message.startswith(f"{URLS['tok-trg']}: line 300: the ICU tokens do not rebuild the corpus line")


def test_pieces_of_another_vocab(real, tmp_path):
    paths = variant(real, tmp_path, "pieces", "tok-src",
                    lambda lines: lines[:9] + [lines[9].replace("▁", "▁▁", 1)] + lines[10:])
    message = refused(paths, real["vocab"], tmp_path)
    assert message.startswith(f"{URLS['tok-src']}: line 10: not the pieces of the vocab: token 1")


def test_neither_format(real, tmp_path):
    paths = variant(real, tmp_path, "icu", "tok-src", lambda lines: [line.upper() for line in lines])
    message = refused(paths, real["vocab"], tmp_path)
    assert message.startswith(f"{URLS['tok-src']}: line 1: the tokens are neither ICU tokens")


def test_line_count_mismatch(real, tmp_path):
    paths = variant(real, tmp_path, "icu", "alignments", lambda lines: lines[:-1])
    message = refused(paths, real["vocab"], tmp_path)
    n = len(real["src"])
    assert message.startswith(f"{URLS['alignments']} ends after line {n - 1}, but {URLS['src']} has a line {n}")
    assert "line count mismatch" in message


# --- end to end: the student trains on an upstream trio ---------------------------------


def test_student_trains_on_upstream_trio(real, http_server, workdir, tmp_path):
    """An upstream-format distillation trio (ICU tokens, eflomal) over HTTP: converted, and
    the student's guided alignment has finite costs (it was `Cost nan` on every update)."""
    for name, path in real["icu"].items():
        http_server.put(path.name, path.read_bytes())
    http_server.put("vocab.spm", Path(real["vocab"]).read_bytes())
    u = http_server.url
    distillation = {"src": f"{u}/corpus.{SRC}.zst", "trg": f"{u}/corpus.{TRG}.zst",
                    "tok-src": f"{u}/corpus.tok-icu.{SRC}.zst", "tok-trg": f"{u}/corpus.tok-icu.{TRG}.zst",
                    "alignments": f"{u}/corpus.aln.zst"}
    cfg = {"experiment": {"name": "trio", "finetune-student": False, "quantize": False},
           "datasets": {"train": [], "mono-src": [], "mono-trg": []},
           "continuation": {"vocab": {"src": f"{u}/vocab.spm", "trg": f"{u}/vocab.spm"},
                            "corpora": {"distillation": distillation}}}
    overlay = write_config(tmp_path / "trio.yml", yaml.safe_dump(cfg))
    model = "results/trio/models/student/final.npz"
    result = snakemake(workdir, "--cores", "2", model, configfiles=[DEFAULT, TINY, overlay], timeout=900)
    assert "trio_distillation" in result.stdout + result.stderr
    assert (workdir / model).exists()
    report = yaml.safe_load((workdir / "results/trio/corpus/distillation.trio.json").read_text())
    assert report["format"] == "icu" and report["lines"] == len(real["src"])
    log = (workdir / "results/trio/models/student/train.log").read_text()
    costs = re.findall(r"Up\. \d+ .*?Cost (\S+)", log)
    assert costs, log[-2000:]
    assert all(math.isfinite(float(c)) for c in costs), costs
    assert "nan" not in " ".join(costs).lower()
    shutil.rmtree(workdir / "results/trio/models", ignore_errors=True)
