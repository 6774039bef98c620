# Teachers: an ensemble of N models trained on parallel data plus back-translations.


rule merge_teacher_corpus:
    """Parallel corpus and back-translations, deduplicated, for the teachers."""
    input:
        src=[corpus_file("parallel", SRC), corpus_file("backtranslations", SRC)],
        trg=[corpus_file("parallel", TRG), corpus_file("backtranslations", TRG)],
    output:
        src=f"{CORPUS}/teacher.{SRC}.zst",
        trg=f"{CORPUS}/teacher.{TRG}.zst",
    log:
        f"{LOGS}/merge_teacher_corpus.log",
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


rule train_teacher:
    input:
        src=teacher_corpus(SRC),
        trg=teacher_corpus(TRG),
        valid_src=f"{CORPUS}/devset.{SRC}.zst",
        valid_trg=f"{CORPUS}/devset.{TRG}.zst",
        vocabs=vocabs("forward"),
        pretrained=lambda w: pretrained_files(f"teacher{w.index}"),
    output:
        model=f"{MODELS}/teacher{{index}}/final.npz",
    log:
        f"{LOGS}/train_teacher/teacher{{index}}.log",
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
        options=marian_options("training-teacher"),
        mode=lambda w: mode_of(f"teacher{w.index}"),
        extra=lambda w: pretrained_args(f"teacher{w.index}"),
        # Ensemble members differ by their seed.
        seed=lambda w: EXPERIMENT["seed"] + int(w.index),
    shell:
        TRAIN_CMD
