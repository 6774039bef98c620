# Word alignments of the distillation corpus for the student's guided alignment.


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
