# Data: import, clean, merge and deduplicate, devset, monolingual sets.


rule generate_toy_corpus:
    """The embedded toy language pair (deterministic, see scripts/mtdistill/data/toy_corpus.py)."""
    output:
        toy_files(),
    log:
        f"{LOGS}/generate_toy_corpus.log",
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.data.toy_corpus"),
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
    """Bring one side of a toy_ or local_ dataset into the workflow as .zst."""
    input:
        import_source,
    output:
        f"{DATA}/original/{{stem}}.{{lang}}.zst",
    log:
        f"{LOGS}/import_dataset/{{stem}}.{{lang}}.log",
    benchmark:
        f"{BENCH}/import_dataset/{{stem}}.{{lang}}.tsv"
    wildcard_constraints:
        stem=r"(toy|local)_[A-Za-z0-9_-]+",
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.distill.chunks"),
    shell:
        "{params.script} join --verify --inputs {input:q} --output {output:q} >{log} 2>&1"


# Downloaded datasets (scripts/mtdistill/data/importers.py): archives are cached under resources/ by URL,
# shared between experiments; the name reaches the script quoted, looked up by stem.


rule import_parallel:
    """Download a parallel dataset: both languages in one job."""
    output:
        src=f"{DATA}/original/{{stem}}.{SRC}.zst",
        trg=f"{DATA}/original/{{stem}}.{TRG}.zst",
    log:
        f"{LOGS}/import_parallel/{{stem}}.log",
    benchmark:
        f"{BENCH}/import_parallel/{{stem}}.tsv"
    wildcard_constraints:
        stem=stem_regex(DOWNLOAD_PARALLEL),
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.data.importers"),
        name=lambda w: STEMS[w.stem],
        langs=f"{SRC} {TRG}",
        mirrors=MIRRORS,
        net=DOWNLOADS,
    shell:
        "{params.script} --dataset {params.name:q} --langs {params.langs}"
        " --outputs {output} --cache-dir resources/downloads --mtdata-dir resources/mtdata"
        " --mirrors {params.mirrors:q} --max-bytes {params.net[max-bytes]}"
        " --retries {params.net[retries]} --timeout {params.net[timeout]} >{log} 2>&1"


use rule import_parallel as import_mono with:
    """Download one language of a dataset used only as monolingual data."""
    output:
        f"{DATA}/original/{{stem}}.{{lang}}.zst",
    log:
        f"{LOGS}/import_mono/{{stem}}.{{lang}}.log",
    benchmark:
        f"{BENCH}/import_mono/{{stem}}.{{lang}}.tsv"
    wildcard_constraints:
        stem=stem_regex(DOWNLOAD_MONO),
    params:
        langs=lambda w: w.lang,


rule clean_corpus:
    """Normalize and filter one parallel dataset (rule-based filters, language id)."""
    input:
        src=f"{DATA}/original/{{stem}}.{SRC}.zst",
        trg=f"{DATA}/original/{{stem}}.{TRG}.zst",
    output:
        src=f"{CLEAN_RULES}/{{stem}}.{SRC}.zst",
        trg=f"{CLEAN_RULES}/{{stem}}.{TRG}.zst",
        stats=f"{CLEAN_RULES}/{{stem}}.stats.json",
    log:
        f"{LOGS}/clean_corpus/{{stem}}.log",
    benchmark:
        f"{BENCH}/clean_corpus/{{stem}}.tsv"
    # Worker processes over blocks of lines; a small dataset stays on one.
    threads: CLEANING["threads"]
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.data.clean"),
        options=clean_options(SRC, TRG),
    shell:
        "{params.script} --src-in {input.src} --trg-in {input.trg}"
        " --src-out {output.src} --trg-out {output.trg} --stats {output.stats}"
        " {params.options} --workers {threads} >{log} 2>&1"


if BICLEANER["enabled"]:

    rule bicleaner_corpus:
        """Keep the pairs of a cleaned dataset that bicleaner-ai scores high enough."""
        input:
            src=f"{CLEAN_RULES}/{{stem}}.{SRC}.zst",
            trg=f"{CLEAN_RULES}/{{stem}}.{TRG}.zst",
            stats=f"{CLEAN_RULES}/{{stem}}.stats.json",
        output:
            src=f"{DATA}/clean/{{stem}}.{SRC}.zst",
            trg=f"{DATA}/clean/{{stem}}.{TRG}.zst",
            stats=f"{DATA}/clean/{{stem}}.stats.json",
        log:
            f"{LOGS}/bicleaner_corpus/{{stem}}.log",
        benchmark:
            f"{BENCH}/bicleaner_corpus/{{stem}}.tsv"
        conda:
            "../envs/bicleaner.yml"
        threads: CLEANING["threads"]
        resources:
            mem_mb=RES["mem-mb-data"],
        params:
            script=script("mtdistill.data.neural_filter"),
            command=f"{BICLEANER['command']} {BICLEANER['model']}",
            threshold=BICLEANER["threshold"],
        shell:
            "BICLEANER_AI_THREADS={threads} {params.script} --src-in {input.src}"
            " --trg-in {input.trg} --src-out {output.src} --trg-out {output.trg}"
            " --command {params.command:q} --threshold {params.threshold}"
            " --stats-in {input.stats} --stats-out {output.stats} >{log} 2>&1"


