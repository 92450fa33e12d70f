#!/usr/bin/env bash
# Model-checks verification/blocker.pml with Spin: the model of the ioctl
# blocker, its mutants and the userfault / drain-deadline variants.
#
# For each case: the commands, the bounds, the verdict, states stored and
# explored, and times; for a violation, the head and the tail of the replayed
# trail and the final state.  Exit status 0 only if every case gives its expected
# verdict (the model and the drain-deadline variant pass; every mutant, the
# userfault deadlock and the two limits of the drain deadline fail).
#
#   verification/check.sh            all cases, JOBS (default 2) at a time
#   JOBS=1 verification/check.sh     one at a time
#   verification/check.sh NAME...    only the named cases
#
# Needs spin and gcc (Debian: apt-get install -y spin gcc).  Works in a private
# temporary directory, removed on exit.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model="$here/blocker.pml"
repo=$(cd "$here/.." && pwd)
jobs=${JOBS:-2}
trail_head=${TRAIL_HEAD:-6}
trail_tail=${TRAIL_TAIL:-12}

for tool in spin gcc; do
    command -v "$tool" >/dev/null || { echo "check.sh: $tool not found (apt-get install -y spin gcc)" >&2; exit 2; }
done
[ -r "$model" ] || { echo "check.sh: $model not found" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/blocker-check.XXXXXXXX") || exit 2
cleanup() {
    local pids
    pids=$(jobs -pr)
    [ -n "$pids" ] && kill $pids 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# name | expect | mode | gcc -O | -D flags | what it shows
#   mode safety: assertions and invalid end states (pan -DSAFETY, no claim)
#   mode live:   ltl "live" under weak fairness (pan -a -f)
cases=(
"model.safety|pass|safety|-O2|-DSPURIOUS=1 -DREKICK=1|(a) and (d) with spurious wake-ups and the timed re-kick, as implemented"
"model.deadlock|pass|safety|-O2|-DSPURIOUS=0 -DREKICK=0|(b): no wake-up may be spurious and nothing is timed, so a blocked thread stays blocked"
"model.live|pass|live|-O2|-DSPURIOUS=0 -DREKICK=1 -DNINH=1|(c) with the timed re-kick, as implemented"
"model.live.untimed|pass|live|-O1|-DSPURIOUS=0 -DREKICK=0 -DNVMIO=0|(c) without the re-kick timer: the protocol does not need it"
"model2.safety|pass|safety|-O2|-DNINHIB=2 -DNINH=1|two inhibitors, the second without the topology lock: (a), (d)"
"model2.deadlock|pass|safety|-O1|-DNINHIB=2 -DNVMIO=0 -DSPURIOUS=0 -DREKICK=0|two inhibitors, two inhibits each: (b)"
"model2.live|pass|live|-O2|-DNINHIB=2 -DNINH=1 -DNVMIO=0 -DSPURIOUS=0 -DREKICK=1|two inhibitors: (c)"
"mutant.no_recheck|fail|safety|-O0|-DMUTANT_NO_RECHECK -DSPURIOUS=0 -DREKICK=0|check busy, then wait, outside the gate: lost wake-up, (b)"
"mutant.signal_outside_gate|fail|safety|-O0|-DMUTANT_SIGNAL_OUTSIDE_GATE -DSPURIOUS=0 -DREKICK=0|signal without the gate: lost wake-up, (b)"
"mutant.no_kick_entering|fail|safety|-O0|-DMUTANT_NO_KICK_ENTERING -DSPURIOUS=0 -DREKICK=0|no immediate_exit: a kick before KVM_RUN is lost, (b)"
"mutant.unlocked_counter|fail|safety|-O0|-DMUTANT_UNLOCKED_COUNTER|the last vCPU's counter is not locked: (a)"
"mutant.total_after_counter|fail|safety|-O0|-DMUTANT_TOTAL_AFTER_COUNTER|counted in the total after the counter admitted it: (a)"
"mutant.no_bypass|fail|safety|-O0|-DMUTANT_NO_BYPASS -DSPURIOUS=0 -DREKICK=0|the inhibitor's own VM ioctl waits on its own lock: (b)"
"mutant.no_inhibitors_mutex|fail|safety|-O0|-DMUTANT_NO_INHIBITORS_MUTEX -DNINHIB=2 -DNINH=1 -DNRUNS=1 -DNVMIO=0|two inhibitors apply at once: (d)"
"uffd.deadlock|fail|safety|-O0|-DUFFD -DNVMIO=0 -DSPURIOUS=0 -DREKICK=0|userfault served under the topology lock, untimed wait: (b)"
"uffd.live|fail|live|-O0|-DUFFD -DNVMIO=0 -DSPURIOUS=0 -DREKICK=1|the same with the 20 ms re-kick and no deadline (--drain-timeout 0): re-kicks forever, (c)"
"deadline.safety|pass|safety|-O1|-DUFFD -DDRAIN_DEADLINE -DNVMIO=0|drain deadline as implemented: (a) for atomic applies, (a') for timed-out ones, (d)"
"deadline.safety.vm|pass|safety|-O1|-DUFFD -DDRAIN_DEADLINE -DNINH=1 -DNRUNS=1|the same with the VM-ioctl thread (a VM ioctl can be a straggler)"
"deadline.deadlock|pass|safety|-O1|-DUFFD -DDRAIN_DEADLINE -DNVMIO=0 -DSPURIOUS=0 -DREKICK=0|drain deadline: (b)"
"deadline.live|pass|live|-O2|-DUFFD -DDRAIN_DEADLINE -DNVMIO=0 -DSPURIOUS=0 -DREKICK=1|drain deadline: (c)"
"deadline.exact|fail|safety|-O0|-DUFFD -DDRAIN_DEADLINE -DNVMIO=0 -DSTRAGGLERS_EXACT|limit, not a property: a named vCPU may leave before the apply"
"deadline.vm2|fail|safety|-O0|-DDRAIN_DEADLINE -DNVMTHR=2 -DNINH=1 -DNRUNS=1|limit: two VM-ioctl threads, a second VM ioctl enters after vm.count was read: (a')"
)

# The bounds a case runs with, read back from the preprocessor.
bounds() {
    gcc -E -dM -x c $1 "$model" 2>/dev/null |
        awk '$1 == "#define" && $2 ~ /^(NVCPU|NINHIB|NINH|NRUNS|NVMIO|NVMTHR|OWN|REKICK|SPURIOUS|DEADLINE|UFFD_VCPU|INHIB2_TOPO)$/ { v[$2] = $3 }
             END { n = split("NVCPU NINHIB NINH NRUNS NVMIO NVMTHR OWN REKICK SPURIOUS DEADLINE INHIB2_TOPO", k, " ")
                   for (i = 1; i <= n; i++) printf "%s%s=%s", (i > 1 ? " " : ""), k[i], v[k[i]]; print "" }'
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Prints the first steps of a replayed trail (after init has started the
# processes), its last steps, the final values of the globals and where each
# process stands.
summarize_trail() {
    local out=$1 cmd=$2
    echo "   trail:   $cmd"
    awk -v head="$trail_head" -v tail="$trail_tail" '
        function stepno(l) { sub(/^ */, "", l); sub(/:.*/, "", l); return l }
        globals && /^ *[0-9]+:[ \t]+proc +[0-9-]+ \(/ { sub(/^ *[0-9]+:[ \t]+/, ""); procs[++np] = $0; next }
        globals && /^[ \t]+[A-Za-z_][A-Za-z_0-9]*(\[[0-9]+\])? = / {
            name = $1; val = $3
            if (name ~ /\[/) {
                base = name; sub(/\[.*/, "", base)
                if (base in arr) arr[base] = arr[base] "," val
                else { arr[base] = val; order[++no] = base }
            } else scal = scal " " name "=" val
            next }
        /^ *[0-9]+:[ \t]+proc / {
            if ($0 ~ /\(:init:/) next
            n++; if (n <= head) first[n] = $0; last[n % tail] = $0
            if (cyc == 1) { cycstep = stepno($0); cyc = 2 }
            next }
        /START OF CYCLE/ { cyc = 1; next }
        /trail ends after/ { ends = $0; globals = 1; next }
        END {
            for (i = 1; i <= n && i <= head; i++) print "   | " substr(first[i], 1, 140)
            if (n > head) {
                print "   | ..." (cycstep != "" ? "  (the acceptance cycle starts at step " cycstep ")" : "")
                from = n - tail + 1; if (from <= head) from = head + 1
                for (i = from; i <= n; i++) print "   | " substr(last[i % tail], 1, 140)
            }
            if (ends != "") print "   | " ends
            line = "   | final:"
            for (i = 1; i <= no; i++) line = line " " order[i] "=[" arr[order[i]] "]"
            print line; print "   |       " scal
            for (i = np; i >= 1; i--) print "   | " procs[i]
        }' "$out"
}

# Runs one case in its own directory; writes its report to $dir/report and
# its outcome (ok / UNEXPECTED / ERROR) to $dir/outcome.
run_case() {
    local name=$1 expect=$2 mode=$3 opt=$4 defs=$5 what=$6
    local dir="$work/$name"
    mkdir -p "$dir" && cd "$dir" || return
    cp "$model" blocker.pml
    local ccflags panflags
    if [ "$mode" = safety ]; then
        ccflags="$opt -w -DSAFETY -DNOCLAIM"; panflags="-n"
    else
        ccflags="$opt -w -DNFAIR=3"; panflags="-a -f -n"
    fi
    local spincmd="spin $defs -a blocker.pml"
    local cccmd="gcc $ccflags -o pan pan.c"
    local pancmd="./pan $panflags"
    {
        echo "== $name: $what"
        echo "   expect:  $( [ "$expect" = pass ] && echo 'no violation' || echo 'a violation')"
        echo "   bounds:  $(bounds "$defs")"
        echo "   command: $spincmd && $cccmd && $pancmd"
    } > report
    local t0 t1 t2 verdict outcome
    t0=$(now)
    if ! $spincmd > spin.out 2>&1 || ! $cccmd > gcc.out 2>&1; then
        { echo "   ERROR: spin/gcc failed"; sed 's/^/   | /' spin.out gcc.out | head -20; } >> report
        echo ERROR > outcome; return
    fi
    t1=$(now)
    $pancmd > pan.out 2>&1
    t2=$(now)
    local errors stored visited matched trans elapsed
    errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.out | tail -1)
    stored=$(awk '/states, stored/ { print $1; exit }' pan.out)
    visited=$(sed -n 's/.*states, stored (\([0-9.e+]*\) visited).*/\1/p' pan.out | head -1)
    matched=$(awk '/states, matched/ { print $1; exit }' pan.out)
    trans=$(awk '/transitions \(=/ { print $1; exit }' pan.out)
    elapsed=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' pan.out | tail -1)
    if [ -z "$errors" ] || grep -qE '^pan: error|out of memory' pan.out ||
       { [ "$errors" = 0 ] && grep -qE 'max search depth too small|Search not completed' pan.out; }; then
        verdict=ERROR
    elif [ "$errors" = 0 ]; then
        verdict=PASS
    else
        verdict=FAIL
    fi
    case "$verdict:$expect" in
        PASS:pass|FAIL:fail) outcome=ok ;;
        ERROR:*) outcome=ERROR ;;
        *) outcome=UNEXPECTED ;;
    esac
    {
        if [ "$verdict" = FAIL ]; then
            echo "   verdict: FAIL -- $(grep -m1 -E '^pan:[0-9]+:' pan.out | sed 's/^pan:[0-9]*: *//')"
        elif [ "$verdict" = PASS ]; then
            echo "   verdict: PASS (errors: 0)"
        else
            echo "   verdict: ERROR"; grep -E 'error|depth too small|memory|not completed' pan.out | head -5 | sed 's/^/   | /'
        fi
        echo "   states:  ${stored:-?} stored, ${trans:-?} explored (${visited:+$visited visited with the fairness copies, }${matched:-?} matched)"
        echo "   time:    pan ${elapsed:-?} s; spin+gcc $(secs "$t0" "$t1") s; total $(secs "$t0" "$t2") s"
        if [ "$verdict" = FAIL ] && [ -f blocker.pml.trail ]; then
            spin $defs -t -p -k blocker.pml.trail blocker.pml > trail.out 2>&1
            summarize_trail trail.out "spin $defs -t -p -k blocker.pml.trail blocker.pml"
        fi
        echo "   result:  $outcome"
    } >> report
    echo "$outcome" > outcome
}

# Source anchors: each "@ref path:line text" in the model must still hold.
check_refs() {
    local total=0 stale=0 path line text
    while IFS= read -r ref; do
        path=${ref%%:*}; rest=${ref#*:}; line=${rest%% *}; text=${rest#* }
        total=$((total + 1))
        if ! sed -n "${line}p" "$repo/$path" 2>/dev/null | grep -qF -- "$text"; then
            stale=$((stale + 1)); echo "   STALE: $path:$line does not contain: $text"
        fi
    done < <(sed -n 's/^ \* @ref \(.*\)$/\1/p' "$model")
    echo "   $total anchors, $stale stale (the model's line references follow the anchors)"
}

selected=()
if [ $# -gt 0 ]; then
    for want in "$@"; do
        found=
        for c in "${cases[@]}"; do [ "${c%%|*}" = "$want" ] && { selected+=("$c"); found=1; }; done
        [ -n "$found" ] || { echo "check.sh: no case $want" >&2; exit 2; }
    done
else
    selected=("${cases[@]}")
fi

start=$(now)
echo "spin: $(spin -V 2>&1 | head -1); gcc: $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion); $jobs job(s) at a time"
echo "model: $model"
echo "== source anchors"
check_refs

running=0
for c in "${selected[@]}"; do
    IFS='|' read -r name expect mode opt defs what <<< "$c"
    ( run_case "$name" "$expect" "$mode" "$opt" "$defs" "$what" ) &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

ok=0; bad=0; badnames=()
for c in "${selected[@]}"; do
    name=${c%%|*}
    cat "$work/$name/report" 2>/dev/null || echo "== $name: no report"
    if [ "$(cat "$work/$name/outcome" 2>/dev/null)" = ok ]; then ok=$((ok + 1)); else bad=$((bad + 1)); badnames+=("$name"); fi
done
echo "== summary: $ok of ${#selected[@]} cases gave the expected verdict in $(secs "$start" "$(now)") s wall"
# A model whose line references no longer hold mirrors code nobody checked it against.
if [ "$(check_refs | tail -1 | awk '{print $3}')" != 0 ]; then
    echo "   stale source anchors: update the @ref line numbers in blocker.pml to the code"
    bad=$((bad + 1)); badnames+=(anchors)
fi
if [ "$bad" -ne 0 ]; then
    echo "   not as expected: ${badnames[*]}"
    exit 1
fi
exit 0
