/*
 * blocker.pml -- a Promela model of memjournal's ioctl blocker
 * (Sources/Memslots/Blocker/IoctlBlocker.swift and LockCount.swift), the vCPU
 * kick (Sources/KVMBackend/KVMVCPUs.swift, Sources/CKVM/ckvm.c) and the
 * inhibitor's caller (Sources/Memslots/Listener/MemslotListener.swift under
 * Machine.transaction's topology lock).  Checked with Spin 6.5; driven by
 * verification/check.sh.  Line numbers below refer to the files at commit
 * 6c3ef84.
 *
 * Processes:
 *   Inhibitor  -- MemslotListener.commit with an overlapping transaction:
 *                 topology lock, inhibitBegin, apply, inhibitEnd.
 *   VCPU       -- a vCPU thread: clear immediate_exit, beginVCPU, KVM_RUN
 *                 (kick / own exits / optional userfault), endVCPU.
 *   VMIoctl    -- a thread outside the topology lock making VM ioctls through
 *                 beginVM/endVM (e.g. a dirty-log fetch).
 *   UffdServer -- (-DUFFD) the thread that resolves userfaults; it needs the
 *                 topology lock to do so.
 *
 * Memory model: the model is sequentially consistent.  Each LockCount
 * operation is a single read-modify-write of one atomic word in the Swift code
 * and is one atomic step here.  The one cross-location ordering the protocol
 * needs (the vCPU's "immediate_exit = 0" before its increment, the kicker's
 * "immediate_exit = 1" after reading the count) is also guaranteed on the real
 * code by the signal handler, which stores immediate_exit on the vCPU's own
 * thread (ckvm.c:102-106), so SC is not an over-approximation that matters.
 *
 * Properties
 *   (a) safety (assertions): while an inhibitor applies atomically no vCPU is
 *       inside KVM_RUN and no VM ioctl made through the counters is in flight.
 *       Checked on both sides: by the inhibitor when it starts to apply and by
 *       every vCPU / VM ioctl when it enters.  With -DDRAIN_DEADLINE a
 *       timed-out (non-atomic) apply instead requires every vCPU inside
 *       KVM_RUN (every VM ioctl in flight) to be a recorded straggler.
 *   (b) no invalid end states (run pan without -E).  Meaningful with
 *       SPURIOUS=0: a process waiting on a condition variable that may wake
 *       spuriously is never blocked, so spurious wake-ups hide deadlocks.
 *   (c) liveness: ltl "live" under weak fairness (pan -a -f): every inhibit
 *       that has begun ends, and every thread refused by the counters enters
 *       again.  Why an LTL response property and not non-progress cycles: a
 *       progress label would have to sit on guest execution (a vCPU running
 *       its guest is progress), and a cycle in which a vCPU keeps running its
 *       guest while the inhibitor waits forever would then pass unnoticed; the
 *       response property pins the obligation to the waiting party.  Run with
 *       SPURIOUS=0: infinitely many spurious wake-ups of one thread, combined
 *       with an unfair mutex, can starve another thread of the gate; weak
 *       fairness cannot exclude that (the starved thread is not continuously
 *       enabled), and real spurious wake-ups are finite.
 *   (d) at most one inhibitor applies at a time (assertion at apply start).
 *
 * Switches (all -D):
 *   NVCPU NINHIB NINH NRUNS NVMIO OWN  bounds, see below
 *   REKICK=1   the inhibitor's wait on `quiesced` is timed (the 20 ms re-kick,
 *              IoctlBlocker.swift:51,155); 0: an untimed event wait
 *   SPURIOUS=1 condition variables may wake spuriously
 *   UFFD       a vCPU may block in the kernel on a userfault whose server needs
 *              the topology lock (the deadlock QEMU's commit message names)
 *   DRAIN_DEADLINE  the inhibitor gives up waiting after a deadline and
 *              applies non-atomically, naming the stragglers
 *   MUTANT_*   one deliberate bug each, see the end of this comment
 *   STRAGGLERS_EXACT  (with DRAIN_DEADLINE) also asserts that the stragglers
 *              named are exactly the counters still busy when the apply
 *              starts -- expected to FAIL, see apply()
 *
 * Mutants (each must make spin report a violation, with a trail):
 *   MUTANT_NO_RECHECK  the inhibitor checks "busy" (and kicks) without the
 *       gate, then takes the gate and waits on `quiesced` without checking
 *       again: the "check, then wait" race the gate exists to prevent
 *       (IoctlBlocker.swift:27-30 -- "held by an inhibitor between re-checking
 *       the counts and waiting ... so a wake-up cannot fall between the check
 *       and the wait").  The last leaver's signal falls between the check and
 *       the wait and is lost.  With REKICK=1 this is only a 20 ms delay; with
 *       REKICK=0 the inhibitor sleeps forever: violates (b).
 *   MUTANT_SIGNAL_OUTSIDE_GATE  leave() signals `quiesced` without the gate:
 *       the signal can land after the inhibitor's check (made under the gate)
 *       and before its wait.  Same lost wake-up; violates (b) with REKICK=0.
 *   MUTANT_NO_KICK_ENTERING  the kick sets no immediate_exit (neither the
 *       kicker nor the signal handler): a signal that lands while the vCPU is
 *       between its increment and KVM_RUN is lost, and a guest that does not
 *       exit on its own keeps the vCPU inside forever.  With REKICK=1 the next
 *       re-kick finds it inside KVM_RUN; with REKICK=0: violates (b).
 *   MUTANT_UNLOCKED_COUNTER  inhibitBegin does not lock the last vCPU's
 *       counter: that vCPU enters KVM_RUN during the apply: violates (a).
 *   MUTANT_NO_BYPASS  the topology-lock holder's own VM ioctl goes through
 *       the VM counter, which it has locked itself: violates (b).
 *   MUTANT_NO_INHIBITORS_MUTEX (with NINHIB=2)  the `inhibitors` mutex is
 *       gone; the second inhibitor does not hold the topology lock, so nothing
 *       serialises the two: violates (d) (and (a)).
 */

