"""Command lines that once crashed, hung or ran out of memory, kept so that each runs every time.

`test_cli_fuzz.py` runs REGRESSIONS in process (exit status 0, 2 or 3, no traceback) and NAMED in a
child process under the abuse limits, where each must also be refused (status 2) with one line on
stderr, using less than NAMED_MEMORY_MB. Placeholders in braces are files the test makes: {out}
(a fresh folder to write), {dir} (an existing folder), {fifo}, {csv} (a valid CSV of points),
{npz} and {json} (valid weights of the seed network), {missing} (a path that does not exist).
A new failure the fuzzer finds is added here, with what it did.
"""

from __future__ import annotations

#: Found by the fuzzer, or named in issues 11 and 15; the comment says what happened before the fix.
REGRESSIONS: list[list[str]] = [
    # exit status 0 and nothing written: an empty --out was taken as "no folder"
    ["train", "--iterations", "3", "--out", ""],
    ["sweep", "--param", "hidden", "--values", "1", "--iterations", "3", "--out", ""],
    # an empty path silently meant "no file"
    ["train", "--iterations", "3", "--init-weights", ""],
    ["train", "--iterations", "3", "--dataset", "csv", "--csv-path", ""],
    # -0 must be 0.0 (numpy refuses a negative scale), with mini-batches that do not divide 750
    ["train", "--noise", "-0", "--hidden", "16,16", "--batch-size", "7", "--iterations", "20"],
    # --jobs 0 and a negative count far below the CPUs
    ["sweep", "--param", "hidden", "--values", "1", "--iterations", "3", "--jobs", "0"],
    ["sweep", "--param", "hidden", "--values", "1", "--iterations", "3", "--jobs", "-100000"],
    # a malformed budget, in the flag
    ["train", "--iterations", "3", "--memory-budget", "9" * 40],
    ["train", "--iterations", "3", "--memory-budget", "0"],
    # hung (multiprocessing) or crashed (loky): a worker's ConfigError could not be unpickled
    ["sweep", "--param", "hidden", "--values", "1,2", "--iterations", "3",
     "--backend", "multiprocessing", "--jobs", "2", "--init-weights", "{npz}"],
    ["sweep", "--param", "hidden", "--values", "1,2", "--iterations", "3",
     "--backend", "loky", "--jobs", "2", "--init-weights", "{npz}"],
    # ran on loky: the --backend's parallel_config was entered twice and applied only once
    ["sweep", "--param", "hidden", "--values", "1,2", "--iterations", "3", "--jobs", "4294967296",
     "--backend", "threading", "--init-weights", "{npz}"],
    # trained first, then failed to write into a file
    ["train", "--iterations", "3", "--out", "{npz}"],
]  # fmt: skip

#: The hostile command lines of issues 11 and 15: each must be refused at once (status 2).
NAMED: list[list[str]] = [
    ["train", "--hidden", "4096,4096,4096,4096,4096,4096,4096,4096"],
    ["train", "--samples", "1000000", "--hidden", "4096", "--iterations", "1"],
    ["train", "--samples", "1000000", "--hidden", "512"],
    ["train", "--out", ""],
    ["sweep", "--param", "hidden", "--values", "1", "--repeats", "1000000000"],
    ["sweep", "--preset", "article", "--repeats", "1000000000"],
    ["train", "--dataset", "csv", "--csv-path", "{fifo}"],
    ["train", "--dataset", "csv", "--csv-path", "/dev/zero"],
    ["train", "--dataset", "csv", "--csv-path", "{dir}"],
    ["train", "--init-weights", "{fifo}"],
    ["train", "--init-weights", "/dev/zero"],
    ["train", "--iterations", "3", "--out", "/dev/null"],
]
#: The most resident memory a refusal of a NAMED command line may take.
NAMED_MEMORY_MB = 500
