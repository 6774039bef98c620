# Distillation of fast machine-translation students with Marian.
# Stages live in rules/*.smk; config/config.yml is the embedded toy default.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/vocab.smk"
include: "rules/backward.smk"
include: "rules/teacher.smk"
include: "rules/distill.smk"
include: "rules/alignments.smk"
include: "rules/student.smk"
include: "rules/evaluate.smk"


localrules:
    all,
    vocab,
    corpora,
    backwards,
    teacher,
    student,
    evaluate,
    export,


rule all:
    input:
        rules.export_student.output,
        rules.collect_metrics.output,


rule vocab:
    input:
        VOCABS,


rule corpora:
    input:
        rules.merge_corpus.output,
        rules.merge_devset.output,
        rules.collect_mono_trg.output if HAS_MONO_TRG else [],
        rules.filter_distillation.output,


rule backwards:
    input:
        model_file("backward"),


rule teacher:
    input:
        [model_file(t) for t in TEACHERS],


rule student:
    input:
        model_file(STUDENT_FINAL),
        QUANTIZED if EXPERIMENT["quantize"] else [],


rule evaluate:
    input:
        rules.collect_metrics.output,


rule export:
    input:
        rules.export_student.output,