/* ---------------------------------------------------------------- bounds */
#ifndef NVCPU
#define NVCPU 2        /* vCPUs (one LockCount each) */
#endif
#ifndef NINHIB
#define NINHIB 1       /* inhibitor threads: 1 or 2 */
#endif
#ifndef NINH
#define NINH 2         /* inhibits per inhibitor */
#endif
#ifndef NRUNS
#define NRUNS 2        /* KVM_RUN brackets (beginVCPU..endVCPU) per vCPU */
#endif
#ifndef NVMIO
#define NVMIO 1        /* VM ioctls made by the VMIoctl thread (0: no such thread) */
#endif
#ifndef OWN
#define OWN 1          /* exits a guest may take on its own per bracket; after that it
                          runs until kicked (a guest spinning without exits) */
#endif
#ifndef REKICK
#define REKICK 1
#endif
#ifndef SPURIOUS
#define SPURIOUS 1
#endif
#ifndef INHIB2_TOPO
#define INHIB2_TOPO 0  /* whether the second inhibitor holds the topology lock; every
                          caller in the tree does (MemslotListener, ReplayEngine), so
                          with 1 the topology lock alone serialises them and the
                          `inhibitors` mutex is never contended */
#endif
#ifdef DRAIN_DEADLINE
#define DRAINDL 1
#ifndef DEADLINE
#define DEADLINE 2     /* timed wake-ups (re-kicks) before the drain deadline passes */
#endif
#else
#define DRAINDL 0
#define DEADLINE 0
#endif
#if REKICK
#define DL_TICKS DEADLINE
#else
#define DL_TICKS 1     /* no re-kick: the only timeout of the wait is the deadline */
#endif
#define TIMED (REKICK || DRAINDL)
#ifndef UFFD_VCPU
#define UFFD_VCPU 0    /* the vCPU that may take a userfault (-DUFFD), once */
#endif

/* thread ids ("me"): inhibitors 0..NINHIB-1, vCPU i is NINHIB+i, then the
   VM-ioctl thread, then the userfault server.  Mutexes store holder id + 1. */
