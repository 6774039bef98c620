# Distillation corpus: the teachers translate the parallel corpus (n-best, the hypothesis
# closest to the reference kept) and source monolingual data; the backward model scores
# the result and the worst share is dropped. Big inputs are split into chunks, one job each;
# the backward model's translation of target monolingual data (back-translation) is split,
# translated and joined the same way.


checkpoint split_corpus:
    """Chunks of `split-length` lines; their number is known only after this runs."""
    input:
        split_inputs,
    output:
        directory(f"{TRANS}/{{part}}/chunks"),
    log:
        f"{LOGS}/split_corpus/{{part}}.log",
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.distill.chunks"),
        suffixes=lambda w: "in ref" if w.part == "corpus" else "in",
        lines=EXPERIMENT["split-length"],
    shell:
        # chunks.py first warns on the console (fd 3) and in the log when the disk looks
        # too small.
        "{params.script} split --inputs {input} --suffixes {params.suffixes}"
        " --out-dir {output} --lines {params.lines} --console-fd 3 3>&2 >>{log} 2>&1"


rule translate:
    """Translate one chunk of a split part: the corpus (teacher ensemble, n-best against
    its reference), the source mono (teachers), the target mono (backward model)."""
    input:
        src=f"{TRANS}/{{part}}/chunks/{{chunk}}.in",
        ref=lambda w: (
            [f"{TRANS}/corpus/chunks/{w.chunk}.ref"] if w.part == "corpus" else []
        ),
        models=lambda w: translator(w.part)["models"],
        # The run's vocab, or a foreign model's own (OPUS-MT: it translates text to text).
        vocabs=lambda w: PLAN.model_vocab_files(translator(w.part)["name"]),
    output:
        # Joined by collect_translations or collect_mono_trg, then not read again.
        temp(f"{TRANS}/{{part}}/out/{{chunk}}.zst"),
    log:
        f"{LOGS}/translate/{{part}}/{{chunk}}.log",
    benchmark:
        f"{BENCH}/translate/{{part}}/{{chunk}}.tsv"
    wildcard_constraints:
        part="corpus|mono-src|mono-trg",
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
        options=lambda w: marian_options(translator(w.part)["decoding"]),
        vocabs=lambda w: PLAN.model_vocab_args(translator(w.part)["name"]),
        nbest=lambda w, input: (
            f"--nbest {EXPERIMENT['distill-nbest']} --reference {input.ref}"
            if w.part == "corpus" and EXPERIMENT["distill-nbest"] > 1
            else ""
        ),
    shell:
        "{params.script} --marian {params.marian:q} --models {input.models}"
        " {params.vocabs} --input {input.src} --output {output}"
        " --options {params.options:q} {params.nbest}"
        " {params.devices} --threads {threads} >>{log} 2>&1"


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
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.distill.chunks"),
    shell:
        "({params.script} join --inputs {input.src} --output {output.src}"
        " && {params.script} join --inputs {input.trg} --output {output.trg})"
        " >{log} 2>&1"


use rule collect_translations as collect_mono_trg with:
    """The back-translations: translated chunks (source side) and originals (target)."""
    input:
        src=chunk_files("mono-trg", "out"),
        trg=chunk_files("mono-trg", "in"),
        models=[model_file("backward")],
    output:
        src=f"{CORPUS}/backtranslations.{SRC}.zst",
        trg=f"{CORPUS}/backtranslations.{TRG}.zst",
    log:
        f"{LOGS}/collect_mono_trg.log",


use rule merge_corpus as merge_distillation with:
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
    benchmark:
        f"{BENCH}/merge_distillation.tsv"
    params:
        options="",


rule score:
    """Backward-model cross-entropy of every distillation pair."""
    input:
        src=f"{CORPUS}/distillation-unfiltered.{SRC}.zst",
        trg=f"{CORPUS}/distillation-unfiltered.{TRG}.zst",
        model=model_file("backward"),
        vocabs=PLAN.model_vocab_files("backward"),
    output:
        temp(f"{CORPUS}/distillation-unfiltered.scores.txt"),
    log:
        f"{LOGS}/score.log",
    benchmark:
        f"{BENCH}/score.tsv"
    conda:
        ENV_MARIAN
    threads: RES["translate-threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem-mb-translate"],
        runtime=RES["runtime-translate"],
    params:
        script=script("mtdistill.distill.score"),
        vocabs=PLAN.model_vocab_args("backward"),
        devices=DEVICES,
        marian=MARIAN["score"],
    shell:
        "{params.script} --marian {params.marian:q} --model {input.model}"
        " {params.vocabs} --src {input.trg} --trg {input.src} --output {output}"
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
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.distill.filter_scores"),
        share=EXPERIMENT["score-filter-share"],
    shell:
        "{params.script} --src-in {input.src} --trg-in {input.trg}"
        " --scores {input.scores} --src-out {output.src} --trg-out {output.trg}"
        " --drop-share {params.share} --stats {output.stats} >{log} 2>&1"
