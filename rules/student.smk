# Student: trained on the distillation corpus with guided alignment, finetuned, quantized
# (8-bit integer GEMM) and exported.


rule train_student:
    input:
        src=corpus_file("distillation", SRC),
        trg=corpus_file("distillation", TRG),
        alignments=alignments_file(),
        valid_src=f"{CORPUS}/devset.{SRC}.zst",
        valid_trg=f"{CORPUS}/devset.{TRG}.zst",
        vocabs=vocabs("forward"),
        pretrained=pretrained_files("student"),
    output:
        model=f"{MODELS}/student/final.npz",
    log:
        f"{LOGS}/train_student.log",
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
        options=marian_options("training-student"),
        mode=mode_of("student"),
        extra=lambda w, input: f"--alignments {input.alignments} {pretrained_args('student')}",
        seed=EXPERIMENT["seed"],
    shell:
        TRAIN_CMD


rule finetune_student:
    """Continue from the student's weights with its own (lower) learning rate."""
    input:
        src=corpus_file("distillation", SRC),
        trg=corpus_file("distillation", TRG),
        alignments=alignments_file(),
        valid_src=f"{CORPUS}/devset.{SRC}.zst",
        valid_trg=f"{CORPUS}/devset.{TRG}.zst",
        vocabs=vocabs("forward"),
        student=f"{MODELS}/student/final.npz",
    output:
        model=f"{MODELS}/student-finetuned/final.npz",
    log:
        f"{LOGS}/finetune_student.log",
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
        options=marian_options("training-student-finetuned"),
        mode="init",
        extra=lambda w, input: (
            f"--alignments {input.alignments} --pretrained {MODELS}/student"
        ),
        seed=EXPERIMENT["seed"],
    shell:
        TRAIN_CMD


rule quantize:
    """8-bit integer model for fast CPU decoding."""
    input:
        model_file(STUDENT_FINAL),
    output:
        QUANTIZED,
    log:
        f"{LOGS}/quantize.log",
    conda:
        ENV_MARIAN
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        marian=MARIAN["convert"],
    shell:
        "{params.marian} --from {input} --to {output} --gemm-type intgemm8 >{log} 2>&1"


rule export_student:
    """The deployable student: model, vocab, decoder.yml and model.json."""
    input:
        model=QUANTIZED if EXPERIMENT["quantize"] else model_file(STUDENT_FINAL),
        vocabs=vocabs("forward"),
        metrics=f"{EVAL}/metrics.csv",
    output:
        f"{EXPORT}/model.json",
        f"{EXPORT}/decoder.yml",
    log:
        f"{LOGS}/export_student.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.evaluate.export"),
        src=SRC,
        trg=TRG,
        export=lambda w, output: os.path.dirname(output[0]),
        exp=EXP,
        provenance=provenance(),
        # model.json records the config file's sha256. Its content is compared (an edit
        # reruns the export), its path is not (taking `input` makes the param derived,
        # which Snakemake leaves out): it moves with the checkout.
        config_sha256=file_sha256(workflow.configfiles[0]),
        config=lambda wildcards, input: workflow.configfiles[0],
    shell:
        "{params.script} --model {input.model} --src-vocab {input.vocabs[0]}"
        " --trg-vocab {input.vocabs[1]} --metrics {input.metrics} --out-dir {params.export}"
        " --experiment {params.exp} --src {params.src} --trg {params.trg} --provenance {params.provenance:q}"
        " --config {params.config:q} >{log} 2>&1"
