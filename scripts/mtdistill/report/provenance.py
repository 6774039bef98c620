#!/usr/bin/env python3
"""Report where every model, the vocab and the corpora of a run came from: trained (or
made) here, or downloaded by URL and used how (continuation mode use, continue or init).

The models' provenance is the JSON the export writes into model.json (`provenance()` in
rules/common.smk); download manifests (download.json next to a downloaded model) add the
file that was picked and its checksum.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from mtdistill.common import errors
from mtdistill.report import html as report_html
from mtdistill.common.textio import atomic_write

log = logging.getLogger("report.provenance")

MODES = {
    "train": "trained here",
    "use": "downloaded, used as it is",
    "continue": "downloaded checkpoint, training continued here",
    "init": "trained here from downloaded weights",
}


def model_rows(provenance: dict, derived: dict, manifests: dict[str, str]) -> list[dict]:
    rows = []
    for name, origin in {**provenance, **derived}.items():
        if isinstance(origin, str):
            row = {"model": name, "origin": origin, "mode": "train" if origin == "trained" else "", "url": ""}
        else:
            row = {"model": name, "origin": MODES.get(origin.get("mode"), origin.get("origin", "")),
                   "mode": origin.get("mode", ""), "url": origin.get("url", "")}
        if row["origin"] == "trained":
            row["origin"] = MODES["train"]
        manifest_path = manifests.get(name)
        if manifest_path and Path(manifest_path).exists():
            manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
            row["downloaded file"] = manifest.get("model", "")
            row["sha256"] = (manifest.get("sha256", {}).get("final.npz") or "")[:16]
        rows.append(row)
    return rows


def write_page(rows: list[dict], inputs: dict, path: str) -> None:
    import pandas as pd

    parts = ["<h2>Models</h2>"]
    frame = pd.DataFrame(rows).fillna("").set_index("model")
    parts.append(report_html.table(frame))
    parts.append(
        '<p class="note">Modes (<code>continuation.models</code>): <i>use</i> downloads the model and '
        "trains nothing; <i>continue</i> resumes Marian training from the downloaded checkpoint; "
        "<i>init</i> trains afresh starting from the downloaded weights. The exported "
        "<code>model.json</code> carries the same record.</p>"
    )
    parts.append("<h2>Vocabulary and corpora</h2>")
    items = []
    for name, origin in inputs.items():
        if isinstance(origin, dict):
            for side, url in origin.items():
                items.append({"artifact": name, "part": side, "origin": "downloaded", "url": url})
        else:
            items.append({"artifact": name, "part": "", "origin": origin, "url": ""})
    parts.append(report_html.table(pd.DataFrame(items).set_index("artifact")))
    report_html.write_page(path, "Provenance", "\n".join(parts))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--provenance", required=True, help="JSON: model -> 'trained' or {url, mode}")
    p.add_argument("--derived", default="{}", help="JSON: models derived here (finetuned, quantized)")
    p.add_argument("--inputs", default="{}", help="JSON: vocab/corpus -> origin text or {part: url}")
    p.add_argument("--manifests", nargs="*", default=[], help="MODEL=PATH of a download.json")
    p.add_argument("--table", required=True, help="output: HTML page")
    p.add_argument("--json", required=True, help="output: the rows as JSON")
    args = p.parse_args(argv)
    manifests = dict(item.split("=", 1) for item in args.manifests)
    rows = model_rows(json.loads(args.provenance), json.loads(args.derived), manifests)
    inputs = json.loads(args.inputs)
    write_page(rows, inputs, args.table)
    with atomic_write(args.json) as out:
        json.dump({"models": rows, "inputs": inputs}, out, indent=1)
    log.info("%s", json.dumps(rows))


if __name__ == "__main__":
    errors.run_main(main)
