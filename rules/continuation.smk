# Download rules for every artifact reused by URL (config `continuation`). Each writes
# under resources/, keyed by URL, atomically; the plan (mtdistill.plan) routes the
# consumers to these files. Downloads run as jobs, never while the DAG is built.

# Limits of every download (config `downloads`); numbers only, validated by the schema.
DOWNLOAD_LIMITS = (
    f"--max-bytes {DOWNLOADS['max-bytes']} --retries {DOWNLOADS['retries']}"
    f" --timeout {DOWNLOADS['timeout']}"
)


if PLAN.vocab.urls:

    rule download_vocab:
        output:
            "resources/vocab/{key}/vocab.spm",
        log:
            "logs/resources/download_vocab/{key}.log",
        wildcard_constraints:
            key="|".join(PLAN.vocab.urls),
        retries: 2
        localrule: True
        params:
            script=script("mtdistill.data.download"),
            limits=DOWNLOAD_LIMITS,
            url=lambda w: PLAN.vocab.urls[w.key],
            sha=lambda w: (
                f"--sha256 {PLAN.vocab.sha256[w.key]}"
                if PLAN.vocab.sha256[w.key]
                else ""
            ),
        shell:
            "{params.script} file --url {params.url:q} --out {output} --spm {params.sha}"
            " {params.limits} --log {log}"


for kind, spec in PLAN.corpora.items():
    corpus_dir = PLAN.corpus_dir(kind)
    has_trio = "alignments" in spec

    rule:
        name:
            f"download_{kind}"
        output:
            src=f"{corpus_dir}/{kind}.{SRC}.zst",
            trg=f"{corpus_dir}/{kind}.{TRG}.zst",
            trio=(
                [
                    f"{corpus_dir}/{kind}.tok-{SRC}.zst",
                    f"{corpus_dir}/{kind}.tok-{TRG}.zst",
                ]
                + [f"{corpus_dir}/{kind}.aln.zst"]
                if has_trio
                else []
            ),
        log:
            f"logs/resources/download_{kind}/{PLAN.corpus_key(kind)}.log",
        retries: 2
        localrule: True
        params:
            script=script("mtdistill.data.download"),
            limits=DOWNLOAD_LIMITS,
            urls=(
                f"--src-url {shlex.quote(spec['src'])} --trg-url {shlex.quote(spec['trg'])}"
                + (
                    f" --tok-src-url {shlex.quote(spec['tok-src'])}"
                    f" --tok-trg-url {shlex.quote(spec['tok-trg'])}"
                    f" --aln-url {shlex.quote(spec['alignments'])}"
                    if has_trio
                    else ""
                )
            ),
            outs=lambda w, output: (
                f"--out-tok-src {output.trio[0]} --out-tok-trg {output.trio[1]}"
                f" --out-aln {output.trio[2]}"
                if output.trio
                else ""
            ),
        shell:
            "{params.script} corpus {params.urls} --out-src {output.src} --out-trg {output.trg}"
            " {params.outs} {params.limits} --log {log}"


if PLAN.continued:

    rule download_model:
        """A Marian model directory; checked against the vocab it will be used with."""
        input:
            vocabs=lambda w: vocabs(
                "backward" if PLAN.model_by_key[w.key] == "backward" else "forward"
            ),
        output:
            model="resources/models/{key}/final.npz",
            decoder="resources/models/{key}/final.npz.decoder.yml",
        log:
            "logs/resources/download_model/{key}.log",
        wildcard_constraints:
            key="|".join(PLAN.model_by_key),
        retries: 2
        localrule: True
        params:
            script=script("mtdistill.data.download"),
            limits=DOWNLOAD_LIMITS,
            src=SRC,
            trg=TRG,
            url=lambda w: PLAN.continued_at(w.key).url,
            mode=lambda w: PLAN.continued_at(w.key).mode,
            sha=lambda w: (
                f"--sha256 {PLAN.continued_at(w.key).sha256}"
                if PLAN.continued_at(w.key).sha256
                else ""
            ),
            out_dir=lambda w, output: os.path.dirname(output.model),
        shell:
            "{params.script} model --url {params.url:q} --out-dir {params.out_dir}"
            " --mode {params.mode} --src {params.src} --trg {params.trg} --no-vocab {params.sha}"
            " --check-vocabs {input.vocabs} {params.limits} --log {log}"
