"""Dataset importers (scripts/mtdistill/data/importers.py) and safe archive reading (scripts/mtdistill/data/archives.py).

Every service is imitated by a local HTTP server on 127.0.0.1 serving files in that
service's real download format; the importers reach it through the configured mirrors,
along the same code path as a real download.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard
from conftest import DEFAULT, REPO, TINY, dry_run, snakemake, write_config


from mtdistill.data import archives
from mtdistill.data import importers
from mtdistill.data import names
from mtdistill.data.archives import ArchiveError
from mtdistill.data.importers import ImporterError, dataset_stem, import_dataset

EN = ["Hello world.", "The cat sits.", "Line three ü."]
DE = ["Hallo Welt.", "Die Katze sitzt.", "Zeile drei ü."]


# ---------------------------------------------------------------------------------------
# Fixtures in each service's download format


def zip_bytes(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return buf.getvalue()


def tar_bytes(members: dict[str, str], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def lines(items: list[str]) -> str:
    return "".join(f"{x}\n" for x in items)


def sgm(items: list[str], lang: str) -> str:
    segs = "".join(f'<seg id="{i}">{x}</seg>\n' for i, x in enumerate(items, 1))
    return (f'<srcset setid="newstest2019" srclang="any">\n<doc sysid="ref" docid="d1" '
            f'genre="news" origlang="{lang}">\n<p>\n{segs}</p>\n</doc>\n</srcset>\n')


def opus_zip(en=EN, de=DE) -> bytes:
    return zip_bytes({"Test.de-en.de": lines(de), "Test.de-en.en": lines(en), "README": "x"})


OPUS = "opus/OPUS-Test/v1/moses/de-en.txt.zip"
FLORES = "flores/flores200_dataset.tar.gz"
NEWS = "statmt/news-crawl/en/news.2021.en.shuffled.deduped.gz"
SACREBLEU = "sb/data.statmt.org/wmt19/translation-task/test.tgz"
MTDATA = "mt/data.statmt.org/news-commentary/v16/training/news-commentary-v16.de-en.tsv.gz"


def fixtures() -> dict[str, bytes]:
    zc = zstandard.ZstdCompressor()
    return {
        OPUS: opus_zip(),
        FLORES: tar_bytes({"flores200_dataset/dev/eng_Latn.dev": lines(EN),
                           "flores200_dataset/dev/deu_Latn.dev": lines(DE),
                           "flores200_dataset/devtest/eng_Latn.devtest": lines(EN[:2])}),
        NEWS: gzip.compress(lines(EN).encode()),
        SACREBLEU: tar_bytes({"sgm/newstest2019-ende-src.en.sgm": sgm(EN, "en"),
                              "sgm/newstest2019-ende-ref.de.sgm": sgm(DE, "en")}),
        MTDATA: gzip.compress("".join(f"{d}\t{e}\n" for d, e in zip(DE, EN)).encode()),
        "files/corpus.en.zst": zc.compress(lines(EN).encode()),
        "files/corpus.de.zst": zc.compress(lines(DE).encode()),
    }


@pytest.fixture
def server(http_server):
    """conftest's http_server serving the fixtures above, with the mirrors that reach them."""
    for rel, data in fixtures().items():
        http_server.put(rel, data)
    base = http_server.url
    http_server.mirrors = {"opus": f"{base}/opus", "flores": f"{base}/flores",
                           "news-crawl": f"{base}/statmt", "sacrebleu": f"{base}/sb",
                           "mtdata": f"{base}/mt"}
    return http_server


def run_import(tmp_path, server, name, langs=("en", "de"), **kwargs):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    outputs = [str(out / f"{dataset_stem(name)}.{lang}.zst") for lang in langs]
    n = import_dataset(name, list(langs), outputs, str(tmp_path / "cache"), server.mirrors,
                       retries=1, backoff=0.01, timeout=5, **kwargs)
    return n, [read_zst(p) for p in outputs]


def read_zst(path) -> list[str]:
    with open(path, "rb") as handle:
        data = zstandard.ZstdDecompressor().stream_reader(handle).read()
    return data.decode("utf-8").splitlines()


