#!/usr/bin/env python3
"""Keep the pairs of a cleaned parallel dataset that a neural filter scores high enough.

The filter is any command that reads `source<TAB>target` lines on stdin and writes one line
per pair on stdout whose last tab-separated field is the score, in the same order: by
default bicleaner-ai (`bicleaner-ai-classify --scol 1 --tcol 2 --score_only - - MODEL`).
Pairs scoring at least --threshold are kept. The pairs are fed to the command by a thread
while its scores are read back, so nothing is held in memory; a command that fails, or
gives more or fewer scores than pairs, stops the job and leaves no output behind.

Statistics: those of the rule-based cleaning (--stats-in) plus `bicleaner`, the pairs this
filter dropped, with `kept` updated.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import shlex
import shutil
import subprocess
import threading
from pathlib import Path

from mtdistill.common import errors
from mtdistill.common.errors import InputError, ToolError
from mtdistill.common.textio import atomic_write, read_pairs

log = logging.getLogger("neural_filter")


def _feed(proc: subprocess.Popen, src: str, trg: str, errors: list) -> None:
    try:
        for s, t in read_pairs(src, trg):
            proc.stdin.write(f"{s}\t{t}\n".encode("utf-8"))
    except BrokenPipeError:
        pass  # the command stopped reading: its exit status tells why
    except BaseException as error:  # noqa: BLE001 - reported by the main thread
        errors.append(error)
    finally:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass


def score_filter(src_in, trg_in, src_out, trg_out, command: str, threshold: float) -> dict:
    argv = shlex.split(command)
    if not argv or not shutil.which(argv[0]):
        raise ToolError(
            f"neural_filter: `{argv[0] if argv else command}` is not on PATH: install it "
            "(bicleaner-ai: pip install bicleaner-ai) or set cleaning.bicleaner.enabled: false"
        )
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    errors: list = []
    feeder = threading.Thread(target=_feed, args=(proc, src_in, trg_in, errors), daemon=True)
    feeder.start()
    counts = {"input": 0, "kept": 0, "bicleaner": 0}
    missing = object()
    try:
        with atomic_write(src_out) as out_s, atomic_write(trg_out) as out_t:
            scores = (line.decode("utf-8") for line in proc.stdout)
            for pair, line in itertools.zip_longest(read_pairs(src_in, trg_in), scores, fillvalue=missing):
                if pair is missing or line is missing:
                    break  # counted below: the command's output and the input disagree
                counts["input"] += 1
                try:
                    score = float(line.rstrip("\n").rsplit("\t", 1)[-1])
                except ValueError:
                    raise ToolError(
                        f"neural_filter: line {counts['input']} of `{command}`'s output is "
                        f"{line.rstrip()!r}, not a score"
                    ) from None
                if score >= threshold:
                    out_s.write(pair[0] + "\n")
                    out_t.write(pair[1] + "\n")
                    counts["kept"] += 1
                else:
                    counts["bicleaner"] += 1
            else:
                pair = line = None
            mismatch = pair is missing or line is missing
            try:
                # After a mismatch the command may still be writing: give it a moment.
                status = proc.wait(timeout=10 if mismatch else None)
            except subprocess.TimeoutExpired:
                status = None
            if status is None or mismatch:
                proc.kill()
            feeder.join()
            if errors:
                raise errors[0]
            if status:
                raise ToolError(f"neural_filter: `{command}` exited with status {status}")
            if mismatch:
                raise ToolError(
                    f"neural_filter: `{command}` wrote "
                    f"{'fewer' if line is missing else 'more'} score lines than the "
                    f"{src_in} / {trg_in} pairs it was given"
                )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return counts


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src-in", required=True)
    p.add_argument("--trg-in", required=True)
    p.add_argument("--src-out", required=True)
    p.add_argument("--trg-out", required=True)
    p.add_argument("--command", required=True, help="the scoring command line (model included)")
    p.add_argument("--threshold", type=float, required=True)
    p.add_argument("--stats-in", required=True, help="statistics of the rule-based cleaning")
    p.add_argument("--stats-out", required=True)
    args = p.parse_args(argv)
    counts = score_filter(args.src_in, args.trg_in, args.src_out, args.trg_out, args.command, args.threshold)
    stats = json.loads(Path(args.stats_in).read_text(encoding="utf-8"))
    if stats.get("kept") != counts["input"]:
        raise InputError(
            f"neural_filter: {args.stats_in} counts {stats.get('kept')} kept pairs but "
            f"{args.src_in} holds {counts['input']}: rerun the rule-based cleaning"
        )
    kept = stats.pop("kept")
    stats["bicleaner"] = kept - counts["kept"]
    stats["kept"] = counts["kept"]
    with atomic_write(args.stats_out) as out:
        json.dump(stats, out, indent=1)  # in the order the filters applied, bicleaner last
    log.info("%s", json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
    errors.run_main(main)
