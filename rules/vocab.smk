# SentencePiece vocabulary: one joint file, or one per language (spm-vocab-split).


rule train_vocab:
    input:
        vocab_corpora,
    output:
        f"{VOCAB_DIR}/{{name}}.spm",
    log:
        f"{LOGS}/train_vocab/{{name}}.log",
    benchmark:
        f"{BENCH}/train_vocab/{{name}}.tsv"
    wildcard_constraints:
        name=f"vocab|vocab\\.{SRC}|vocab\\.{TRG}",
    threads: 2
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.train.vocab"),
        size=EXPERIMENT["spm-vocab-size"],
        sample=EXPERIMENT["spm-sample-size"],
        coverage=EXPERIMENT["spm-character-coverage"],
    shell:
        "{params.script} --corpora {input} --output {output}"
        " --vocab-size {params.size} --sample-size {params.sample}"
        " --character-coverage {params.coverage} --threads {threads} >{log} 2>&1"