def leftovers(tmp_path) -> list[str]:
    """Every file under out/ and cache/: after a failure there must be none."""
    return sorted(str(p.relative_to(tmp_path)) for d in ("out", "cache")
                  for p in (tmp_path / d).rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------
# Each importer through the real code path


def test_opus_moses_zip(tmp_path, server):
    n, (en, de) = run_import(tmp_path, server, "opus_Test/v1")
    assert n == 3 and en == EN and de == DE
    # Cached by URL: a second import (another experiment) downloads nothing.
    run_import(tmp_path, server, "opus_Test/v1")
    assert server.hits(OPUS) == 1


def test_flores_tarball_with_language_codes(tmp_path, server):
    n, (en, de) = run_import(tmp_path, server, "flores_dev")
    assert (n, en, de) == (3, EN, DE)
    _, (mono,) = run_import(tmp_path, server, "flores_devtest", langs=("en",))
    assert mono == EN[:2]


def test_news_crawl_gz_mono(tmp_path, server):
    assert run_import(tmp_path, server, "news-crawl_news.2021", langs=("en",))[1] == [EN]


def test_url_zst_with_lang_placeholder(tmp_path, server):
    name = f"url_{server.url}/files/corpus.[LANG].zst"
    n, (en, de) = run_import(tmp_path, server, name)
    assert (n, en, de) == (3, EN, DE)
    assert dataset_stem(name).startswith("url_") and "corpus.LANG" in dataset_stem(name)


def test_sacrebleu_sgml_testset(tmp_path, server):
    n, (en, de) = run_import(tmp_path, server, "sacrebleu_wmt19")
    assert (n, en, de) == (3, EN, DE)
    # wmt19's de-en pair lives in other files: a mirror lacking them is named.
    with pytest.raises(ImporterError, match="sacrebleu_wmt19: .*lack.*deen"):
        run_import(tmp_path, server, "sacrebleu_wmt19", langs=("de", "en"))


def test_sacrebleu_plain_zip_used_backwards(tmp_path, server):
    """wmt20/robust/set1 has only en-de: a de->en experiment reads it swapped."""
    server_path = "sb/data.statmt.org/wmt20/robustness-task/robustness20-3-sets.zip"
    folder = "robustness20-3-sets/robustness20-set1-ende"
    (server.root / server_path).parent.mkdir(parents=True)
    (server.root / server_path).write_bytes(
        zip_bytes({f"{folder}.en": lines(EN), f"{folder}.de": lines(DE)}))
    n, (de, en) = run_import(tmp_path, server, "sacrebleu_wmt20/robust/set1", langs=("de", "en"))
    assert (n, de, en) == (3, DE, EN)


def test_sacrebleu_unknown_pair_lists_the_pairs():
    with pytest.raises(ImporterError, match=r"sacrebleu_wmt19: .* no en-xx data; its pairs are .*de-en"):
        names.check_dataset("sacrebleu_wmt19", ["en", "xx"])


def test_flores_unknown_language_is_named():
    with pytest.raises(ImporterError, match="flores_dev: no FLORES-200 code known for language 'xx'"):
        names.check_dataset("flores_dev", ["en", "xx"])


# Seeds $MTDATA with an index of only mtdata's Statmt group, in mtdata's own cache format:
# importing mtdata.index otherwise builds the full index (~290k entries, 30-50 s). Falls
# back to that full build if mtdata's module changes.
SEED_MTDATA_INDEX = """
import importlib.util, pickle, sys, types
import mtdata
spec = importlib.util.find_spec("mtdata.index")
src = open(spec.origin).read()
line = "INDEX: Index = Index.get_instance()"
if line in src:
    mod = types.ModuleType("mtdata.index")
    mod.__file__, mod.__path__, mod.__package__ = spec.origin, spec.submodule_search_locations, "mtdata.index"
    sys.modules["mtdata.index"] = mod
    exec(compile(src.replace(line, "INDEX = None"), spec.origin, "exec"), mod.__dict__)
    from mtdata.index import statmt
    index = mod.Index()
    statmt.load_all(index)
    mtdata.cached_index_file.parent.mkdir(parents=True, exist_ok=True)
    with open(mtdata.cached_index_file, "wb") as out:
        pickle.dump(index, out)
"""


@pytest.fixture(scope="module")
def mtdata_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("mtdata")
    env = dict(os.environ, MTDATA=str(path))
    subprocess.run([sys.executable, "-c", SEED_MTDATA_INDEX], env=env, check=True, timeout=120)
    return path


def import_mtdata(tmp_path, server, mtdata_dir,
                  name="mtdata_Statmt-news_commentary-16-deu-eng"):
    out = tmp_path / "out"
    out.mkdir()
    outputs = [out / "nc.en.zst", out / "nc.de.zst"]
    result = subprocess.run(
        [sys.executable, "-m", "mtdistill.data.importers", "--dataset",
         name, "--langs", "en", "de",
         "--outputs", *map(str, outputs), "--cache-dir", str(tmp_path / "cache"),
         "--mtdata-dir", str(mtdata_dir), "--max-bytes", "50000000000", "--timeout", "60",
         "--retries", "0",
         "--mirrors", f'{{"mtdata": "{server.mirrors["mtdata"]}"}}'],
        capture_output=True, text=True, timeout=300)
    return result, outputs


def test_mtdata_through_its_index_and_parser(tmp_path, server, mtdata_dir):
    """The CLI as the rule runs it: mtdata's index resolves the id, our fetch downloads
    from the mirror, mtdata's TSV parser reads it; deu-eng is swapped to en-de."""
    result, outputs = import_mtdata(tmp_path, server, mtdata_dir)
    assert result.returncode == 0, result.stderr
    assert [read_zst(p) for p in outputs] == [EN, DE]
    assert server.paths() == [f"/{MTDATA}"]


def test_mtdata_archive_entry(tmp_path, server, mtdata_dir):
    """An entry whose files are members of a tarball (mtdata's in_paths)."""
    rel = "mt/www.statmt.org/wmt13/training-parallel-commoncrawl.tgz"
    (server.root / rel).parent.mkdir(parents=True)
    (server.root / rel).write_bytes(tar_bytes({"commoncrawl.de-en.de": lines(DE),
                                               "commoncrawl.de-en.en": lines(EN),
                                               "commoncrawl.fr-en.fr": "x\n"}))
    result, outputs = import_mtdata(tmp_path, server, mtdata_dir,
                                    "mtdata_Statmt-commoncrawl_wmt13-1-deu-eng")
    assert result.returncode == 0, result.stderr
    assert [read_zst(p) for p in outputs] == [EN, DE]
    assert not list((tmp_path / "out").glob(".import-*"))  # the extraction folder is gone


@pytest.mark.parametrize("damage,message", [
    (lambda data: data[: len(data) // 2], "corrupt or truncated"),  # a cut .tsv.gz
    (lambda data: gzip.compress(b"only one column\n"), "mtdata could not parse"),
])
def test_mtdata_failures(tmp_path, server, mtdata_dir, damage, message):
    path = server.root / MTDATA
    path.write_bytes(damage(path.read_bytes()))
    result, _ = import_mtdata(tmp_path, server, mtdata_dir)
    assert result.returncode == 1
    assert "dataset mtdata_Statmt-news_commentary-16-deu-eng: " in result.stderr
    assert message in result.stderr
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------
# Failures: a clear error naming the dataset, and nothing half-written


@pytest.mark.parametrize("status", [404, 500])
def test_failed_download(tmp_path, server, status):
    server.route(OPUS, status=status)
    with pytest.raises(ImporterError, match=rf"opus_Test/v1: download failed: .*HTTP {status}"):
        run_import(tmp_path, server, "opus_Test/v1")
    assert leftovers(tmp_path) == []


def test_truncated_download(tmp_path, server):
    server.route(FLORES, truncate=True)
    with pytest.raises(ImporterError, match="flores_dev: download failed"):
        run_import(tmp_path, server, "flores_dev")
    assert leftovers(tmp_path) == []
    assert server.hits(FLORES) == 2  # retried once


@pytest.mark.parametrize("rel,name,langs", [
    (OPUS, "opus_Test/v1", ("en", "de")),
    (FLORES, "flores_dev", ("en", "de")),
    (NEWS, "news-crawl_news.2021", ("en",)),
    (SACREBLEU, "sacrebleu_wmt19", ("en", "de")),
])
def test_corrupt_archive(tmp_path, server, rel, name, langs):
    """A file served whole but cut short at the source: the archive is unreadable."""
    path = server.root / rel
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises((ImporterError, ArchiveError), match=f"dataset {name}"):
        run_import(tmp_path, server, name, langs=langs)
    # The unreadable download is dropped too, so a retry fetches it again.
    assert leftovers(tmp_path) == []


def test_mismatched_line_counts(tmp_path, server):
    (server.root / OPUS).write_bytes(opus_zip(en=EN, de=DE[:2]))
    with pytest.raises(ImporterError, match=r"opus_Test/v1: line counts differ .*en has 3, de has 2"):
        run_import(tmp_path, server, "opus_Test/v1")
    assert leftovers(tmp_path) == []


def test_mismatched_url_files(tmp_path, server):
    zc = zstandard.ZstdCompressor()
    (server.root / "files/corpus.de.zst").write_bytes(zc.compress(lines(DE + ["extra"]).encode()))
    name = f"url_{server.url}/files/corpus.[LANG].zst"
    with pytest.raises(ImporterError, match=r"url_http.*line counts differ .*en has 3, de has 4"):
        run_import(tmp_path, server, name)
    assert leftovers(tmp_path) == []


def test_cli_error_names_dataset(tmp_path, server):
    server.route(NEWS, status=404)
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "mtdistill.data.importers", "--dataset",
         "news-crawl_news.2021", "--langs", "en", "--outputs", str(out / "n.en.zst"),
         "--cache-dir", str(tmp_path / "cache"), "--mirrors",
         f'{{"news-crawl": "{server.mirrors["news-crawl"]}"}}', "--max-bytes", "50000000000",
         "--timeout", "60", "--retries", "0"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "news-crawl_news.2021: download failed" in result.stderr and "HTTP 404" in result.stderr
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------
# Names and stems


def test_stems_are_safe_and_distinct():
    assert dataset_stem("opus_ELRC-3075/v1") == "opus_ELRC-3075_v1"
    assert dataset_stem("toy_train") == "toy_train"
    assert dataset_stem("sacrebleu_wmt20/robust/set1") == "sacrebleu_wmt20_robust_set1"
    a = dataset_stem("url_https://a.org/x/c.[LANG].gz")
    b = dataset_stem("url_https://b.org/x/c.[LANG].gz")
    assert a != b and a.endswith("_c.LANG") and b.endswith("_c.LANG")
    for stem in (a, b, dataset_stem("news-crawl_news.2021")):
        assert names.STEM.fullmatch(stem)


@pytest.mark.parametrize("name", ["opus_a b/v1", "url_https://h/x;rm", "url_https://h/../x",
                                  "toy_a$b", "nope_x", "url_https://h/`id`"])
def test_bad_names_refused(name):
    with pytest.raises(ImporterError):
        names.check_name(name)


def test_news_crawl_is_mono_only():
    with pytest.raises(ImporterError, match="news-crawl is monolingual"):
        names.check_dataset("news-crawl_news.2021", ["en", "de"])
    with pytest.raises(ImporterError, match="opus_X/v1: OPUS moses downloads are per language pair"):
        names.check_dataset("opus_X/v1", ["en"])


# ---------------------------------------------------------------------------------------
# archives.py


def evil_tar(tmp_path) -> Path:
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as tf:
        for name, data in (("../evil", b"owned"), ("ok.txt", b"fine\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("link.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
        hard = tarfile.TarInfo("hard.txt")
        hard.type, hard.linkname = tarfile.LNKTYPE, "ok.txt"
        tf.addfile(hard)
    return path


def evil_zip(tmp_path) -> Path:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../evil", "owned")
        zf.writestr("/abs.txt", "owned")
        zf.writestr("ok.txt", "fine\n")
        link = zipfile.ZipInfo("link.txt")
        link.external_attr = (0o120777 << 16)  # a Unix symlink
        zf.writestr(link, "/etc/passwd")
    return path


@pytest.mark.parametrize("make", [evil_tar, evil_zip])
def test_archive_refuses_unsafe_members(tmp_path, make):
    path = make(tmp_path)
    dest = tmp_path / "x" / "y"
    dest.mkdir(parents=True)
    with archives.Archive(path) as arc:
        with arc.open("ok.txt") as stream:
            assert stream.read() == b"fine\n"
        with pytest.raises(ArchiveError, match="'..' component"):
            arc.open("../evil").__enter__()
        with pytest.raises(ArchiveError, match="not a regular file"):
            arc.open("link.txt").__enter__()
    with pytest.raises(ArchiveError):
        archives.extract(path, ["*"], dest)  # a glob reaching an unsafe member
    with pytest.raises(ArchiveError):
        archives.extract(path, ["../evil"], dest)
    assert not (tmp_path / "x" / "evil").exists() and not (tmp_path / "evil").exists()
    assert archives.extract(path, ["ok.txt"], dest) == [str(dest / "ok.txt")]
    assert not list(dest.glob("*.part"))


def test_archive_size_bound(tmp_path):
    path = tmp_path / "bomb.zip"
    path.write_bytes(zip_bytes({"big.txt": "a" * 100_000}))  # compresses to ~100 bytes
    with pytest.raises(ArchiveError, match="larger than the limit of 1000 bytes"):
        archives.extract(path, ["big.txt"], tmp_path / "d", max_bytes=1000)
    assert not list((tmp_path / "d").rglob("*.*"))


def test_archive_hardlink_refused(tmp_path):
    with archives.Archive(evil_tar(tmp_path)) as arc:
        with pytest.raises(ArchiveError, match="not a regular file"):
            arc.open("hard.txt").__enter__()


# ---------------------------------------------------------------------------------------
# The workflow: one dataset of each importer, planned without any network


def test_dry_run_plans_every_importer(workdir, tmp_path):
    cfg = write_config(tmp_path / "c.yml", """
experiment: {src: en, trg: de}
datasets:
  train: [opus_ELRC-3075/v1, "mtdata_Statmt-news_commentary-16-deu-eng",
          "url_http://127.0.0.1:9/c.[LANG].gz"]
  devtest: [flores_dev]
  test: [sacrebleu_wmt19, flores_devtest]
  mono-src: [news-crawl_news.2021]
  mono-trg: [news-crawl_news.2021, flores_dev]
  mirrors: {opus: "http://127.0.0.1:9/opus", news-crawl: "http://127.0.0.1:9/nc"}
""")
    jobs = dry_run(workdir, configfiles=[DEFAULT, TINY, cfg])
    # 6 parallel datasets, one job each; news-crawl once per language; flores_dev is
    # parallel already, so its de side is not imported twice. No toy_ data for en-de.
    assert jobs["import_parallel"] == 6
    assert jobs["import_mono"] == 2
    assert "import_dataset" not in jobs and "generate_toy_corpus" not in jobs
    assert not (workdir / "resources").exists()


def test_config_errors_before_any_job(workdir, tmp_path):
    cases = {
        "datasets: {train: [news-crawl_news.2021]}": "news-crawl is monolingual",
        'datasets: {train: ["opus_a_b/v1", "opus_a/b_v1"]}': "map to the same file name",
    }
    for text, message in cases.items():
        cfg = write_config(tmp_path / "c.yml", "experiment: {src: en, trg: xx}\n" + text + "\n")
        result = snakemake(workdir, "-n", configfiles=[DEFAULT, TINY, cfg], check=False)
        assert result.returncode != 0 and message in result.stdout + result.stderr, text


def test_import_rules_run(workdir, tmp_path, server):
    """The rules' commands, for real: names with '/' and '.' reach the script through
    their stems, downloads land in resources/ (the cache experiments share). Only import
    jobs run: a few seconds."""
    m = server.mirrors
    cfg = write_config(tmp_path / "c.yml", f"""
experiment: {{src: en, trg: de}}
datasets:
  train: [opus_Test/v1]
  devtest: [opus_Test/v1]
  test: ["sacrebleu_wmt19"]
  mono-src: [news-crawl_news.2021]
  mono-trg: []
  mirrors: {{opus: "{m['opus']}", news-crawl: "{m['news-crawl']}"}}
""")
    data = "results/tiny/data/original"
    targets = [f"{data}/opus_Test_v1.en.zst", f"{data}/opus_Test_v1.de.zst",
               f"{data}/news-crawl_news.2021.en.zst"]
    snakemake(workdir, "--cores", "1", *targets, configfiles=[DEFAULT, TINY, cfg])
    assert read_zst(workdir / targets[0]) == EN and read_zst(workdir / targets[1]) == DE
    assert read_zst(workdir / targets[2]) == EN
    assert len(list((workdir / "resources" / "downloads").glob("*/*"))) == 2
    assert sorted(server.paths()) == sorted([f"/{OPUS}", f"/{NEWS}"])
