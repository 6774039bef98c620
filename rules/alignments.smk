# Word alignments of the distillation corpus for the student's guided alignment.


rule alignments:
    input:
        src=f"{CORPUS}/distillation.{SRC}.zst",
        trg=f"{CORPUS}/distillation.{TRG}.zst",
        vocabs=vocabs("forward"),
    output:
        f"{CORPUS}/distillation.aln.zst",
    log:
        f"{LOGS}/alignments.log",
    threads: 2
    resources:
        mem_mb=RES["mem-mb-train"],
    shell:
        "{PY} {SCRIPTS}/alignments.py --src {input.src} --trg {input.trg}"
        " --src-vocab {input.vocabs[0]} --trg-vocab {input.vocabs[1]}"
        " --output {output} >{log} 2>&1"
