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
    # Without continuation.vocab the vocab travels with the models: the first model
    # directory (mtdistill.plan.vocab_provider) provides it, downloaded by
    # download_model_with_vocab; every other one is checked against it.
    VOCAB_KEY = PLAN.vocab.model_key
    CHECKED_KEYS = [k for k in PLAN.download_keys(foreign=False) if k != VOCAB_KEY]

    rule download_model:
        """A Marian model directory; checked against the vocab it will be used with."""
        input:
            # None for the directory that provides the vocab: it writes them.
            vocabs=lambda w: (
                []
                if w.key == VOCAB_KEY
                else PLAN.model_vocab_files(PLAN.model_by_key[w.key])
            ),
        output:
            model="resources/models/{key}/final.npz",
            decoder="resources/models/{key}/final.npz.decoder.yml",
        log:
            "logs/resources/download_model/{key}.log",
        wildcard_constraints:
            key="|".join(CHECKED_KEYS) or "(?!)",  # (?!): none, matches nothing
        retries: 2
        localrule: True
        params:
            script=script("mtdistill.data.download"),
            limits=DOWNLOAD_LIMITS,
            # The model's languages, in its direction, name the vocab files it ships.
            src=lambda w: PLAN.model_langs(PLAN.model_by_key[w.key])[0],
            trg=lambda w: PLAN.model_langs(PLAN.model_by_key[w.key])[1],
            vocab=lambda w: "" if w.key == VOCAB_KEY else "--no-vocab",
            check=lambda w: PLAN.model_vocab_files(PLAN.model_by_key[w.key]),
            origin=PLAN.vocab.origin,
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
            " --mode {params.mode} --src {params.src} --trg {params.trg} {params.vocab}"
            " {params.sha} --check-vocabs {params.check} --vocab-origin {params.origin:q}"
            " {params.limits} --log {log}"

    if VOCAB_KEY:

        # The model directory the run's vocab comes from (continuation.vocab unset): its
        # vocab.{src}.spm + vocab.{trg}.spm, or its vocab.spm saved under both names.
        use rule download_model as download_model_with_vocab with:
            output:
                model="resources/models/{key}/final.npz",
                decoder="resources/models/{key}/final.npz.decoder.yml",
                vocabs=[
                    f"resources/models/{{key}}/vocab.{SRC}.spm",
                    f"resources/models/{{key}}/vocab.{TRG}.spm",
                ],
            wildcard_constraints:
                key=VOCAB_KEY,


if PLAN.download_keys(foreign=True):

    rule download_opusmt:
        """An OPUS-MT release (continuation type opusmt), zip or directory: its model with
        its own YAML vocab and SentencePiece models, checked against each other and never
        against the run's vocab."""
        output:
            model="resources/models/{key}/final.npz",
            spm_src="resources/models/{key}/source.spm",
            spm_trg="resources/models/{key}/target.spm",
            vocab="resources/models/{key}/vocab.yml",
        log:
            "logs/resources/download_opusmt/{key}.log",
        wildcard_constraints:
            key="|".join(PLAN.download_keys(foreign=True)),
        retries: 2
        localrule: True
        params:
            script=script("mtdistill.data.download"),
            limits=DOWNLOAD_LIMITS,
            url=lambda w: PLAN.continued_at(w.key).url,
            sha=lambda w: (
                f"--sha256 {PLAN.continued_at(w.key).sha256}"
                if PLAN.continued_at(w.key).sha256
                else ""
            ),
            out_dir=lambda w, output: os.path.dirname(output.model),
        shell:
            "{params.script} opusmt --url {params.url:q} --out-dir {params.out_dir}"
            " {params.sha} {params.limits} --log {log}"
