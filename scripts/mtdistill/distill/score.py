#!/usr/bin/env python3
"""Score a parallel corpus with a Marian model: one length-normalized log-probability a line.

Used with the backward model on the distillation corpus (target -> source), whose scores
tell how well each translation explains its source. A foreign model (--model-type opusmt)
scores the pieces of its own SentencePiece models (--spm-src after --target-token,
--spm-trg) with its YAML vocab.
"""

from __future__ import annotations

import argparse
import os

from mtdistill.common import errors, marian, opusmt
from mtdistill.common.textio import atomic_path, plain_copy, scratch_dir


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--marian", default="pymarian score")
    p.add_argument("--model", required=True)
    opusmt.add_model_arguments(p)
    p.add_argument("--src", required=True, help="the model's source side")
    p.add_argument("--trg", required=True, help="the model's target side")
    p.add_argument("--output", required=True)
    p.add_argument("--devices", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workspace", type=int, default=2000)
    args = p.parse_args(argv)
    opusmt.check_model_arguments(p, args, needs=("spm_src", "spm_trg", "vocab_yml"))
    log = marian.logger("score")
    # Marian writes the scores to a temporary renamed into place when it succeeds.
    with scratch_dir(args.output) as tmp, atomic_path(args.output) as out:
        if args.model_type == "opusmt":
            src = opusmt.encode_file(args.src, os.path.join(tmp, "src.pieces"), args.spm_src,
                                     args.target_token)
            trg = opusmt.encode_file(args.trg, os.path.join(tmp, "trg.pieces"), args.spm_trg)
            vocabs = [args.vocab_yml, args.vocab_yml]
        else:
            src, trg = plain_copy(args.src, tmp), plain_copy(args.trg, tmp)
            vocabs = args.vocabs
        cmd = marian.command(args.marian)
        cmd += ["--model", args.model, "--vocabs", *vocabs, "--train-sets", src, trg]
        cmd += ["--normalize", "--mini-batch", "64", "--maxi-batch", "100", "--quiet"]
        cmd += marian.device_args(args.devices, args.threads, args.workspace, log=log)
        with open(out, "w", encoding="utf-8") as handle:
            marian.run(cmd, stdout=handle)


if __name__ == "__main__":
    errors.run_main(main)
