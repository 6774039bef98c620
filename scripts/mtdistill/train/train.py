#!/usr/bin/env python3
"""Train one Marian model (backward, teacher, student, finetuned student).

The model directory keeps Marian's checkpoint (model.npz, .optimizer.npz, .progress.yml),
so a job killed part-way (Ctrl-C, a cluster time limit, SIGKILL) resumes where it stopped on
the next run. On success the best checkpoint by the configured metric is copied to
`final.npz`, written last: `final.npz` exists only once training has finished.

Modes: `train` starts fresh (or resumes this directory's own checkpoint); `continue` first
seeds the directory with a downloaded checkpoint; `init` starts fresh from downloaded
weights (--pretrained-model).
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
from pathlib import Path

from mtdistill.common import diskspace, errors, marian
from mtdistill.common.errors import ToolError
from mtdistill.common.textio import atomic_path, plain_copy, scratch_dir

CHECKPOINT_FILES = ("model.npz", "model.npz.optimizer.npz", "model.npz.progress.yml", "model.npz.yml")
# Marian's update lines: "Ep. 1 : Up. 20 : Sen. 311 : Cost -nan * 335 @ ..." (or "Cost 5.64").
COST = re.compile(rb"\] Ep\. \d+ : Up\. (\d+) : .*? : Cost (\S+)")
# Logged costs in a row that are nan or inf before Marian is stopped. Once the weights are
# non-finite every later cost is too; a lone spike that recovers is let through.
DIVERGED_AFTER = 3


def seed_checkpoint(pretrained: str, model_dir: Path, log) -> None:
    """Copy a downloaded checkpoint into model_dir unless training there already started."""
    if (model_dir / "model.npz").exists():
        log(f"continue: {model_dir}/model.npz exists, resuming it (downloaded one not copied)")
        return
    src = Path(pretrained)
    found = [name for name in CHECKPOINT_FILES if (src / name).exists()]
    # Each file atomically and model.npz last: model.npz present means "resume from here",
    # so a copy cut short must never leave it (or a half file beside it).
    if "model.npz" not in found:
        # A model published without its checkpoint: continue from its final weights.
        copies = [("final.npz", "model.npz")]
        found = ["final.npz -> model.npz"]
    else:
        # The progress file before the optimizer state, as Marian saves them.
        order = ["model.npz.progress.yml", "model.npz.yml", "model.npz.optimizer.npz", "model.npz"]
        copies = [(name, name) for name in order if name in found]
    for name, saved in copies:
        with atomic_path(model_dir / saved) as tmp:
            shutil.copyfile(src / name, tmp)
    if "model.npz.optimizer.npz" not in found:
        log(
            "continue: optimizer state absent in the download; training continues from the "
            "weights with a fresh optimizer (learning-rate schedule restarts)"
        )
    log(f"continue: seeded {model_dir} with {', '.join(found)}")


def progress_is_whole(model_dir: Path) -> bool:
    """Whether model.npz.progress.yml is as Marian wrote it. Marian writes, in order,
    model.npz (renamed into place), model.npz.progress.yml (in place, several KB: a kill can
    cut it anywhere, even into a value that still parses) and the optimizer state (renamed
    into place). A save cut between the last two leaves the optimizer state missing or
    older than the progress file; then the file must end with the key Marian writes last."""
    import yaml

    progress = model_dir / "model.npz.progress.yml"
    try:
        state = yaml.safe_load(progress.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    if not isinstance(state, dict) or "batches" not in state:
        return False
    optimizer = model_dir / "model.npz.optimizer.npz"
    if optimizer.exists() and optimizer.stat().st_mtime_ns >= progress.stat().st_mtime_ns:
        return True  # the save went on past the progress file
    return list(state)[-1] == "seed-corpus"  # the last key (Marian >= 1.10)


def repair_checkpoint(model_dir: Path, log) -> None:
    """Make what a killed Marian left resumable: Marian refuses to resume from a progress
    file cut short ("bad conversion"); without one it resumes the weights and optimizer
    state with fresh counters (the `after` budget and learning-rate schedule start over)."""
    for stale in model_dir.glob("*$$"):
        stale.unlink()  # a save cut short (possibly a model's size each)
    progress = model_dir / "model.npz.progress.yml"
    if (model_dir / "model.npz").exists() and progress.exists() and not progress_is_whole(model_dir):
        progress.unlink()
        log(f"{progress.name} was cut short (the run was killed while saving): resuming the "
            "weights and optimizer state with training counters starting over")


class Divergence:
    """Reads what Marian appends to its training log, for costs that are nan or inf (a
    training that diverged: the model it saves is useless, and the job would be green).
    Only this run's lines count: the log is appended to across resumptions."""

    def __init__(self, log_path: Path, model_dir: Path):
        self.path, self.model_dir = log_path, model_dir
        self.offset = log_path.stat().st_size if log_path.exists() else 0
        self.rest = b""
        self.bad: list[int] = []  # first and last update of the non-finite costs in a row
        self.count, self.texts = 0, set()

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                while data := handle.read(1 << 20):
                    self.offset += len(data)
                    *lines, self.rest = (self.rest + data).split(b"\n")
                    for line in lines:
                        self._read(line)
        except FileNotFoundError:
            pass

    def _read(self, line: bytes) -> None:
        match = COST.search(line)
        if not match:
            return
        try:
            cost = float(match[2])
        except ValueError:
            return
        if math.isfinite(cost):
            self.bad, self.count, self.texts = [], 0, set()
        else:
            self.bad = [self.bad[0] if self.bad else int(match[1]), int(match[1])]
            self.count += 1
            self.texts.add(match[2].decode(errors="replace"))

    def message(self) -> str:
        return (
            f"training diverged: Marian logged a cost of {' / '.join(sorted(self.texts))} for "
            f"{self.count} update line(s) in a row, updates {self.bad[0]} to {self.bad[1]} (see "
            f"{self.path}): the model is useless. Lower the learning rate (marian-args: "
            "learn-rate, lr-warmup), clip gradients (clip-norm), and check the training data "
            f"and alignments. The checkpoint in {self.model_dir} may hold the diverged "
            "weights: remove that folder to start over."
        )

    def __call__(self) -> str | None:
        """For marian.run while Marian trains: a message once enough costs in a row failed."""
        self.poll()
        if self.count >= DIVERGED_AFTER:
            return "Marian stopped: " + self.message()
        return None

    def after_exit(self) -> None:
        """Once Marian ended well: fail if its last logged cost was not finite."""
        self.poll()
        if self.bad:
            raise ToolError(self.message())