#define VMC    NVCPU                 /* index of the VM counter */
#define NCNT   (NVCPU + 1)
#define ME_VM  (NINHIB + NVCPU)
#define ME_UF  (NINHIB + NVCPU + 1)
#define NPROC  (NINHIB + NVCPU + 2)

/* ---------------------------------------------------------------- state */
/* LockCount (LockCount.swift:14-20): count and lock bit of one atomic word */
byte cnt[NCNT];
bit  lk[NCNT];

byte gate;            /* IoctlBlocker.gate        (IoctlBlocker.swift:30) */
byte inhibitors;      /* IoctlBlocker.inhibitors  (IoctlBlocker.swift:36) */
byte topo;            /* TopologyLock             (TopologyLock.swift:10-28) */
bit  qw[NPROC];       /* waiting on `quiesced`    (IoctlBlocker.swift:32) */
bit  rw[NPROC];       /* waiting on `released`    (IoctlBlocker.swift:34) */

/* the vCPU side of a kick (KVMVCPUs.swift:29-33, ckvm.c:79-106) */
bit  ie[NVCPU];       /* kvm_run.immediate_exit */
bit  sig[NVCPU];      /* SIGUSR1 pending while the thread is inside KVM_RUN */
bit  inrun[NVCPU];    /* ghost: the thread is inside the KVM_RUN ioctl */

#ifdef UFFD
bit  ufreq[NVCPU];    /* a userfault of vCPU i waits for the server */
byte nuf;             /* userfaults waiting */
#endif
#ifdef DRAIN_DEADLINE
bit  strag[NCNT];     /* stragglers named by a timed-out inhibit */
#endif

/* ghosts for the properties */
byte vmin;            /* VM ioctls in flight through the counters */
byte appA;            /* inhibitors applying atomically */
byte appN;            /* inhibitors applying after a drain timeout */
byte inh;             /* inhibits begun and not yet ended (liveness) */
byte refused;         /* threads refused by a counter, not yet admitted (liveness) */

ltl live { [] ((inh > 0) -> <> (inh == 0)) && [] ((refused > 0) -> <> (refused == 0)) }

/* ---------------------------------------------------------------- mutexes
   PlainMutex.lock/unlock (PlainMutex.swift:30-31), TopologyLock.lock/unlock
   (TopologyLock.swift:19-28): non-recursive; unlocking checks ownership. */
inline mlock(m, me)   { atomic { m == 0 -> m = me + 1 } }
inline munlock(m, me) { atomic { assert(m == me + 1); m = 0 } }
/* TopologyLock.lock/unlock also store/clear the owner read by `bypass` */
inline tlock(me)   { atomic { topo == 0 -> topo = me + 1; holds = 1 } }
inline tunlock(me) { atomic { assert(topo == me + 1); topo = 0; holds = 0 } }

/* ---------------------------------------------------------------- condition variables
   PlainMutex.Condition (PlainMutex.swift:40-74).  A wait releases the mutex and
   joins the waiters in one step (pthread guarantees no wake-up is missed in
   between), then leaves the wait when signalled -- or spuriously, or (timed
   wait) on timeout -- and only then contends for the mutex again.  A signal
   or broadcast wakes the threads waiting at that moment and is otherwise
   forgotten. */

/* released.wait(gate)  (IoctlBlocker.swift:113, PlainMutex.swift:59) */
inline wait_released(me) {
    atomic { assert(gate == me + 1); rw[me] = 1; gate = 0 }
    atomic {
        if
        :: rw[me] == 0 -> skip               /* woken by the broadcast */
        :: SPURIOUS && rw[me] -> rw[me] = 0  /* spurious wake-up */
        fi
    }
    mlock(gate, me)                          /* re-acquire on wake */
}

/* quiesced.wait(gate, nanoseconds: rekickNs)  (IoctlBlocker.swift:155,
   PlainMutex.swift:63-70).  `tick` counts timeouts for the drain deadline. */
