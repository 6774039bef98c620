#!/usr/bin/env python3
"""Translate a file with one Marian model or an ensemble.

With --nbest N and --reference, Marian returns N hypotheses per sentence and the one closest
to the reference (sentence chrF) is kept: the distillation target for parallel data.

With --model-type opusmt (a foreign model with its own vocab, mtdistill.common.opusmt) the
input is split into pieces with --spm-src (after --target-token), decoded with the YAML
vocab --vocab-yml, and the output pieces (every n-best hypothesis) joined back into text.
"""

from __future__ import annotations

import argparse
import os
from typing import Iterator

from mtdistill.common import errors, marian, opusmt
from mtdistill.common.textio import atomic_write, plain_copy, read_lines, scratch_dir


def read_nbest(path: str) -> Iterator[list[str]]:
    """Group Marian n-best lines (`id ||| hyp ||| features ||| score`) by sentence id."""
    current_id, group = None, []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split(" ||| ")
            sent_id = int(fields[0])
            if current_id is not None and sent_id != current_id:
                yield group
                group = []
            current_id = sent_id
            group.append(fields[1] if len(fields) > 1 else "")
    if group:
        yield group


def select_best(nbest: Iterator[list[str]], references: Iterator[str]) -> Iterator[str]:
    """For each sentence, the hypothesis with the highest chrF against its reference."""
    from sacrebleu.metrics import CHRF

    chrf = CHRF()
    for hyps, ref in zip(nbest, references, strict=True):
        scores = [chrf.sentence_score(h, [ref]).score for h in hyps]
        yield hyps[max(range(len(hyps)), key=scores.__getitem__)]


def translate(args, log) -> None:
    preset, options = marian.split_preset(args.options, None)
    foreign = args.model_type == "opusmt"
    # Marian's plain input (pieces, for a foreign model) and raw (n-best) output: next to
    # the output, gone on exit, and removed by the next run if this one is killed.
    with scratch_dir(args.output) as tmp:
        if foreign:
            pieces = os.path.join(tmp, "input.pieces")
            source = opusmt.encode_file(args.input, pieces, args.spm_src, args.target_token)
            vocabs = [args.vocab_yml, args.vocab_yml]
        else:
            source, vocabs = plain_copy(args.input, tmp), args.vocabs
        raw_out = os.path.join(tmp, "output.txt")
        cmd = marian.command(args.marian) + preset
        cmd += ["--models", *args.models, "--vocabs", *vocabs]
        if len(args.models) > 1:
            cmd += ["--weights", *[f"{1 / len(args.models):.6f}"] * len(args.models)]
        cmd += ["--input", source, "--output", raw_out, "--quiet-translation"]
        if args.nbest:
            # The n-best size is the beam size; it overrides a configured beam.
            options["beam-size"] = args.nbest
            cmd += ["--n-best"]
        cmd += marian.device_args(args.devices, args.threads, args.workspace, log=log)
        cmd += marian.options_to_args(options)
        marian.run(cmd)
        nbest = read_nbest(raw_out) if args.nbest else None
        if nbest and foreign:
            nbest = (list(opusmt.join_all(group)) for group in nbest)
        if args.nbest and args.reference:
            lines = select_best(nbest, read_lines(args.reference))
        elif args.nbest:
            lines = (group[0] for group in nbest)
        else:
            lines = opusmt.join_all(read_lines(raw_out)) if foreign else read_lines(raw_out)
        with atomic_write(args.output) as out:
            for line in lines:
                out.write(line + "\n")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--marian", default="pymarian decode")
    p.add_argument("--models", nargs="+", required=True)
    opusmt.add_model_arguments(p)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--reference")
    p.add_argument("--nbest", type=int, default=0)
    p.add_argument("--options", help="JSON dict of Marian decoding options")
    p.add_argument("--devices", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workspace", type=int, default=2000)
    args = p.parse_args(argv)
    opusmt.check_model_arguments(p, args)

    log = marian.logger("translate")

    translate(args, log)


if __name__ == "__main__":
    errors.run_main(main)
