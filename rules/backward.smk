# Backward model (target -> source) and back-translation of target monolingual data.


rule train_backward:
    input:
        src=corpus_file("parallel", TRG),
        trg=corpus_file("parallel", SRC),
        valid_src=f"{CORPUS}/devset.{TRG}.zst",
        valid_trg=f"{CORPUS}/devset.{SRC}.zst",
        vocabs=vocabs("backward"),
        pretrained=pretrained_files("backward"),
    output:
        model=f"{MODELS}/backward/final.npz",
    log:
        f"{LOGS}/train_backward.log",
    conda:
        ENV_MARIAN
    threads: RES["train-threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem-mb-train"],
        runtime=RES["runtime-train"],
    params:
        space=script("mtdistill.common.diskspace"),
        script=script("mtdistill.train.train"),
        marian=MARIAN["train"],
        common=TRAIN_ARGS,
        model_dir=lambda w, output: os.path.dirname(output.model),
        options=marian_options("training-backward"),
        mode=mode_of("backward"),
        extra=pretrained_args("backward"),
        seed=EXPERIMENT["seed"],
    shell:
        TRAIN_CMD


rule translate_mono_trg:
    """Back-translate one chunk of target monolingual data."""
    input:
        src=f"{TRANS}/mono-trg/chunks/{{chunk}}.in",
        models=[model_file("backward")],
        vocabs=vocabs("backward"),
    output:
        # Joined by collect_mono_trg, then not read again.
        temp(f"{TRANS}/mono-trg/out/{{chunk}}.zst"),
    log:
        f"{LOGS}/translate_mono_trg/{{chunk}}.log",
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
        options=marian_options("decoding-backward"),
        nbest="",
    shell:
        TRANSLATE_CMD


rule collect_mono_trg:
    """The back-translations: translated chunks (source side) and originals (target)."""
    input:
        src=chunk_files("mono-trg", "out"),
        trg=chunk_files("mono-trg", "in"),
        # The chunks' model, so dry runs show it before the split exists.
        models=[model_file("backward")],
    output:
        src=f"{CORPUS}/backtranslations.{SRC}.zst",
        trg=f"{CORPUS}/backtranslations.{TRG}.zst",
    log:
        f"{LOGS}/collect_mono_trg.log",
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