inline wait_quiesced(me) {
    atomic { assert(gate == me + 1); qw[me] = 1; gate = 0 }
    atomic {
        if
        :: qw[me] == 0 -> skip                       /* signalled by the last leaver */
        :: SPURIOUS && qw[me] -> qw[me] = 0          /* spurious wake-up */
        :: TIMED && qw[me] && (REKICK || tick < DL_TICKS) ->
           qw[me] = 0;                               /* the 20 ms re-kick timer, or the deadline */
           if
           :: DRAINDL && tick < DL_TICKS -> tick++
           :: else -> skip
           fi
        fi
    }
    mlock(gate, me)
}

/* quiesced.signal()  (IoctlBlocker.swift:120): wakes one waiter, if any */
inline signal_quiesced() {
    atomic {
        if
        :: qw[0] -> qw[0] = 0
#if NINHIB > 1
        :: qw[1] -> qw[1] = 0
#endif
        :: else -> skip                      /* nobody waits: the signal is gone */
        fi
    }
}

/* released.broadcast()  (IoctlBlocker.swift:175)

   gate.withLock { signal or broadcast } (:120, :175) is modelled as one step
   "gate free -> signal": acquiring a lock is a right mover and releasing it a
   left mover (Lipton's reduction), and nothing else happens inside, so the
   short critical section can be collapsed without losing a behaviour or a
   deadlock -- it still cannot happen while another thread holds the gate,
   which is the point. */
inline broadcast_released() {
    d_step { k = 0; do :: k < NPROC -> rw[k] = 0; k++ :: else -> k = 0; break od }
}

/* ---------------------------------------------------------------- LockCount */

/* tryIncrement (LockCount.swift:24-35): refused only while locked AND count == 0.
   The CAS loop succeeds or refuses in one linearisable step.  The ghost
   `refused` counts threads between their first refusal and their admission. */
inline try_increment(c, ok, wasref) {
    atomic {
        if
        :: lk[c] && cnt[c] == 0 ->
           ok = 0;
           if :: !wasref -> wasref = 1; refused++ :: else -> skip fi
        :: else ->
           cnt[c]++; ok = 1;
           if :: wasref -> wasref = 0; refused-- :: else -> skip fi
        fi
    }
}

/* decrement (LockCount.swift:39-42): true when it leaves the word at exactly
   "locked, count 0". */
inline decrement(c, r) { atomic { cnt[c]--; r = (lk[c] && cnt[c] == 0) } }

/* ---------------------------------------------------------------- ioctl side */

/* enter(_:)  IoctlBlocker.swift:110-116 */
inline enter(me, c) {
    do
    :: try_increment(c, ok, wasref);                       /* :111 */
       if
       :: ok -> break
       :: else ->
          mlock(gate, me);                                 /* :112 */
          do
          :: lk[c] && cnt[c] == 0 -> wait_released(me)     /* :113 isBlocking (LockCount.swift:52) */
          :: else -> break
          od;
          munlock(gate, me)                                /* :114 */
       fi
    od;
    ok = 0
}

/* leave(_:)  IoctlBlocker.swift:118-122 */
inline leave(me, c) {
    decrement(c, r);                                       /* :119 */
    if
    :: r ->
       r = 0;
#ifdef MUTANT_SIGNAL_OUTSIDE_GATE
       signal_quiesced()                                   /* mutant: no gate */
#else
       atomic { gate == 0 -> signal_quiesced() }          /* :120 gate.withLock { signal } */
#endif
    :: else -> skip
    fi
}

/* beginVM / endVM  IoctlBlocker.swift:93-101 with `bypass` (:66): the
   topology-lock holder skips the counters.  `bypass` compares the lock's owner
   with the calling thread, so it is true exactly when this thread took the lock:
   a thread-local fact, kept in the local bit `holds` (set by tlock/tunlock). */
inline begin_vm(me) {
#ifdef MUTANT_NO_BYPASS
    enter(me, VMC)
#else
    if
    :: holds -> skip                                       /* :94 guard !bypass */
    :: else -> enter(me, VMC)                              /* :95 */
    fi
#endif
}
inline end_vm(me) {
#ifdef MUTANT_NO_BYPASS
    leave(me, VMC)
#else
    if
    :: holds -> skip                                       /* :99 */
    :: else -> leave(me, VMC)                              /* :100 */
    fi
#endif
}

