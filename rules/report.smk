# Report: scores, training curves, data statistics, the exported student's size and speed,
# and where every model came from, as files under results/{exp}/report/ marked for
# Snakemake's report (`snakemake --report report.html`; captions in report/).
# Tables and plots are small local jobs (no cluster job on SLURM); counting the corpora's
# lines and measuring the student's speed run as ordinary (CPU) jobs.
#
# Which artifacts a run has is decided from the config by the plan (mtdistill.plan): a
# model used as downloaded has no training log, a run that reused its corpora has no
# cleaning statistics of them, a reused distillation corpus has no filter statistics.

REPORT = PLAN.paths.report
# Models trained here (modes train, continue, init): Marian wrote their logs here.
TRAINED_HERE = PLAN.trained_here
# (use, statistics file) of every dataset cleaned for this run, and (name, source side) of
# every corpus it makes or uses: see the plan's data_stats and data_corpora.
DATA_STATS = PLAN.data_stats
DATA_CORPORA = PLAN.data_corpora

# The report's files, and those each named target adds (see the Snakefile): the pages of
# its stage and of the stages it runs, so `snakemake --report report.html <target>` works
# after `snakemake <target>`.
CURVES = {m: f"{REPORT}/training/{m}.svg" for m in TRAINED_HERE}
BACKWARD_CURVES = [path for m, path in CURVES.items() if m == "backward"]
TEACHER_CURVES = [path for m, path in CURVES.items() if m in PLAN.teachers]
STUDENT_CURVES = [path for m, path in CURVES.items() if m.startswith("student")]
REPORT_DATA = (
    [f"{REPORT}/data.html", f"{REPORT}/data.svg"] if DATA_STATS or DATA_CORPORA else []
)
REPORT_SCORES = [f"{REPORT}/scores.html", f"{REPORT}/scores.svg"]
REPORT_TRAINING = list(CURVES.values()) + (
    [f"{REPORT}/training.html"] if TRAINED_HERE else []
)
REPORT_EXPORT = [f"{REPORT}/export.html"]
REPORT_PROVENANCE = [f"{REPORT}/provenance.html"]
REPORT_FOR = {
    "backward": BACKWARD_CURVES,
    "teacher": TEACHER_CURVES
    + (BACKWARD_CURVES if PLAN.makes_backtranslations else []),
    "corpora": BACKWARD_CURVES + TEACHER_CURVES + REPORT_DATA,
    "student": (
        BACKWARD_CURVES + TEACHER_CURVES + REPORT_DATA if PLAN.student_trained else []
    )
    + STUDENT_CURVES,
    "evaluate": REPORT_TRAINING + REPORT_DATA + REPORT_SCORES,
}
REPORT_FILES = (
    REPORT_SCORES + REPORT_TRAINING + REPORT_DATA + REPORT_EXPORT + REPORT_PROVENANCE
)


rule report_scores:
    """metrics.csv as a table and a bar chart."""
    input:
        metrics=rules.collect_metrics.output[0],
    output:
        table=report(
            f"{REPORT}/scores.html",
            caption="../report/scores.rst",
            category="1. Scores",
            labels={"figure": "table"},
        ),
        plot=report(
            f"{REPORT}/scores.svg",
            caption="../report/scores-chart.rst",
            category="1. Scores",
            labels={"figure": "bar chart"},
        ),
    log:
        f"{LOGS}/report/scores.log",
    localrule: True
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.report.metrics"),
    shell:
        "{params.script} --metrics {input.metrics} --table {output.table}"
        " --plot {output.plot} >{log} 2>&1"


rule report_training:
    """Cost and validation metrics against updates, from one model's Marian logs."""
    input:
        model=f"{MODELS}/{{model}}/final.npz",
    output:
        plot=report(
            f"{REPORT}/training/{{model}}.svg",
            caption="../report/training.rst",
            category="2. Training",
            subcategory="Curves",
            labels={"model": "{model}"},
        ),
        points=f"{REPORT}/training/{{model}}.csv",
        summary=f"{REPORT}/training/{{model}}.json",
    log:
        f"{LOGS}/report/training/{{model}}.log",
    wildcard_constraints:
        model="|".join(TRAINED_HERE) or "(?!)",
    localrule: True
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.report.training"),
        model_dir=lambda w, input: os.path.dirname(input.model),
        mode=lambda w: PLAN.training_mode[w.model],
        best=BEST,
    shell:
        "{params.script} curves --model-dir {params.model_dir} --name {wildcards.model}"
        " --mode {params.mode:q} --best-metric {params.best} --plot {output.plot}"
        " --points {output.points} --summary {output.summary} >{log} 2>&1"


