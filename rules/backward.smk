# Backward model (target -> source). Every training rule derives from this one (`use rule
# train_backward as ...` in teacher.smk and student.smk): threads, resources, environment,
# the command and the params below that they do not replace are shared. Back-translation of
# target monolingual data: rules translate and collect_mono_trg (distill.smk).


rule train_backward:
    """Train a Marian model: here the backward model (target -> source)."""
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
    benchmark:
        f"{BENCH}/train_backward.tsv"
    conda:
        ENV_MARIAN
    threads: RES["train-threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem-mb-train"],
        runtime=RES["runtime-train"],
    params:
        script=script("mtdistill.train.train"),
        marian=MARIAN["train"],
        common=TRAIN_ARGS,
        model_dir=lambda w, output: os.path.dirname(output.model),
        # What the derived rules replace: the Marian options of the stage, how the model
        # starts (train, continue, init), extra arguments, the seed.
        options=marian_options("training-backward"),
        mode=mode_of("backward"),
        extra=pretrained_args("backward"),
        seed=EXPERIMENT["seed"],
    shell:
        # exec: train.py receives SLURM's SIGTERM itself and waits for Marian to save. It
        # first warns on the console (fd 3) and in the log when the disk looks too small.
        "exec {params.script} --marian {params.marian:q} --model-dir {params.model_dir}"
        " --train-src {input.src} --train-trg {input.trg}"
        " --valid-src {input.valid_src} --valid-trg {input.valid_trg}"
        " --src-vocab {input.vocabs[0]} --trg-vocab {input.vocabs[1]}"
        " --options {params.options:q} --mode {params.mode} {params.extra}"
        " --seed {params.seed} {params.common} --threads {threads} --console-fd 3"
        " 3>&2 >>{log} 2>&1"