rule clean_mono:
    """Normalize and filter one monolingual dataset."""
    input:
        f"{DATA}/original/{{stem}}.{{lang}}.zst",
    output:
        text=f"{DATA}/clean/mono/{{stem}}.{{lang}}.zst",
        stats=f"{DATA}/clean/mono/{{stem}}.{{lang}}.stats.json",
    log:
        f"{LOGS}/clean_mono/{{stem}}.{{lang}}.log",
    benchmark:
        f"{BENCH}/clean_mono/{{stem}}.{{lang}}.tsv"
    threads: CLEANING["threads"]
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.data.clean"),
        options=lambda w: clean_options(w.lang),
    shell:
        "{params.script} --src-in {input} --src-out {output.text}"
        " --stats {output.stats} {params.options} --workers {threads} >{log} 2>&1"


rule cleaning_table:
    """Lines each cleaning filter dropped, a row per dataset of one use: a TSV table."""
    input:
        clean_stats_files,
    output:
        f"{DATA}/clean/{{split}}.stats.tsv",
    log:
        f"{LOGS}/cleaning_table/{{split}}.log",
    wildcard_constraints:
        split="train|devtest|mono-src|mono-trg",
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.data.clean_table"),
    shell:
        "{params.script} --stats {input} --output {output} >{log} 2>&1"


rule merge_corpus:
    """All cleaned training datasets in one deduplicated, shuffled parallel corpus. The
    other merges of two corpora derive from this rule (merge_devset below,
    merge_teacher_corpus, merge_distillation): they replace its files and `options`."""
    input:
        src=clean_parallel_files(DATASETS["train"], SRC),
        trg=clean_parallel_files(DATASETS["train"], TRG),
        # Built with the corpus: the cleaning statistics of its datasets.
        table=f"{DATA}/clean/train.stats.tsv",
    output:
        src=f"{CORPUS}/parallel.{SRC}.zst",
        trg=f"{CORPUS}/parallel.{TRG}.zst",
    log:
        f"{LOGS}/merge_corpus.log",
    benchmark:
        f"{BENCH}/merge_corpus.tsv"
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.data.merge"),
        options=MERGE_OPTIONS,
    shell:
        # merge.py first warns on the console (fd 3) and in the log when the disk looks
        # too small.
        "{params.script} --src-in {input.src} --trg-in {input.trg}"
        " --src-out {output.src} --trg-out {output.trg} {params.options}"
        " --console-fd 3 3>&2 >>{log} 2>&1"


use rule merge_corpus as merge_devset with:
    """The validation set of every training, from the devtest datasets (not shuffled)."""
    input:
        src=clean_parallel_files(DATASETS["devtest"], SRC),
        trg=clean_parallel_files(DATASETS["devtest"], TRG),
        table=f"{DATA}/clean/devtest.stats.tsv",
    output:
        src=f"{CORPUS}/devset.{SRC}.zst",
        trg=f"{CORPUS}/devset.{TRG}.zst",
    log:
        f"{LOGS}/merge_devset.log",
    benchmark:
        f"{BENCH}/merge_devset.tsv"
    params:
        options="--no-shuffle",


rule merge_mono:
    """Monolingual data of one language: deduplicated, without the lines of the parallel
    corpus's side in that language, shuffled, and a uniform sample when over the cap."""
    input:
        text=lambda w: [
            f"{DATA}/clean/mono/{d}.{w.lang}.zst" for d in mono_datasets(w.lang)
        ],
        parallel=lambda w: corpus_file("parallel", w.lang),
        table=lambda w: f"{DATA}/clean/mono-{'src' if w.lang == SRC else 'trg'}.stats.tsv",
    output:
        f"{CORPUS}/mono.{{lang}}.zst",
    log:
        f"{LOGS}/merge_mono/{{lang}}.log",
    benchmark:
        f"{BENCH}/merge_mono/{{lang}}.tsv"
    resources:
        mem_mb=RES["mem-mb-data"],
    params:
        script=script("mtdistill.data.merge"),
        max_lines=lambda w: config[
            "mono-max-sentences-src" if w.lang == SRC else "mono-max-sentences-trg"
        ],
        seed=EXPERIMENT["seed"],
        bucket_mb=MERGE["bucket-mb"],
    shell:
        "{params.script} --src-in {input.text} --src-out {output}"
        " --exclude {input.parallel} --max-lines {params.max_lines}"
        " --seed {params.seed} --bucket-mb {params.bucket_mb}"
        " --console-fd 3 3>&2 >>{log} 2>&1"
