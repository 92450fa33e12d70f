#!/usr/bin/env bash
# Benchmark 1d ("drain in turns", C vs memjournal) from two builds of the
# benchmark executable, run alternately RUNS times each (default 20), then per
# build and vCPU count: every run's drain p50 ratio memjournal / C, their median,
# how many runs were above 1.2, and the median p50 and p99 of each side.
#
#   swift build -c release --package-path Benchmarks
#   cp Benchmarks/.build/release/MemjournalBenchmarks before-drain   # then change, build again
#   Benchmarks/compare-drain.sh before-drain Benchmarks/.build/release/MemjournalBenchmarks
#
# Run directly (not through the plugin), the executable runs each benchmark once
# and prints its HdrHistogram percentiles; both builds load the malloc
# interposer from this package's release build directory.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BEFORE AFTER (two MemjournalBenchmarks executables)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/.build/release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
out=$(mktemp -d "${TMPDIR:-/tmp}/compare-drain.XXXXXX")
trap 'rm -rf "$out"' EXIT
for i in $(seq 1 "${RUNS:-20}"); do
  "$1" --filter "1 drain in turns.*" > "$out/before-$i.out" 2>&1
  "$2" --filter "1 drain in turns.*" > "$out/after-$i.out" 2>&1
done
python3 - "$out" <<'EOF'
import glob, re, statistics, sys

def percentiles(path):
    """(benchmark, metric) -> (p50, p99) in ns, from one run's printed histograms."""
    found, bench, metric, rows = {}, None, None, []
    for line in open(path):
        if m := re.match(r'Debug results for (.*):', line):
            bench = m.group(1)
        elif m := re.match(r'^(C drain|drain|C inhibit|inhibit) \(ns\):', line):
            metric, rows = m.group(1), []
        elif metric and (m := re.match(r'^\s*([0-9.]+)\s+([0-9.]+)\s+\d+', line)):
            rows.append((float(m.group(1)), float(m.group(2))))
        elif metric and line.startswith('#[Mean'):
            at = lambda q: next(v for v, p in rows if p >= q)
            found[(bench, metric)], metric = (at(0.5), at(0.99)), None
    return found

for build in ('before', 'after'):
    runs = [percentiles(p) for p in sorted(glob.glob(f'{sys.argv[1]}/{build}-*.out'))]
    for vcpus in (1, 2, 4):
        pairs = [(r[(b, 'C drain')], r[(b, 'drain')]) for r in runs
                 for b in {k[0] for k in r} if f'vcpus={vcpus},' in b]
        if not pairs:
            print(f'{build} vcpus={vcpus}: no run finished (see the executable output)')
            continue
        ratios = [m[0] / c[0] for c, m in pairs]
        med = lambda xs: statistics.median(xs) / 1000
        print(f'{build} vcpus={vcpus}: {len(ratios)} runs, median p50 ratio {statistics.median(ratios):.3f}, '
              f'{sum(x > 1.2 for x in ratios)} above 1.2; p50 C {med([c[0] for c, _ in pairs]):.1f} '
              f'memjournal {med([m[0] for _, m in pairs]):.1f} us; p99 C {med([c[1] for c, _ in pairs]):.0f} '
              f'memjournal {med([m[1] for _, m in pairs]):.0f} us; ratios {" ".join(f"{x:.2f}" for x in ratios)}')
EOF
