# Student: trained on the distillation corpus with guided alignment, finetuned, quantized
# (8-bit integer GEMM) and exported.


use rule train_backward as train_student with:
    """Train the student on the distillation corpus, guided by its word alignments."""
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
    benchmark:
        f"{BENCH}/train_student.tsv"
    params:
        options=marian_options("training-student"),
        mode=mode_of("student"),
        extra=lambda w, input: f"--alignments {input.alignments} {pretrained_args('student')}",


use rule train_backward as finetune_student with:
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
    benchmark:
        f"{BENCH}/finetune_student.tsv"
    params:
        options=marian_options("training-student-finetuned"),
        mode="init",
        extra=lambda w, input: (
            f"--alignments {input.alignments} --pretrained {MODELS}/student"
        ),


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
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.evaluate.export"),
        src=SRC,
        trg=TRG,
        export=lambda w, output: os.path.dirname(output[0]),
        exp=EXP,
        provenance=provenance(),
        # model.json records the sha256 of the merged config that ran (every
        # --configfile and --config, schema defaults): any config change reruns the export.
        config_sha256=PLAN.config_sha256,
    shell:
        "{params.script} --model {input.model} --src-vocab {input.vocabs[0]}"
        " --trg-vocab {input.vocabs[1]} --metrics {input.metrics} --out-dir {params.export}"
        " --experiment {params.exp} --src {params.src} --trg {params.trg} --provenance {params.provenance:q}"
        " --config-sha256 {params.config_sha256} >{log} 2>&1"
