# Evaluation: BLEU and chrF (sacrebleu) of every model on every test set, plus a
# copy-the-source baseline, collected in metrics.csv (model,dataset,metric,score).


rule evaluate_model:
    input:
        unpack(eval_inputs),
    output:
        hyps=f"{EVAL}/{{model}}/{{stem}}.hyp.zst",
        metrics=f"{EVAL}/{{model}}/{{stem}}.json",
    log:
        f"{LOGS}/evaluate/{{model}}.{{stem}}.log",
    benchmark:
        f"{BENCH}/evaluate/{{model}}.{{stem}}.tsv"
    wildcard_constraints:
        model="|".join(EVAL_MODELS),
    conda:
        ENV_MARIAN
    threads: RES["translate-threads"]
    resources:
        gpu=RES["gpu"],
        mem_mb=RES["mem-mb-translate"],
        runtime=RES["runtime-translate"],
    params:
        translate=script("mtdistill.distill.translate"),
        evaluate=script("mtdistill.evaluate.evaluate"),
        marian=MARIAN["decode"],
        devices=DEVICES,
        vocabs=lambda w: PLAN.model_vocab_args(w.model),
        options=lambda w: marian_options(decoding_stage(w.model)),
    shell:
        "({params.translate} --marian {params.marian:q} --models {input.models}"
        " {params.vocabs} --input {input.src} --output {output.hyps}"
        " --options {params.options:q} {params.devices} --threads {threads}"
        " && {params.evaluate} score --hyps {output.hyps} --refs {input.ref}"
        " --model {wildcards.model} --dataset {wildcards.stem}"
        " --output {output.metrics}) >{log} 2>&1"


rule evaluate_baseline:
    """Copy the source as the 'translation': the floor every model must beat."""
    input:
        src=f"{DATA}/original/{{stem}}.{SRC}.zst",
        ref=f"{DATA}/original/{{stem}}.{TRG}.zst",
    output:
        f"{EVAL}/baseline-copy/{{stem}}.json",
    log:
        f"{LOGS}/evaluate/baseline-copy.{{stem}}.log",
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.evaluate.evaluate"),
    shell:
        "{params.script} score --hyps {input.src} --refs {input.ref}"
        " --model baseline-copy --dataset {wildcards.stem} --output {output} >{log} 2>&1"


rule collect_metrics:
    input:
        metrics_files(),
    output:
        f"{EVAL}/metrics.csv",
    log:
        f"{LOGS}/collect_metrics.log",
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.evaluate.evaluate"),
    shell:
        "{params.script} collect --inputs {input} --output {output} >{log} 2>&1"