/* ---------------------------------------------------------------- the kick */

/* What the signal handler does when SIGUSR1 arrives outside KVM_RUN
   (ckvm.c:102-106): it stores immediate_exit = 1, so the next KVM_RUN returns
   at once; the signal itself is consumed. */
#ifdef MUTANT_NO_KICK_ENTERING
#define HANDLER(i) skip
#else
#define HANDLER(i) ie[i] = 1
#endif

/* KVMVCPUs.kick(vcpu:)  KVMVCPUs.swift:142-147 */
inline kick(i) {
#ifndef MUTANT_NO_KICK_ENTERING
    ie[i] = 1;                                             /* :144 ckvm_run_set_immediate_exit(run, 1) */
#endif
    atomic {                                               /* :145-146 pthread_kill */
        if
        :: inrun[i] -> sig[i] = 1                          /* interrupts KVM_RUN */
        :: else -> HANDLER(i)                              /* lands in user space: lost as a signal */
        fi
    }
}

/* ---------------------------------------------------------------- inhibitor side */

/* kickBusy()  IoctlBlocker.swift:142-150: kick every vCPU whose count is not 0,
   then look at the VM counter.  Each count is read in its own step. */
inline kick_busy() {
    busy = 0; c = 0;
    do
    :: c < NVCPU ->
       if
       :: cnt[c] != 0 ->                                   /* :144 */
          busy = 1;
#ifdef DRAIN_DEADLINE
          seen = seen | (1 << c);
#endif
          kick(c)                                          /* :147 */
       :: else -> skip
       fi;
       c++
    :: else -> break
    od;
    c = 0;
    if
    :: cnt[VMC] != 0 ->                                    /* :149 */
       busy = 1;
#ifdef DRAIN_DEADLINE
       seen = seen | (1 << VMC)
#endif
    :: else -> skip
    fi
}

/* Drain-deadline policy (not in the Swift code yet; the --drain-timeout the
   Swift side is to add): past the deadline the inhibitor stops waiting, keeps
   the counters locked, names as stragglers the counters found busy by the last
   kickBusy, and applies non-atomically.  The deadline is reached after
   DL_TICKS timeouts of the wait. */
inline record_stragglers() {
#ifdef DRAIN_DEADLINE
    d_step {
        c = 0;
        do
        :: c < NCNT -> strag[c] = (seen >> c) & 1; c++
        :: else -> c = 0; break
        od;
        late = 1
    }
#else
    skip
#endif
}

/* inhibitBegin()  IoctlBlocker.swift:134-164 (strategy .event, :152-157) */
inline inhibit_begin(me) {
#ifndef MUTANT_NO_INHIBITORS_MUTEX
    mlock(inhibitors, me);                                 /* :135 */
#endif
    c = 0;
    do                                                     /* :137 */
    :: c < NVCPU ->
#ifdef MUTANT_UNLOCKED_COUNTER
       if :: c != NVCPU - 1 -> lk[c] = 1 :: else -> skip fi;
#else
       lk[c] = 1;
#endif
       c++
    :: else -> c = 0; break
    od;
    lk[VMC] = 1;                                           /* :138 */
#ifdef MUTANT_NO_RECHECK
    /* mutant: check (and kick) outside the gate, then wait without checking again */
    do
    :: kick_busy();
       if
       :: !busy -> break
       :: DRAINDL && busy && tick >= DL_TICKS -> record_stragglers(); break
       :: else -> mlock(gate, me); wait_quiesced(me); munlock(gate, me)
       fi
    od;
#else
    mlock(gate, me);                                       /* :153 */
    do
    :: kick_busy();                                        /* :154 while kickBusy() */
       if
       :: !busy -> break
       :: DRAINDL && busy && tick >= DL_TICKS ->           /* the deadline has passed */
          record_stragglers(); break
       :: else -> wait_quiesced(me)                        /* :155 */
       fi
    od;
    munlock(gate, me);                                     /* :157 */
#endif
    busy = 0; tick = 0
#ifdef DRAIN_DEADLINE
    ; seen = 0
#endif
}

