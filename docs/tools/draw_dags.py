#!/usr/bin/env python3
"""Draw the rule graph of the embedded default and of every continuation recipe
(config/examples/*.yml) as SVG pictures in docs/, or check that the pictures there are
still what the workflow gives.

    python3 docs/tools/draw_dags.py            # (re)draw docs/rulegraph-*.svg
    python3 docs/tools/draw_dags.py --check    # exit 1 if a picture is out of date

Each graph is `snakemake --rulegraph` run in an empty temporary folder (so finished runs in
the working tree change nothing), normalised — nodes sorted by rule name and renumbered,
edges sorted, colours by rule family — and laid out by graphviz (`dot -Tsvg`). The check
compares rule names and edges, read back from the SVG, not the SVG bytes, so another
graphviz version does not fail it.

The per-chunk translation rule (translate) does not appear: its jobs are only known once
the checkpoint split_corpus has run.
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
EXAMPLES = REPO / "config" / "examples"

NODE = re.compile(r'^\s*(\d+)\[label = "([^"]+)"', re.M)
EDGE = re.compile(r"^\s*(\d+) -> (\d+)", re.M)
SVG_NODE = re.compile(r'<g id="node\d+" class="node">\s*<title>([^<]+)</title>.*?<text[^>]*>([^<]+)</text>', re.S)
SVG_EDGE = re.compile(r'<g id="edge\d+" class="edge">\s*<title>([^<]+)</title>', re.S)

# Fill colours by rule family (HSV, as Snakemake writes them).
FAMILIES = [
    (re.compile(r"^(report|measure_speed)"), "0.58 0.35 0.95"),
    (re.compile(r"^download_"), "0.12 0.45 0.98"),
    (re.compile(r"^(train_|finetune_)"), "0.00 0.35 0.98"),
    (re.compile(r"^(evaluate|collect_metrics|export_student|quantize)"), "0.33 0.35 0.95"),
]
TARGETS = {"all", "vocab", "corpora", "backwards", "teacher", "student", "evaluate", "export", "report"}


def recipes() -> dict[str, list[Path]]:
    """Picture name -> config files: the embedded default, then every example."""
    found = {"default": []}
    for path in sorted(EXAMPLES.glob("*.yml")):
        # real-pair is a complete config; the continuation recipes are overlays of the toy.
        found[path.stem] = [path] if path.stem == "real-pair" else [REPO / "config/config.yml", path]
    return found


def rulegraph(configfiles: list[Path], target: str = "all") -> str:
    """`snakemake --rulegraph` of the workflow with these config files, in an empty folder."""
    with tempfile.TemporaryDirectory(prefix="rulegraph-") as workdir:
        cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", workdir,
               target, "--rulegraph", "dot"]
        if configfiles:
            cmd += ["--configfile", *map(str, configfiles)]
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"snakemake --rulegraph failed for {configfiles or 'the default'}:\n{result.stderr}")
    return result.stdout[result.stdout.index("digraph"):]


def graph_of(dot: str) -> tuple[set[str], set[tuple[str, str]]]:
    """(rule names, edges between rule names) of a rule graph in dot."""
    labels = dict(NODE.findall(dot))
    return set(labels.values()), {(labels[a], labels[b]) for a, b in EDGE.findall(dot)}


def graph_of_svg(svg: str) -> tuple[set[str], set[tuple[str, str]]]:
    """(rule names, edges) read back from graphviz's SVG of a rule graph."""
    labels = {html.unescape(i).strip(): html.unescape(t).strip() for i, t in SVG_NODE.findall(svg)}
    edges = set()
    for title in SVG_EDGE.findall(svg):
        a, b = html.unescape(title).split("->")
        edges.add((labels[a.strip()], labels[b.strip()]))
    return set(labels.values()), edges


def colour(rule: str) -> str:
    for pattern, hsv in FAMILIES:
        if pattern.match(rule):
            return hsv
    return "0.00 0.00 0.97" if rule not in TARGETS else "0.00 0.00 0.80"


def normalise(dot: str, title: str) -> str:
    """A deterministic dot text of a rule graph: nodes by name, edges sorted."""
    rules, edges = graph_of(dot)
    ids = {rule: i for i, rule in enumerate(sorted(rules))}
    lines = [
        "digraph snakemake_rulegraph {",
        f'    graph[bgcolor=white, margin=0, label="{title}", labelloc=t, fontname=sans, fontsize=12];',
        "    node[shape=box, style=\"rounded,filled\", fontname=sans, fontsize=10, penwidth=1.5];",
        "    edge[penwidth=1.2, color=grey50];",
    ]
    lines += [f'    {ids[r]}[label = "{r}", fillcolor = "{colour(r)}"];' for r in sorted(rules)]
    lines += [f"    {ids[a]} -> {ids[b]}" for a, b in sorted(edges, key=lambda e: (ids[e[0]], ids[e[1]]))]
    return "\n".join(lines) + "\n}\n"


def to_svg(dot: str) -> str:
    result = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"dot -Tsvg failed (is graphviz installed?):\n{result.stderr}")
    return result.stdout


def title_of(name: str, configfiles: list[Path]) -> str:
    if not configfiles:
        return "embedded default (config/config.yml): snakemake"
    return f"{name}: snakemake --configfile {' '.join(str(p.relative_to(REPO)) for p in configfiles)}"


def draw(out_dir: Path = DOCS) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, configfiles in recipes().items():
        svg = to_svg(normalise(rulegraph(configfiles), title_of(name, configfiles)))
        path = out_dir / f"rulegraph-{name}.svg"
        path.write_text(svg, encoding="utf-8")
        written.append(path)
    return written


def check(out_dir: Path = DOCS) -> list[str]:
    """Differences between the pictures in out_dir and the workflow's rule graphs."""
    problems = []
    for name, configfiles in recipes().items():
        path = out_dir / f"rulegraph-{name}.svg"
        if not path.exists():
            problems.append(f"{path} is missing")
            continue
        want_rules, want_edges = graph_of(rulegraph(configfiles))
        have_rules, have_edges = graph_of_svg(path.read_text(encoding="utf-8"))
        for label, items in (
            ("rules missing from", want_rules - have_rules),
            ("rules no longer in the workflow, in", have_rules - want_rules),
            ("edges missing from", {f"{a} -> {b}" for a, b in want_edges - have_edges}),
            ("edges no longer in the workflow, in", {f"{a} -> {b}" for a, b in have_edges - want_edges}),
        ):
            if items:
                problems.append(f"{label} {path.relative_to(REPO) if path.is_relative_to(REPO) else path}: "
                                f"{', '.join(sorted(items))}")
    return problems


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare docs/ with the workflow; draw nothing")
    p.add_argument("--out-dir", type=Path, default=DOCS)
    args = p.parse_args(argv)
    if args.check:
        problems = check(args.out_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("redraw with: python3 docs/tools/draw_dags.py", file=sys.stderr)
            sys.exit(1)
        print(f"{len(recipes())} rule graphs in {args.out_dir} are up to date", file=sys.stderr)
    else:
        for path in draw(args.out_dir):
            print(path, file=sys.stderr)


if __name__ == "__main__":
    main()
