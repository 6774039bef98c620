# Word alignments of the distillation corpus for the student's guided alignment: computed
# here, or checked and converted from the trio downloaded with the corpus.

from mtdistill.common.urls import redact as redact_url

TRIO_KINDS = PLAN.trio_kinds

if "distillation" not in TRIO_KINDS:

    rule alignments:
        input:
            src=corpus_file("distillation", SRC),
            trg=corpus_file("distillation", TRG),
            vocabs=vocabs("forward"),
        output:
            aln=f"{CORPUS}/distillation.aln.zst",
            # The pieces the alignments index: with them the corpus can be reused as a trio.
            tok=[
                f"{CORPUS}/distillation.tok-{SRC}.zst",
                f"{CORPUS}/distillation.tok-{TRG}.zst",
            ],
        log:
            f"{LOGS}/alignments.log",
        benchmark:
            f"{BENCH}/alignments.tsv"
        threads: 2
        resources:
            mem_mb=RES["mem-mb-train"],
        params:
            script=script("mtdistill.distill.alignments"),
        shell:
            "{params.script} --src {input.src} --trg {input.trg}"
            " --src-vocab {input.vocabs[0]} --trg-vocab {input.vocabs[1]}"
            " --output {output.aln} --tok-outputs {output.tok} >{log} 2>&1"


# A downloaded trio (config continuation.corpora.{kind}: tok-src, tok-trg, alignments) is
# checked line by line against its corpus and this run's vocab before any training: ICU
# tokens (upstream) are remapped to the vocab's pieces, pieces pass through. Only the
# distillation trio is used (the student's guided alignment); the others, which teachers
# never use, are checked by `snakemake corpora`.
for kind in TRIO_KINDS:
    spec = PLAN.corpora[kind]

    rule:
        name:
            f"trio_{kind}"
        input:
            src=corpus_file(kind, SRC),
            trg=corpus_file(kind, TRG),
            tok_src=PLAN.trio_file(kind, f"tok-{SRC}"),
            tok_trg=PLAN.trio_file(kind, f"tok-{TRG}"),
            aln=PLAN.trio_file(kind, "aln"),
            vocabs=vocabs("forward"),
        output:
            report=f"{CORPUS}/{kind}.trio.json",
            aln=[f"{CORPUS}/distillation.aln.zst"] if kind == "distillation" else [],
        log:
            f"{LOGS}/trio_{kind}.log",
        benchmark:
            f"{BENCH}/trio_{kind}.tsv"
        resources:
            mem_mb=RES["mem-mb-data"],
        params:
            script=script("mtdistill.distill.trio"),
            urls=" ".join(
                f"--{key}-url {shlex.quote(redact_url(spec[key]))}"
                for key in ("src", "trg", "tok-src", "tok-trg", "alignments")
            ),
            out=lambda w, output: f"--output {output.aln}" if output.aln else "",
        shell:
            "{params.script} --src {input.src} --trg {input.trg} --tok-src {input.tok_src}"
            " --tok-trg {input.tok_trg} --alignments {input.aln} {params.urls}"
            " --src-vocab {input.vocabs[0]} --trg-vocab {input.vocabs[1]} {params.out}"
            " --report {output.report} >{log} 2>&1"


TRIO_CHECKS = [f"{CORPUS}/{kind}.trio.json" for kind in TRIO_KINDS]
