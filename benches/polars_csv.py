"""polars' own CSV reader on the files benches/reader.rs times (issue 15: "measure both").

    POLARS_MAX_THREADS=2 python benches/polars_csv.py FILE [FILE ...]

Each file is read once to warm the page cache, then timed three times; the median is
printed with rows/s and MB/s. Every column is read as text (`infer_schema=False`), as obc
reads IDs, so the two readers do comparable work. benches/polars_csv.sh installs polars
into its own venv and runs this beside the reader benchmark in the same run. Figures:
benches/README.md ("The data layer").
"""

import os
import statistics
import sys
import time

import polars as pl


def read(path: str) -> int:
    return pl.read_csv(path, infer_schema=False).height


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: polars_csv.py FILE [FILE ...]")
    print(f"polars {pl.__version__}, threads {pl.thread_pool_size()}")
    print(f"{'file':<28} {'rows':>11} {'seconds':>9} {'rows/s':>12} {'MB/s':>9}")
    for path in sys.argv[1:]:
        rows = read(path)  # warm-up
        times = []
        for _ in range(3):
            t = time.perf_counter()
            n = read(path)
            times.append(time.perf_counter() - t)
            if n != rows:
                sys.exit(f"{path}: {n} rows, then {rows}")
        s = statistics.median(times)
        mb = os.path.getsize(path) / 1e6
        print(f"{os.path.basename(path):<28} {rows:>11} {s:>9.3f} {rows / s:>12.0f} {mb / s:>9.1f}")


if __name__ == "__main__":
    main()