/* inhibitEnd(_:)  IoctlBlocker.swift:171-178 */
inline inhibit_end(me) {
    lk[VMC] = 0;                                           /* :172 */
    c = 0;
    do                                                     /* :173 */
    :: c < NVCPU -> lk[c] = 0; c++
    :: else -> c = 0; break
    od;
    atomic { gate == 0 -> broadcast_released() };          /* :175 gate.withLock { broadcast } */
    atomic {
#ifndef MUTANT_NO_INHIBITORS_MUTEX
        munlock(inhibitors, me);                           /* :176 */
#endif
        inh--
    }
}

/* The critical section: every delete, then every add
   (MemslotListener.swift:107-108).  The memslot ioctls are VM ioctls made by
   the topology-lock holder, which bypasses the counters (IoctlBlocker.swift:66). */
inline apply(me, usesTopo) {
    atomic {
        assert(appA + appN == 0);                          /* (d) */
        c = 0;
        if
        :: !late ->
           appA++;
           do                                              /* (a) */
           :: c < NVCPU -> assert(!inrun[c]); c++
           :: else -> c = 0; break
           od;
           assert(vmin == 0)
        :: else ->
           appN++;
#ifdef DRAIN_DEADLINE
           do                                              /* (a') inside => named */
           :: c < NVCPU -> assert(!inrun[c] || strag[c]); c++
           :: else -> c = 0; break
           od;
           assert(vmin == 0 || strag[VMC]);
#ifdef STRAGGLERS_EXACT
           /* not a property: named <=> still inside.  A straggler can finish
              between kickBusy's read and this point; spin shows it, so the
              journaled list is a superset of the threads still inside. */
           do
           :: c < NCNT -> assert(strag[c] == (cnt[c] != 0)); c++
           :: else -> c = 0; break
           od
#else
           skip
#endif
#endif
        fi
    }
    if
    :: usesTopo -> begin_vm(me); end_vm(me)                /* KVM_SET_USER_MEMORY_REGION */
    :: else -> skip                                        /* without the topology lock a VM
                                                              ioctl through the blocker would
                                                              wait on its own lock: none here */
    fi;
    atomic {
        if
        :: !late -> appA--
        :: else ->
           appN--; late = 0;
#ifdef DRAIN_DEADLINE
           c = 0;
           do
           :: c < NCNT -> strag[c] = 0; c++
           :: else -> c = 0; break
           od
#endif
        fi
    }
}

/* MemslotListener.commit() with an overlapping transaction
   (MemslotListener.swift:97-124) inside Machine.transaction
   (Machine.swift:103-112), which holds the topology lock. */
proctype Inhibitor(byte me; bit usesTopo) {
    byte n, c, k, tick;
    bit busy, late, ok, wasref, r, holds;
#ifdef DRAIN_DEADLINE
    byte seen;
#endif
    do
    :: n < NINH ->
       if
       :: usesTopo -> tlock(me)                            /* Machine.swift:104 */
       :: else -> skip
       fi;
       inh++;
       inhibit_begin(me);                                  /* MemslotListener.swift:105 */
       apply(me, usesTopo);                                /* :107-108 */
       inhibit_end(me);                                    /* :112 */
       if
       :: usesTopo -> tunlock(me)                          /* Machine.swift:110 */
       :: else -> skip
       fi;
       n++
    :: else -> break
    od
}

/* ---------------------------------------------------------------- vCPU */

/* What a vCPU thread sees when KVM_RUN starts (both branches are single
   steps: the kernel checks immediate_exit after the thread is inside the
   ioctl, where a signal interrupts it). */
#ifdef DRAIN_DEADLINE
#define ENTRY_OK(x) (appA == 0 && (appN == 0 || strag[x]))
#else
#define ENTRY_OK(x) (appA == 0 && appN == 0)
#endif

/* KVMVCPUs.run(_:) KVMVCPUs.swift:177-196 and runUntilKicked :199-223; the
   simulated vCPUs (SimulatedVCPUs.swift:125-139) are the same shape with a
   polled flag for immediate_exit and no signal. */
