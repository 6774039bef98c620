# Teachers: an ensemble of N models trained on parallel data plus back-translations.


use rule merge_corpus as merge_teacher_corpus with:
    """Parallel corpus and back-translations, deduplicated, for the teachers."""
    input:
        src=[corpus_file("parallel", SRC), corpus_file("backtranslations", SRC)],
        trg=[corpus_file("parallel", TRG), corpus_file("backtranslations", TRG)],
    output:
        src=f"{CORPUS}/teacher.{SRC}.zst",
        trg=f"{CORPUS}/teacher.{TRG}.zst",
    log:
        f"{LOGS}/merge_teacher_corpus.log",
    benchmark:
        f"{BENCH}/merge_teacher_corpus.tsv"
    params:
        options="",


use rule train_backward as train_teacher with:
    """Train one teacher of the ensemble."""
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
    benchmark:
        f"{BENCH}/train_teacher/teacher{{index}}.tsv"
    params:
        options=marian_options("training-teacher"),
        mode=lambda w: mode_of(f"teacher{w.index}"),
        extra=lambda w: pretrained_args(f"teacher{w.index}"),
        # Ensemble members differ by their seed.
        seed=lambda w: EXPERIMENT["seed"] + int(w.index),
