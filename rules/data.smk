# Data: import, clean, merge and deduplicate, devset, monolingual sets.


rule generate_toy_corpus:
    """The embedded toy language pair (deterministic, see scripts/toy_corpus.py)."""
    output:
        toy_files(),
    log:
        f"{LOGS}/generate_toy_corpus.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("toy_corpus.py"),
        src=SRC,
        trg=TRG,
        toy=config["toy"],
        out_dir=lambda w, output: os.path.dirname(output[0]),
    shell:
        "{params.script} --out-dir {params.out_dir} --src {params.src} --trg {params.trg}"
        " --seed {params.toy[seed]} --train {params.toy[train]} --dev {params.toy[dev]}"
        " --test {params.toy[test]} --mono-src {params.toy[mono-src]}"
        " --mono-trg {params.toy[mono-trg]} >{log} 2>&1"


rule import_dataset:
    """Bring one side of a dataset into the workflow as .zst."""
    input:
        import_source,
    output:
        f"{DATA}/original/{{dataset}}.{{lang}}.zst",
    log:
        f"{LOGS}/import_dataset/{{dataset}}.{{lang}}.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("chunks.py"),
    shell:
        "{params.script} join --inputs {input:q} --output {output:q} >{log} 2>&1"


rule clean_corpus:
    """Normalize and filter one parallel dataset."""
    input:
        src=f"{DATA}/original/{{dataset}}.{SRC}.zst",
        trg=f"{DATA}/original/{{dataset}}.{TRG}.zst",
    output:
        src=f"{DATA}/clean/{{dataset}}.{SRC}.zst",
        trg=f"{DATA}/clean/{{dataset}}.{TRG}.zst",
        stats=f"{DATA}/clean/{{dataset}}.stats.json",
    log:
        f"{LOGS}/clean_corpus/{{dataset}}.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("clean.py"),
        c=config["cleaning"],
    shell:
        "{params.script} --src-in {input.src} --trg-in {input.trg}"
        " --src-out {output.src} --trg-out {output.trg} --stats {output.stats}"
        " --min-words {params.c[min-words]} --max-words {params.c[max-words]}"
        " --max-ratio {params.c[max-length-ratio]} >{log} 2>&1"


rule clean_mono:
    """Normalize and filter one monolingual dataset."""
    input:
        f"{DATA}/original/{{dataset}}.{{lang}}.zst",
    output:
        text=f"{DATA}/clean/mono/{{dataset}}.{{lang}}.zst",
        stats=f"{DATA}/clean/mono/{{dataset}}.{{lang}}.stats.json",
    log:
        f"{LOGS}/clean_mono/{{dataset}}.{{lang}}.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("clean.py"),
        c=config["cleaning"],
    shell:
        "{params.script} --src-in {input} --src-out {output.text}"
        " --stats {output.stats} --min-words {params.c[min-words]}"
        " --max-words {params.c[max-words]} >{log} 2>&1"


rule merge_corpus:
    """All cleaned training datasets in one deduplicated parallel corpus."""
    input:
        src=clean_parallel_files(DATASETS["train"], SRC),
        trg=clean_parallel_files(DATASETS["train"], TRG),
    output:
        src=f"{CORPUS}/parallel.{SRC}.zst",
        trg=f"{CORPUS}/parallel.{TRG}.zst",
    log:
        f"{LOGS}/merge_corpus.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("merge.py"),
    shell:
        "{params.script} --src-in {input.src} --trg-in {input.trg}"
        " --src-out {output.src} --trg-out {output.trg} >{log} 2>&1"


rule merge_devset:
    """The validation set of every training, from the devtest datasets."""
    input:
        src=clean_parallel_files(DATASETS["devtest"], SRC),
        trg=clean_parallel_files(DATASETS["devtest"], TRG),
    output:
        src=f"{CORPUS}/devset.{SRC}.zst",
        trg=f"{CORPUS}/devset.{TRG}.zst",
    log:
        f"{LOGS}/merge_devset.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("merge.py"),
    shell:
        "{params.script} --src-in {input.src} --trg-in {input.trg}"
        " --src-out {output.src} --trg-out {output.trg} >{log} 2>&1"


rule merge_mono:
    """Monolingual data of one language, deduplicated and capped."""
    input:
        lambda w: [f"{DATA}/clean/mono/{d}.{w.lang}.zst" for d in mono_datasets(w.lang)],
    output:
        f"{CORPUS}/mono.{{lang}}.zst",
    log:
        f"{LOGS}/merge_mono/{{lang}}.log",
    conda:
        ENV_DATA
    threads: 1
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("merge.py"),
        max_lines=lambda w: config[
            "mono-max-sentences-src" if w.lang == SRC else "mono-max-sentences-trg"
        ],
    shell:
        "{params.script} --src-in {input} --src-out {output}"
        " --max-lines {params.max_lines} >{log} 2>&1"