proctype VCPU(byte me; byte i) {
    byte runs, own;
    bit ok, wasref, r;
#ifdef UFFD
    bit faulted;
#endif
    do
    :: runs < NRUNS ->
       ie[i] = 0;                                          /* :190 clear before entering */
       enter(me, i);                                       /* :191 beginVCPU (IoctlBlocker.swift:71-74;
                                                              a vCPU thread never holds the topology lock) */
reenter:
       if                                                  /* :201 KVM_RUN */
       :: atomic { ie[i] -> skip }                         /* immediate_exit: -EINTR at once */
       :: atomic { !ie[i] -> assert(ENTRY_OK(i)); inrun[i] = 1 };
end_guest:                                                 /* a guest may run until kicked */
          if
          :: sig[i] ->                                     /* the kick's signal: -EINTR (:202-203) */
             atomic { inrun[i] = 0; sig[i] = 0; HANDLER(i) }
          :: own < OWN ->                                  /* an exit of its own (MMIO, IO) */
             atomic {
                 own++; inrun[i] = 0;
                 if :: sig[i] -> sig[i] = 0; HANDLER(i) :: else -> skip fi
             };
             if
             :: goto reenter                               /* :212-215 handled; KVM_RUN again */
             :: skip                                       /* the run ends (SimulatedVCPUs.swift:132
                                                              accessesPerRun) */
             fi
#ifdef UFFD
          :: !faulted && i == UFFD_VCPU ->                 /* a guest access to a missing page:  */
             atomic { faulted = 1; ufreq[i] = 1; nuf++ };  /* KVM blocks in handle_userfault,    */
             ufreq[i] == 0;                                /* which the kick does not interrupt  */
             goto end_guest
#endif
          fi
       fi;
       own = 0;
       leave(me, i);                                       /* :193 endVCPU (IoctlBlocker.swift:88-91) */
       runs++
    :: else -> break
    od
}

/* ---------------------------------------------------------------- VM ioctl thread */

/* A thread outside the topology lock fetching a dirty log as a VM ioctl
   through withVMIoctl (IoctlBlocker.swift:104-108).  No such caller exists in
   Sources/ yet (only the tests call beginVM); the model keeps the VM counter
   honest for when one does. */
proctype VMIoctl(byte me) {
    byte n;
    bit ok, wasref, r, holds;                              /* holds: never */
    do
    :: n < NVMIO ->
       begin_vm(me);                                       /* :105 */
       atomic { assert(ENTRY_OK(VMC)); vmin++ };           /* KVM_GET_DIRTY_LOG */
       vmin--;
       end_vm(me);                                         /* :106 */
       n++
    :: else -> break
    od
}

/* ---------------------------------------------------------------- userfault server */
#ifdef UFFD
/* Not project code: the thread that serves userfaults (QEMU's postcopy fault
   thread).  Placing the page needs the topology lock here -- the lock the
   inhibitor holds while it waits for the faulting vCPU to leave. */
proctype UffdServer(byte me) {
    byte j;
    bit holds;
end_idle:
    do
    :: nuf > 0 ->
       tlock(me);
       d_step { j = 0; do :: j < NVCPU -> ufreq[j] = 0; j++ :: else -> j = 0; break od; nuf = 0 };
       tunlock(me)
    od
}
#endif

init {
    byte i;
    atomic {
        run Inhibitor(0, 1);
#if NINHIB > 1
        run Inhibitor(1, INHIB2_TOPO);
#endif
        do
        :: i < NVCPU -> run VCPU(NINHIB + i, i); i++
        :: else -> i = 0; break
        od;
#if NVMIO > 0
        run VMIoctl(ME_VM);
#endif
#ifdef UFFD
        run UffdServer(ME_UF);
#endif
        printf("bounds: NVCPU=%d NINHIB=%d NINH=%d NRUNS=%d NVMIO=%d OWN=%d REKICK=%d SPURIOUS=%d DEADLINE=%d\n",
               NVCPU, NINHIB, NINH, NRUNS, NVMIO, OWN, REKICK, SPURIOUS, DEADLINE)
    }
}
