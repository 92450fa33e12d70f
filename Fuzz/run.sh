#!/usr/bin/env bash
# Fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
#
# Builds the fuzz package with -sanitize=fuzzer,address (all its targets at once)
# and runs one libFuzzer target (FuzzJSONL, FuzzQEMUTrace, FuzzJournal) for
# SECONDS on a seed corpus made from fixtures/, in a fresh temporary corpus
# directory. Prints libFuzzer's final stats and the number of executions; exits
# non-zero when the fuzzer found a crash (the input is saved as
# $FUZZ_CRASH_DIR/TARGET-crash-<sha1>).
#
# Environment:
#   FUZZ_CRASH_DIR   where crash, timeout and OOM inputs go (default Fuzz/crashes)
#   FUZZ_SCRATCH     SwiftPM scratch path (default Fuzz/.build-fuzz)
#   FUZZ_CONFIG      release (default; -O keeps Swift's bounds and overflow traps,
#                    drops assert()) or debug
#   FUZZ_MAX_LEN     libFuzzer -max_len (defaults per target below)
#   FUZZ_KEEP_CORPUS 1: keep the corpus directory (its path is printed)
#   FUZZ_JOURNAL_SEED_MAX_KB  FuzzJournal: seeds above this are left out (256)
#   FUZZ_TMPDIR      where the targets' per-input scratch files go (default
#                    /dev/shm when writable, else $TMPDIR or /tmp)
#   MEMJOURNAL       the memjournal whose `import` makes FuzzJournal's seeds
#                    (default: the main package's debug build, built if missing)
#   SWIFT            the swift driver (default: swift on PATH)
#
# Reproduce a crash:
#   SWIFT_BACKTRACE=enable=no Fuzz/.build-fuzz/release/TARGET Fuzz/crashes/TARGET-crash-…
set -euo pipefail

usage() { echo "usage: $0 FuzzJSONL|FuzzQEMUTrace|FuzzJournal SECONDS [libFuzzer flags...]" >&2; exit 64; }
[[ $# -ge 2 ]] || usage
target=$1 seconds=$2
shift 2
[[ $seconds =~ ^[1-9][0-9]*$ ]] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
swift=${SWIFT:-swift}
config=${FUZZ_CONFIG:-release}
scratch=${FUZZ_SCRATCH:-$here/.build-fuzz}
crashes=${FUZZ_CRASH_DIR:-$here/crashes}

case $target in
    FuzzJSONL) max_len=${FUZZ_MAX_LEN:-65536} ;;
    FuzzQEMUTrace) max_len=${FUZZ_MAX_LEN:-16384} ;;
    FuzzJournal) max_len=${FUZZ_MAX_LEN:-} ;;  # set below from the seeds
    *) usage ;;
esac

# Every module is instrumented (coverage for libFuzzer, ASan); this package's
# manifest cannot reach the parent's modules with unsafeFlags. The flags reach
# the host tool of the parent's EmbedMigrations plugin as well, and ld.gold
# (swiftc's default on Linux) dies linking it with the sanitizer runtimes under
# --gc-sections ("internal error in format_file_lineno"): link with the
# toolchain's lld instead.
#
# Everything is built at once, the parent's targets included (memjournal makes
# FuzzJournal's seeds), from Fuzz/ and without OLDPWD: SwiftPM re-runs the
# parent's EmbedMigrations plugin and recompiles JournalStore whenever the
# --product or the environment differs from the last build's (a different
# caller directory was enough).
echo "== building (all targets, $config)"
start=$SECONDS
cd "$here"
unset OLDPWD
nice -n 10 "$swift" build --package-path "$here" --scratch-path "$scratch" -c "$config" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
bin=$scratch/$config/$target  # (--show-bin-path without the same flags would spoil the next incremental build)
echo "== built in $((SECONDS - start)) s: $bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/memjournal-fuzz-$target.XXXXXX")
# The targets write every input to a file in a new TemporaryDirectory under
# $TMPDIR: give them a private one, on tmpfs when there is one (a third more
# executions than on disk), removed at the end with whatever crashed or timed-out
# inputs left there.
scratch_base=${FUZZ_TMPDIR:-}
if [[ -z $scratch_base ]]; then
    if [[ -d /dev/shm && -w /dev/shm ]]; then scratch_base=/dev/shm; else scratch_base=${TMPDIR:-/tmp}; fi
fi
inputs=$(mktemp -d "$scratch_base/memjournal-fuzz-inputs.XXXXXX")
cleanup() {
    rm -rf "$inputs"
    if [[ ${FUZZ_KEEP_CORPUS:-0} == 1 ]]; then
        echo "== corpus kept in $work/corpus"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
corpus=$work/corpus
mkdir -p "$corpus" "$crashes"

case $target in
    FuzzJSONL) cp "$root"/fixtures/*.jsonl "$corpus"/ ;;
    FuzzQEMUTrace) cp "$root"/fixtures/qemu/*.log "$corpus"/ ;;
    FuzzJournal)
        # Journals imported from every fixture (all JSONL files and the QEMU traces)
        # by the main package's own (debug, uninstrumented) memjournal.
        memjournal=${MEMJOURNAL:-}
        if [[ -z $memjournal ]]; then
            (cd "$root" && unset OLDPWD && nice -n 10 "$swift" build --product memjournal >/dev/null)
            memjournal=$(cd "$root" && "$swift" build --product memjournal --show-bin-path)/memjournal
        fi
        for f in "$root"/fixtures/*.jsonl "$root"/fixtures/qemu/*.log; do
            "$memjournal" import "$f" -o "$corpus/$(basename "$f").journal" >/dev/null
        done
        # libFuzzer truncates seeds longer than -max_len, which spoils SQLite files:
        # leave the big ones out instead (scale's 850 KB journal alone would cut the
        # executions per second by three), then -max_len is the largest seed.
        find "$corpus" -type f -size +"${FUZZ_JOURNAL_SEED_MAX_KB:-256}"k -print -delete |
            sed "s|^|== seed left out (over ${FUZZ_JOURNAL_SEED_MAX_KB:-256} KiB): |"
        [[ -n $max_len ]] || max_len=$(find "$corpus" -type f -printf '%s\n' | sort -n | tail -1)
        ;;
esac
echo "== $(ls "$corpus" | wc -l) seed(s) in $corpus, -max_len=$max_len"

# The Swift runtime's crash backtracer would run first and trips ASan while
# reading memory; off, libFuzzer and ASan report the crash (symbolized stack,
# "Swift runtime failure: …" frames) and save the input.
export SWIFT_BACKTRACE=enable=no
symbolizer=$(dirname "$(command -v "$swift")")/llvm-symbolizer
[[ -x $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer
log=$work/fuzz.log
echo "== running $target for $seconds s (log: $crashes/$target-last.log)"
set +e
(cd "$work" && TMPDIR=$inputs LSAN_OPTIONS=suppressions=$here/lsan.supp:print_suppressions=0 nice -n 10 "$bin" \
    -max_total_time="$seconds" -timeout=20 -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="$crashes/$target-" "$@" "$corpus") 2>&1 | tee "$log" | grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)'
status=${PIPESTATUS[0]}
set -e
cp "$log" "$crashes/$target-last.log"
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
echo "== $target: ${executions:-?} executions in $seconds s (${rate:-?}/s), libFuzzer exit status $status"
if [[ $status -ne 0 ]]; then
    echo "== $target FAILED: see the input named by 'Test unit written to' above, and $crashes/$target-last.log" >&2
    exit "$status"
fi
