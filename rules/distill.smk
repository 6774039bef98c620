# Distillation corpus: the teachers translate the parallel corpus (n-best, the hypothesis
# closest to the reference kept) and source monolingual data; the backward model scores
# the result and the worst share is dropped. Big inputs are split into chunks, one job each.


checkpoint split_corpus:
    """Chunks of `split-length` lines; their number is known only after this runs."""
    input:
        split_inputs,
    output:
        directory(f"{TRANS}/{{part}}/chunks"),
    log:
        f"{LOGS}/split_corpus/{{part}}.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        space=script("mtdistill.common.diskspace"),
        script=script("mtdistill.distill.chunks"),
        suffixes=lambda w: "in ref" if w.part == "corpus" else "in",
        lines=EXPERIMENT["split-length"],
    shell:
        "{params.space} split --inputs {input} --target {output} --log {log} && "
        "{params.script} split --inputs {input} --suffixes {params.suffixes}"
        " --out-dir {output} --lines {params.lines} >>{log} 2>&1"


rule translate_corpus:
    """Translate one chunk of the parallel corpus with the teacher ensemble (n-best)."""
    input:
        src=f"{TRANS}/corpus/chunks/{{chunk}}.in",
        ref=f"{TRANS}/corpus/chunks/{{chunk}}.ref",
        models=[model_file(t) for t in TEACHERS],
        vocabs=vocabs("forward"),
    output:
        # Joined by collect_translations, then not read again.
        temp(f"{TRANS}/corpus/out/{{chunk}}.zst"),
    log:
        f"{LOGS}/translate_corpus/{{chunk}}.log",
    conda:
        ENV_MARIAN
    threads: RES["translate-threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem-mb-translate"],
        runtime=RES["runtime-translate"],
    params:
        script=script("mtdistill.distill.translate"),
        marian=MARIAN["decode"],
        devices=DEVICES,
        options=marian_options("decoding-teacher"),
        nbest=lambda w, input: (
            f"--nbest {EXPERIMENT['distill-nbest']} --reference {input.ref}"
            if EXPERIMENT["distill-nbest"] > 1
            else ""
        ),
    shell:
        TRANSLATE_CMD


rule translate_mono_src:
    """Translate one chunk of source monolingual data with the teacher ensemble."""
    input:
        src=f"{TRANS}/mono-src/chunks/{{chunk}}.in",
        models=[model_file(t) for t in TEACHERS],
        vocabs=vocabs("forward"),
    output:
        temp(f"{TRANS}/mono-src/out/{{chunk}}.zst"),
    log:
        f"{LOGS}/translate_mono_src/{{chunk}}.log",
    conda:
        ENV_MARIAN
    threads: RES["translate-threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem-mb-translate"],
        runtime=RES["runtime-translate"],
    params:
        script=script("mtdistill.distill.translate"),
        marian=MARIAN["decode"],
        devices=DEVICES,
        options=marian_options("decoding-teacher"),
        nbest="",
    shell:
        TRANSLATE_CMD


rule collect_translations:
    """Join the chunks of a part: sources and their translations, in order."""
    input:
        src=lambda w: chunk_files(w.part, "in")(w),
        trg=lambda w: chunk_files(w.part, "out")(w),
        # The chunks' models, so dry runs show them before the split exists.
        models=[model_file(t) for t in TEACHERS],
    output:
        src=temp(f"{TRANS}/{{part}}.{SRC}.zst"),
        trg=temp(f"{TRANS}/{{part}}.{TRG}.zst"),
    log:
        f"{LOGS}/collect_translations/{{part}}.log",
    wildcard_constraints:
        part="corpus|mono-src",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.distill.chunks"),
    shell:
        "({params.script} join --inputs {input.src} --output {output.src}"
        " && {params.script} join --inputs {input.trg} --output {output.trg})"
        " >{log} 2>&1"


rule merge_distillation:
    """Translated corpus and translated source mono in one deduplicated corpus."""
    input:
        src=[f"{TRANS}/corpus.{SRC}.zst"]
        + ([f"{TRANS}/mono-src.{SRC}.zst"] if HAS_MONO_SRC else []),
        trg=[f"{TRANS}/corpus.{TRG}.zst"]
        + ([f"{TRANS}/mono-src.{TRG}.zst"] if HAS_MONO_SRC else []),
    output:
        # Read only by score and filter_distillation (the filtered corpus is kept).
        src=temp(f"{CORPUS}/distillation-unfiltered.{SRC}.zst"),
        trg=temp(f"{CORPUS}/distillation-unfiltered.{TRG}.zst"),
    log:
        f"{LOGS}/merge_distillation.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        space=script("mtdistill.common.diskspace"),
        script=script("mtdistill.data.merge"),
    shell:
        "{params.space} merge --inputs {input} --target {output.src} --log {log} && "
        "{params.script} --src-in {input.src} --trg-in {input.trg}"
        " --src-out {output.src} --trg-out {output.trg} >>{log} 2>&1"


rule score:
    """Backward-model cross-entropy of every distillation pair."""
    input:
        src=f"{CORPUS}/distillation-unfiltered.{SRC}.zst",
        trg=f"{CORPUS}/distillation-unfiltered.{TRG}.zst",
        model=model_file("backward"),
        vocabs=vocabs("backward"),
    output:
        temp(f"{CORPUS}/distillation-unfiltered.scores.txt"),
    log:
        f"{LOGS}/score.log",
    conda:
        ENV_MARIAN
    threads: RES["translate-threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem-mb-translate"],
        runtime=RES["runtime-translate"],
    params:
        script=script("mtdistill.distill.score"),
        devices=DEVICES,
        marian=MARIAN["score"],
    shell:
        "{params.script} --marian {params.marian:q} --model {input.model}"
        " --vocabs {input.vocabs} --src {input.trg} --trg {input.src} --output {output}"
        " {params.devices} --threads {threads}"
        " >{log} 2>&1"


rule filter_distillation:
    """Drop the worst-scored share (`score-filter-share`) of the distillation corpus."""
    input:
        src=f"{CORPUS}/distillation-unfiltered.{SRC}.zst",
        trg=f"{CORPUS}/distillation-unfiltered.{TRG}.zst",
        scores=f"{CORPUS}/distillation-unfiltered.scores.txt",
    output:
        src=f"{CORPUS}/distillation.{SRC}.zst",
        trg=f"{CORPUS}/distillation.{TRG}.zst",
        stats=f"{CORPUS}/distillation.filter.json",
    log:
        f"{LOGS}/filter_distillation.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.distill.filter_scores"),
        share=EXPERIMENT["score-filter-share"],
    shell:
        "{params.script} --src-in {input.src} --trg-in {input.trg}"
        " --scores {input.scores} --src-out {output.src} --trg-out {output.trg}"
        " --drop-share {params.share} --stats {output.stats} >{log} 2>&1"
