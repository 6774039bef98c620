# Distillation of fast machine-translation students with Marian.
# Stages live in rules/*.smk; config/config.yml is the embedded toy default (used when
# no --configfile is given).

import os

from snakemake.utils import min_version

min_version("9.0")


# The embedded default (the toy pair) applies only when no --configfile is given: a config
# file given is complete on its own over the schema defaults, so nothing of the toy (its
# datasets, its Marian presets) reaches a real pair unasked. Several files still layer
# (later wins): `--configfile config/config.yml my-overlay.yml` builds on the toy.
if not workflow.config_settings.configfiles:

    configfile: os.path.join(workflow.basedir, "config", "config.yml")


# `snakemake --report report.html`: this text, then the files rules/report.smk marks.
report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/vocab.smk"
include: "rules/backward.smk"
include: "rules/teacher.smk"
include: "rules/distill.smk"
include: "rules/alignments.smk"
include: "rules/student.smk"
include: "rules/evaluate.smk"
include: "rules/continuation.smk"
include: "rules/report.smk"


localrules:
    all,
    vocab,
    corpora,
    backward,
    backwards,
    teacher,
    student,
    evaluate,
    export,
    report,


rule all:
    input:
        rules.export_student.output,
        rules.collect_metrics.output,
        REPORT_FILES,


rule vocab:
    input:
        VOCABS,


rule corpora:
    input:
        [corpus_file(k, lang) for k in CORPUS_KINDS for lang in (SRC, TRG)],
        # Downloaded trios, checked against their corpus and the vocab (rules/alignments.smk).
        TRIO_CHECKS,
        rules.merge_devset.output,
        REPORT_FOR["corpora"],


rule backward:
    input:
        model_file("backward"),
        REPORT_FOR["backward"],


# Upstream's spelling (continuation.models.backwards), as users type it.
use rule backward as backwards


rule teacher:
    input:
        [model_file(t) for t in TEACHERS],
        REPORT_FOR["teacher"],


rule student:
    input:
        model_file(STUDENT_FINAL),
        QUANTIZED if EXPERIMENT["quantize"] else [],
        REPORT_FOR["student"],


rule evaluate:
    input:
        rules.collect_metrics.output,
        REPORT_FOR["evaluate"],


rule export:
    input:
        rules.export_student.output,
        REPORT_EXPORT,


rule report:
    """Every report artifact of this run (then: snakemake --report report.html)."""
    input:
        REPORT_FILES,


# The software environment of every rule that names none: envs/data.yml (Python with the
# data packages). A rule with other needs names its own (`conda:` in its rule). Snakemake 9
# has no per-rule default of its own for this: a workflow-level `conda:` directive makes an
# environment for Snakemake's own process instead.
for _rule in workflow.rules:
    if _rule.conda_env is None and _rule.shellcmd:
        _rule.conda_env = ENV_DATA