rule report_training_summary:
    """One row per trained model: updates, time, speed, best validation scores; and the
    training jobs' wall time and peak memory (their Snakemake benchmarks)."""
    input:
        summaries=[f"{REPORT}/training/{m}.json" for m in TRAINED_HERE],
        benchmarks=[training_benchmark(m) for m in TRAINED_HERE],
    output:
        report(
            f"{REPORT}/training.html",
            caption="../report/training-summary.rst",
            category="2. Training",
            subcategory="Summary",
            labels={"model": "all trained here"},
        ),
    log:
        f"{LOGS}/report/training.log",
    localrule: True
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.report.training"),
    shell:
        "{params.script} summary --inputs {input.summaries}"
        " --benchmarks {input.benchmarks} --output {output} >{log} 2>&1"


rule report_data:
    """Lines after each cleaning filter, corpus sizes, the distillation filter's share."""
    input:
        stats=[path for _, path in DATA_STATS],
        corpora=[path for _, path in DATA_CORPORA],
        filter=PLAN.distill_filter,
    output:
        table=report(
            f"{REPORT}/data.html",
            caption="../report/data.rst",
            category="3. Data",
            labels={"figure": "tables"},
        ),
        plot=report(
            f"{REPORT}/data.svg",
            caption="../report/data-chart.rst",
            category="3. Data",
            labels={"figure": "chart"},
        ),
        numbers=f"{REPORT}/data.json",
    log:
        f"{LOGS}/report/data.log",
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.report.data"),
        stats=" ".join(shlex.quote(f"{use}={path}") for use, path in DATA_STATS),
        corpora=" ".join(shlex.quote(f"{name}={path}") for name, path in DATA_CORPORA),
        filter=lambda w, input: f"--filter {input.filter[0]}" if input.filter else "",
        share=EXPERIMENT["score-filter-share"],
    shell:
        "{params.script} --stats {params.stats} --corpus {params.corpora} {params.filter}"
        " --filter-share {params.share} --table {output.table} --plot {output.plot}"
        " --json {output.numbers} >{log} 2>&1"


rule measure_speed:
    """Words per second of the exported student on the test sets (CPU, its decoder.yml)."""
    input:
        model_json=f"{EXPORT}/model.json",
        decoder=f"{EXPORT}/decoder.yml",
        tests=[f"{DATA}/original/{d}.{SRC}.zst" for d in stems(DATASETS["test"])],
    output:
        f"{REPORT}/speed.json",
    log:
        f"{LOGS}/report/speed.log",
    conda:
        ENV_MARIAN
    threads: RES["translate-threads"]
    resources:
        mem_mb=RES["mem-mb-translate"],
        runtime=RES["runtime-translate"],
    params:
        script=script("mtdistill.report.export"),
        marian=MARIAN["decode"],
        tests=" ".join(
            f"{d}={DATA}/original/{d}.{SRC}.zst" for d in stems(DATASETS["test"])
        ),
        repeats=3,
    shell:
        "{params.script} speed --decoder {input.decoder} --marian {params.marian:q}"
        " --test {params.tests} --threads {threads} --repeats {params.repeats}"
        " --output {output} >{log} 2>&1"


rule report_export:
    """The exported student's files, sizes and translation speed."""
    input:
        model_json=f"{EXPORT}/model.json",
        speed=rules.measure_speed.output[0],
    output:
        report(
            f"{REPORT}/export.html",
            caption="../report/export.rst",
            category="4. Exported student",
            labels={"page": "files, sizes, speed"},
        ),
    log:
        f"{LOGS}/report/export.log",
    localrule: True
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.report.export"),
    shell:
        "{params.script} page --model-json {input.model_json} --speed {input.speed}"
        " --output {output} >{log} 2>&1"


rule report_provenance:
    """Trained here or downloaded (URL, mode): every model, the vocab and the corpora."""
    input:
        # The downloads' manifests name the file each download picked.
        downloads=[f"{spec.dir}/final.npz" for spec in PLAN.continued.values()],
    output:
        table=report(
            f"{REPORT}/provenance.html",
            caption="../report/provenance.rst",
            category="5. Provenance",
            labels={"page": "models, vocab, corpora"},
        ),
        record=f"{REPORT}/provenance.json",
    log:
        f"{LOGS}/report/provenance.log",
    localrule: True
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.report.provenance"),
        provenance=provenance(),
        derived=json.dumps(PLAN.derived_models),
        inputs=json.dumps(PLAN.provenance_inputs),
        manifests=" ".join(
            f"{name}={spec.dir}/download.json" for name, spec in PLAN.continued.items()
        ),
    shell:
        "{params.script} --provenance {params.provenance:q} --derived {params.derived:q}"
        " --inputs {params.inputs:q} --manifests {params.manifests}"
        " --table {output.table} --json {output.record} >{log} 2>&1"
