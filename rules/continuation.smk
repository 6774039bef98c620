# Download rules for every artifact reused by URL (config `continuation`). Each writes
# under resources/, keyed by URL, atomically; input functions in common.smk route the
# consumers to these files. Downloads run as jobs, never while the DAG is built.

MODEL_BY_KEY = {spec["dir"].rsplit("/", 1)[1]: name for name, spec in CONTINUED.items()}
# Limits of every download (config `downloads`); numbers only, validated by the schema.
DL = config["downloads"]
DOWNLOAD_LIMITS = (
    f"--max-bytes {DL['max-bytes']} --retries {DL['retries']} --timeout {DL['timeout']}"
)


if CONT_VOCAB:

    rule download_vocab:
        output:
            "resources/vocab/{key}/vocab.spm",
        log:
            "logs/resources/download_vocab/{key}.log",
        wildcard_constraints:
            key="|".join(VOCAB_URLS),
        retries: 2
        localrule: True
        conda:
            ENV_DATA
        params:
            script=script("mtdistill.data.download"),
            limits=DOWNLOAD_LIMITS,
            url=lambda w: VOCAB_URLS[w.key],
            sha=lambda w: f"--sha256 {VOCAB_SHA[w.key]}" if VOCAB_SHA[w.key] else "",
        shell:
            "{params.script} file --url {params.url:q} --out {output} --spm {params.sha}"
            " {params.limits} --log {log}"


for kind, spec in CONT_CORPORA.items():
    corpus_dir = f"resources/corpora/{corpus_key(kind)}"
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
            f"logs/resources/download_{kind}/{corpus_key(kind)}.log",
        retries: 2
        localrule: True
        conda:
            ENV_DATA
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


if CONTINUED:

    rule download_model:
        """A Marian model directory; checked against the vocab it will be used with."""
        input:
            vocabs=lambda w: vocabs(
                "backward" if MODEL_BY_KEY[w.key] == "backward" else "forward"
            ),
        output:
            model="resources/models/{key}/final.npz",
            decoder="resources/models/{key}/final.npz.decoder.yml",
        log:
            "logs/resources/download_model/{key}.log",
        wildcard_constraints:
            key="|".join(MODEL_BY_KEY),
        retries: 2
        localrule: True
        conda:
            ENV_DATA
        params:
            script=script("mtdistill.data.download"),
            limits=DOWNLOAD_LIMITS,
            src=SRC,
            trg=TRG,
            url=lambda w: CONTINUED[MODEL_BY_KEY[w.key]]["url"],
            mode=lambda w: CONTINUED[MODEL_BY_KEY[w.key]]["mode"],
            sha=lambda w: (
                f"--sha256 {CONTINUED[MODEL_BY_KEY[w.key]]['sha256']}"
                if CONTINUED[MODEL_BY_KEY[w.key]]["sha256"]
                else ""
            ),
            out_dir=lambda w, output: os.path.dirname(output.model),
        shell:
            "{params.script} model --url {params.url:q} --out-dir {params.out_dir}"
            " --mode {params.mode} --src {params.src} --trg {params.trg} --no-vocab {params.sha}"
            " --check-vocabs {input.vocabs} {params.limits} --log {log}"