def select_final(model_dir: Path, metric: str, log) -> None:
    best = model_dir / f"model.npz.best-{metric}.npz"
    chosen = best if best.exists() else model_dir / "model.npz"
    if not chosen.exists():
        # Marian ended with exit code 0 without training (an option that makes it print and
        # exit, say): there is nothing to hand on, and no final.npz may appear.
        raise ToolError(
            f"Marian ended without writing a model in {model_dir} (no {best.name}, no "
            f"model.npz): see what it printed in this job's log and {model_dir / 'train.log'}, "
            "and check marian-args for options that stop it before training"
        )
    if not best.exists():
        log(f"no checkpoint validated with {metric}; using the last one ({chosen.name})")
    # final.npz last: it is the rule's output, so its presence means everything is in place.
    for suffix in (".decoder.yml", ""):
        source = Path(f"{chosen}{suffix}")
        if source.exists():
            with atomic_path(model_dir / f"final.npz{suffix}") as tmp:
                shutil.copyfile(source, tmp)
    log(f"final model: {chosen.name} -> final.npz")


def build_command(args, train_files: list[str], valid_files: list[str], tmp_dir: str, log):
    """The full Marian training command; options from config come last so they win."""
    model_dir = Path(args.model_dir)
    preset, options = marian.split_preset(args.options, args.preset_dir)
    cmd = marian.command(args.marian)
    cmd += preset
    cmd += ["--model", str(model_dir / "model.npz")]
    cmd += ["--train-sets", *train_files]
    cmd += ["--vocabs", *marian.vocab_pair(args.src_vocab, args.trg_vocab)]
    if args.alignments:
        cmd += ["--guided-alignment", args.alignments_plain]
    if valid_files:
        metrics = [args.best_model] + [
            m for m in ("chrf", "ce-mean-words", "bleu-detok") if m != args.best_model
        ]
        cmd += ["--valid-sets", *valid_files, "--valid-metrics", *metrics]
        cmd += ["--valid-translation-output", str(model_dir / "valid.output.txt")]
        cmd += ["--keep-best", "--quiet-translation"]
    cmd += ["--log", str(model_dir / "train.log"), "--valid-log", str(model_dir / "valid.log")]
    cmd += ["--tempdir", tmp_dir, "--seed", str(args.seed), "--sigterm", "save-and-exit"]
    cmd += ["--overwrite"]
    if args.mode == "init":
        cmd += ["--pretrained-model", str(Path(args.pretrained) / "final.npz")]
    cmd += marian.device_args(args.devices, args.threads, args.workspace, log=log)
    cmd += marian.options_to_args(options)
    return cmd


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--marian", default="pymarian train")
    p.add_argument("--model-dir", required=True)
    p.add_argument("--train-src", required=True)
    p.add_argument("--train-trg", required=True)
    p.add_argument("--alignments")
    p.add_argument("--valid-src")
    p.add_argument("--valid-trg")
    p.add_argument("--src-vocab", required=True)
    p.add_argument("--trg-vocab", required=True)
    p.add_argument("--options", help="JSON dict of Marian options, `preset` included")
    p.add_argument("--preset-dir", default=str(Path(__file__).resolve().parents[3] / "config/marian"))
    p.add_argument("--best-model", default="chrf")
    p.add_argument("--mode", choices=["train", "continue", "init"], default="train")
    p.add_argument("--pretrained", help="directory of the downloaded model (continue, init)")
    p.add_argument("--devices", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workspace", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    diskspace.add_console_option(p)
    args = p.parse_args(argv)
    # First, before anything is written: warn when the disk looks too small for this.
    pretrained = [str(Path(args.pretrained) / "final.npz")] if args.pretrained else []
    inputs = [args.train_src, args.train_trg, args.alignments, args.valid_src, args.valid_trg,
              args.src_vocab, args.trg_vocab, *pretrained]
    diskspace.job_check("train", inputs, args.model_dir, args.console_fd)

    log = marian.logger("train")

    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    if args.mode in ("continue", "init") and not args.pretrained:
        p.error(f"--mode {args.mode} needs --pretrained")
    repair_checkpoint(model_dir, log)
    if args.mode == "continue":
        seed_checkpoint(args.pretrained, model_dir, log)
    elif (model_dir / "model.npz").exists():
        log(f"resuming the checkpoint in {model_dir}")

    # Plain copies of the corpora and Marian's shuffling files: removed on exit, and by the
    # next run if this one is killed.
    with scratch_dir(model_dir / "train") as tmp_dir:
        train_files = [plain_copy(args.train_src, tmp_dir), plain_copy(args.train_trg, tmp_dir)]
        args.alignments_plain = plain_copy(args.alignments, tmp_dir) if args.alignments else None
        valid_files = []
        if args.valid_src and args.valid_trg:
            valid_files = [plain_copy(args.valid_src, tmp_dir), plain_copy(args.valid_trg, tmp_dir)]
        cmd = build_command(args, train_files, valid_files, tmp_dir, log)
        divergence = Divergence(model_dir / "train.log", model_dir)
        marian.run(cmd, watch=divergence)
        divergence.after_exit()
    select_final(model_dir, args.best_model, log)


if __name__ == "__main__":
    errors.run_main(main)
