# SentencePiece vocabulary: one joint file, or one per language (spm-vocab-split).


rule train_vocab:
    input:
        vocab_corpora,
    output:
        f"{VOCAB_DIR}/{{name}}.spm",
    log:
        f"{LOGS}/train_vocab/{{name}}.log",
    wildcard_constraints:
        name=f"vocab|vocab\\.{SRC}|vocab\\.{TRG}",
    threads: 2
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        size=EXPERIMENT["spm-vocab-size"],
        sample=EXPERIMENT["spm-sample-size"],
        coverage=EXPERIMENT["spm-character-coverage"],
    shell:
        "{PY} {SCRIPTS}/vocab.py --corpora {input} --output {output}"
        " --vocab-size {params.size} --sample-size {params.sample}"
        " --character-coverage {params.coverage} --threads {threads} >{log} 2>&1"
