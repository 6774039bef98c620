"""The cleaning filters' names, in the order they apply (stdlib only).

They are the keys of the {stem}.stats.json files the cleaning steps write (besides
`input` and `kept`): mtdistill.data.clean writes them, neural_filter adds NEURAL, and
clean_table and report.data read them.
"""

PARALLEL_FILTERS = ["empty", "too-short", "too-long", "length-ratio", "identical", "numbers", "script",
                    "langid"]
MONO_FILTERS = ["empty", "too-short", "too-long", "script", "langid"]
NEURAL = "bicleaner"  # mtdistill.data.neural_filter's filter, after the rule-based ones
