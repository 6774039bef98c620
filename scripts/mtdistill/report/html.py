"""Small self-contained HTML pages and matplotlib defaults shared by the report_* scripts.

Every page is one file with inline CSS (Snakemake's report shows it in an iframe), so the
same file also opens on its own in a browser.
"""

from __future__ import annotations

import html
import os

from mtdistill.common.textio import atomic_write

CSS = """
body { font-family: sans-serif; font-size: 14px; margin: 1em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; }
td { text-align: right; font-variant-numeric: tabular-nums; }
td.text, th { text-align: left; }
th { background: #f2f2f2; }
p.note { color: #555; max-width: 60em; }
code { background: #f4f4f4; padding: 0 2px; }
"""


def escape(value) -> str:
    return html.escape(str(value), quote=True)


def table(frame, index: bool = True, float_format: str = "{:.2f}") -> str:
    """A pandas DataFrame as an HTML table; numbers right-aligned, the rest as text."""
    import pandas as pd

    def cell(value, tag="td"):
        if isinstance(value, float) and pd.isna(value):
            return f"<{tag}></{tag}>"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f'<{tag} class="text">{escape(value)}</{tag}>'
        if isinstance(value, float):
            return f"<{tag}>{float_format.format(value)}</{tag}>"
        return f"<{tag}>{value:,}</{tag}>"

    def label(value):
        return " / ".join(map(str, value)) if isinstance(value, tuple) else str(value)

    head = ([escape(frame.index.name or "")] if index else []) + [escape(label(c)) for c in frame.columns]
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    # object dtype: a row of ints and floats keeps its ints (iterrows would upcast them).
    for key, row in frame.astype(object).iterrows():
        cells = [f'<th>{escape(label(key))}</th>'] if index else []
        cells += [cell(v.item() if hasattr(v, "item") else v) for v in row.tolist()]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def write_page(path: str | os.PathLike, title: str, body: str) -> None:
    with atomic_write(path) as out:
        out.write(page(title, body))


def pyplot():
    """matplotlib without a display, with a reproducible SVG (no timestamps, fixed ids)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "distillation-report"
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, small
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike) -> None:
    """Save atomically; SVG without the creation date so reruns give the same bytes."""
    path = str(path)
    suffix = os.path.splitext(path)[1].lstrip(".") or "svg"
    metadata = {"Date": None} if suffix == "svg" else {}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp.{suffix}"
    fig.savefig(tmp, format=suffix, metadata=metadata, bbox_inches="tight")
    os.replace(tmp, path)
