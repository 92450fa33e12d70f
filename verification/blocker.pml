/*
 * blocker.pml -- a Promela model of memjournal's ioctl blocker, checked with
 * Spin 6.5 by verification/check.sh (see docs/blocker.md).
 *
 * What is modelled, as implemented:
 *   Sources/Memslots/Blocker/IoctlBlocker.swift  enter/leave, inhibitBegin
 *       (strategy .event, with its drain deadline) and inhibitEnd, the
 *       topology-lock bypass
 *   Sources/Memslots/Blocker/DrainTimeout.swift  what a timed-out inhibit names
 *   Sources/Memslots/Blocker/LockCount.swift     count + lock bit in one word
 *   Sources/Sync/PlainMutex.swift                mutex and condition variable
 *   Sources/Sync/TopologyLock.swift              the lock whose holder bypasses
 *   Sources/KVMBackend/KVMVCPUs.swift, Sources/CKVM/ckvm.c
 *                                                the vCPU loop and the kick
 *   Sources/Memslots/Listener/MemslotListener.swift, Machine.swift
 *                                                the inhibitor's caller, its
 *                                                drain timeout, and the
 *                                                dirty-log fetcher (VM ioctl)
 * Line numbers in the comments refer to the tree as of commit 6be011e (ckvm.c
 * with the userfaultfd helpers added in the working tree since, 3 lines down).
 * The anchors below ("@ref file:line text") are checked by check.sh, which
 * reports any that no longer hold, so that a stale reference shows up.
 *
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:38 private let gate = PlainMutex()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:45 private let parking = PlainMutex()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:40 private let quiesced = PlainMutex.Condition()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:47 private let released = PlainMutex.Condition()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:49 private let inhibitors = PlainMutex()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:64 private static let rekickNs: UInt64 = 20_000_000
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:79 private var bypass: Bool
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:84 public func beginVCPU(
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:106 public func endVCPU(
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:111 public func beginVM()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:116 public func endVM()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:122 public func withVMIoctl<R>
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:128 private func enter(_ counter: LockCount)
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:145 while counter.isBlocking { released.wait(parking) }
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:149 private func leave(_ counter: LockCount)
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:33 private let total = LockCount()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:136 total.increment()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:134 if counter.isBlocking { park(counter) }
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:143 private func park(_ counter: LockCount)
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:165 private func uncount()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:166 if total.decrement() {
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:167 gate.withLock {}
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:168 quiesced.signal()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:180 public let drainTimeout: DrainTimeout?
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:193 public func inhibitBegin(drainDeadlineNs: UInt64? = nil) -> Inhibit
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:194 inhibitors.lock()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:202 let deadline = drainDeadlineNs.map
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:205 for counter in vcpus { counter.lock() }
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:206 vm.lock()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:199 var busyVCPUs: [Int] = []
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:210 func scanBusy(kicking: Bool) -> Bool
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:211 busyVCPUs.removeAll(keepingCapacity: true)
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:212 for (index, counter) in vcpus.enumerated() where counter.count != 0 {
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:213 busyVCPUs.append(index)
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:216 kicker?.kick(vcpu: index)
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:228 _ = scanBusy(kicking: true)
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:204 if strategy == .event { total.lock() }
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:219 busyVM = vm.count
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:224 case .event:
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:229 gate.lock()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:232 while total.count != 0 {
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:243 if !signalled { _ = scanBusy(kicking: true) }
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:233 let now = MonotonicClock.now()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:234 if let deadline, now >= deadline {
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:236 timedOut = scanBusy(kicking: false)
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:240 gate, nanoseconds: deadline.map { min(Self.rekickNs, $0 - now) } ?? Self.rekickNs)
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:245 gate.unlock()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:246 total.unlock()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:247 case .spin:
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:256 let timeout = timedOut ? DrainTimeout(vcpus: busyVCPUs, vmIoctls: Int(clamping: busyVM)) : nil
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:266 public func inhibitEnd(_ inhibit: Inhibit) -> UInt64
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:267 vm.unlock()
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:268 for counter in vcpus { counter.unlock() }
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:270 parking.withLock { released.broadcast() }
 * @ref Sources/Memslots/Blocker/IoctlBlocker.swift:271 inhibitors.unlock()
 * @ref Sources/Memslots/Blocker/DrainTimeout.swift:9 public var vcpus: [Int]
 * @ref Sources/Memslots/Blocker/DrainTimeout.swift:11 public var vmIoctls: Int
 * @ref Sources/Memslots/Blocker/LockCount.swift:26 func tryIncrement() -> Bool
 * @ref Sources/Memslots/Blocker/LockCount.swift:47 func increment()
 * @ref Sources/Memslots/Blocker/LockCount.swift:52 func decrement() -> Bool
 * @ref Sources/Memslots/Blocker/LockCount.swift:57 func lock()
 * @ref Sources/Memslots/Blocker/LockCount.swift:59 func unlock()
 * @ref Sources/Memslots/Blocker/LockCount.swift:63 var count: UInt64
 * @ref Sources/Memslots/Blocker/LockCount.swift:68 var isBlocking: Bool
 * @ref Sources/Sync/PlainMutex.swift:30 public func lock()
 * @ref Sources/Sync/PlainMutex.swift:60 public func wait(_ mutex: PlainMutex) {
 * @ref Sources/Sync/PlainMutex.swift:64 public func wait(_ mutex: PlainMutex, nanoseconds: UInt64) -> Bool
 * @ref Sources/Sync/PlainMutex.swift:73 public func signal()
 * @ref Sources/Sync/PlainMutex.swift:74 public func broadcast()
 * @ref Sources/Sync/TopologyLock.swift:19 public func lock()
 * @ref Sources/Sync/TopologyLock.swift:24 public func unlock()
 * @ref Sources/Sync/TopologyLock.swift:29 public var isHeldByCurrentThread: Bool
 * @ref Sources/KVMBackend/KVMVCPUs.swift:148 public func kick(vcpu index: Int)
 * @ref Sources/KVMBackend/KVMVCPUs.swift:183 private func run(_ index: Int)
 * @ref Sources/KVMBackend/KVMVCPUs.swift:196 vcpu.page.setImmediateExit(false)
 * @ref Sources/KVMBackend/KVMVCPUs.swift:197 blocker.beginVCPU(index)
 * @ref Sources/KVMBackend/KVMVCPUs.swift:199 blocker.endVCPU(index)
 * @ref Sources/KVMBackend/KVMVCPUs.swift:205 private func runUntilKicked(
 * @ref Sources/KVMBackend/KVMVCPUs.swift:208 case .failure(.interrupted):
 * @ref Sources/KVMBackend/KVMVCPUs.swift:219 case .io, .interrupted:
 * @ref Sources/CKVM/ckvm.c:83 void ckvm_run_set_immediate_exit(struct kvm_run *run, uint8_t value)
 * @ref Sources/CKVM/ckvm.c:100 static void kick_handler(int signo)
 * @ref Sources/CKVM/ckvm.c:103 if (run) __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
 * @ref Sources/Memslots/Simulation/SimulatedVCPUs.swift:126 private func run(vcpu: Int)
 * @ref Sources/Memslots/Simulation/SimulatedVCPUs.swift:133 for _ in 0..<Self.accessesPerRun
 * @ref Sources/Memslots/Listener/MemslotListener.swift:102 public func commit()
 * @ref Sources/Memslots/Listener/MemslotListener.swift:108 slots.withLock
 * @ref Sources/Memslots/Listener/MemslotListener.swift:110 blocker.inhibitBegin(drainDeadlineNs: drainTimeoutNs)
 * @ref Sources/Memslots/Listener/MemslotListener.swift:113 for section in deletes
 * @ref Sources/Memslots/Listener/MemslotListener.swift:114 for section in adds
 * @ref Sources/Memslots/Listener/MemslotListener.swift:118 blocker.inhibitEnd(ticket)
 * @ref Sources/Memslots/Listener/MemslotListener.swift:121 drainTimeout: ticket.drainTimeout
 * @ref Sources/Memslots/Machine/Machine.swift:38 public static let defaultDrainTimeoutNs: UInt64 = 10_000_000_000
 * @ref Sources/Memslots/Machine/Machine.swift:117 public func transaction<R>
 * @ref Sources/Memslots/Machine/Machine.swift:118 topologyLock.lock()
 * @ref Sources/Memslots/Machine/Machine.swift:124 topologyLock.unlock()
 * @ref Sources/Memslots/Machine/Machine.swift:140 public func fetch(slot: SlotID)
 * @ref Sources/Memslots/Machine/Machine.swift:141 blocker.withVMIoctl
 * @ref Sources/Replay/ReplayEngine.swift:209 machine.topologyLock.withLock {
 * @ref Sources/Replay/ReplayEngine.swift:210 machine.blocker.inhibitBegin(drainDeadlineNs:
 *
 * Processes
 *   Inhibitor  -- MemslotListener.commit with an overlapping transaction, inside
 *                 Machine.transaction: topology lock, inhibitBegin, apply,
 *                 inhibitEnd, unlock.
 *   VCPU       -- a vCPU thread: clear immediate_exit, beginVCPU, KVM_RUN until
 *                 kicked (own exits re-enter or end the run; optionally a
 *                 userfault), endVCPU.
 *   VMIoctl    -- a thread outside the topology lock making a VM ioctl through
 *                 beginVM/endVM: DirtyLogFetcher.fetch.  NVMTHR of them, all
 *                 on the one shared VM counter.
 *   UffdServer -- (-DUFFD) resolves userfaults; needs the topology lock.
 *
 * Memory model: sequentially consistent.  Each LockCount operation is one
 * read-modify-write of one atomic word in Swift and one atomic step here.  The
 * one cross-location ordering the protocol needs -- the vCPU's
 * "immediate_exit = 0" before its increment, the kicker's "immediate_exit = 1"
 * after it read the count -- is not given by the Swift orderings alone (the
 * increment only acquires), but the signal handler stores immediate_exit on
 * the vCPU's own thread, after its clear in program order (ckvm.c:100-104), and
 * x86's locked CAS is a full fence; so SC loses nothing here.  The total's
 * order against the counters is given by the orderings: a thread's
 * total.increment() comes before its counter's CAS, which releases, and an
 * inhibitor's lock of that counter acquires before it reads the total; a
 * leaver's counter decrement comes before its total decrement, which releases.
 *
 * Properties
 *   (a) safety (assertions): while an inhibitor applies atomically no vCPU is
 *       inside KVM_RUN and no VM ioctl made through the counters is in flight.
 *       Asserted on both sides, so it is an invariant of every state: by the
 *       inhibitor when it starts to apply, by each vCPU / VM ioctl as it enters.
 *       With -DDRAIN_DEADLINE, during a timed-out (non-atomic) apply every vCPU
 *       inside KVM_RUN must be named in DrainTimeout.vcpus and the VM ioctls
 *       in flight must be at most DrainTimeout.vmIoctls (a'); with one VM
 *       thread, the default, it holds; with NVMTHR=2 it does not (see below).
 *   (b) no invalid end states (pan without -E).  Meaningful with SPURIOUS=0:
 *       a thread whose wait may end spuriously is never blocked, so spurious
 *       wake-ups hide deadlocks; with REKICK=0 too, nothing is timed and a
 *       thread that blocks stays blocked.
 *   (c) liveness: ltl "live", checked under weak fairness (pan -a -f): every
 *       inhibit that has begun ends, and every thread refused by a counter
 *       enters again.  An LTL response property rather than non-progress
 *       cycles: a progress label would have to sit on guest execution (a vCPU
 *       running its guest is progress), and a cycle in which a vCPU keeps
 *       running while the inhibitor waits forever would then pass unnoticed;
 *       the response property puts the obligation on the waiting party.  With
 *       the bounded workload each property is equivalent to "every such episode
 *       ends".  Run with SPURIOUS=0: infinitely many spurious wake-ups of one
 *       thread with an unfair mutex can starve another of the gate, which weak
 *       fairness cannot exclude (the starved thread is not continuously
 *       enabled); real spurious wake-ups are finite.
 *   (d) at most one inhibitor applies at a time (assertion at apply start).
 *
 * Switches (-D)
 *   NVCPU NINHIB NINH NRUNS NVMIO NVMTHR OWN UFFD_VCPU DEADLINE INHIB2_TOPO
 *              bounds, below
 *   REKICK=1   the inhibitor's wait on `quiesced` is timed: the 20 ms re-kick
 *              (IoctlBlocker.swift:52,173), a nondeterministic timeout here.
 *              0: an untimed event wait
 *   SPURIOUS=1 condition-variable waits may end spuriously
 *   UFFD       vCPU UFFD_VCPU may block in the kernel on a userfault whose
 *              server needs the topology lock (the deadlock QEMU's commit
 *              message names)
 *   DRAIN_DEADLINE  inhibitBegin(drainDeadlineNs:) as implemented
 *              (IoctlBlocker.swift:144-188, `record --drain-timeout`): the
 *              deadline is checked after each kickBusy pass that found
 *              something busy and before each wait (:167-172); past it the
 *              inhibitor stops waiting, keeps every counter locked, names the
 *              vCPUs and the VM count of the LAST pass, and the caller
 *              applies non-atomically.  When the clock
 *              passes the deadline is nondeterministic (any busy check may find
 *              it passed), but after DEADLINE timeouts of the wait it has
 *              passed
 *   NVMTHR=2   two VM-ioctl threads on the shared VM counter (default 1: in
 *              the tree only a test, MemslotListenerTests, fetches dirty logs
 *              outside the topology lock)
 *   STRAGGLERS_EXACT  with DRAIN_DEADLINE: also assert that the named
 *              stragglers are exactly the busy counters when the apply starts.
 *              Not a property: expected to FAIL (see apply)
 *   MUTANT_*   one deliberate bug each:
 *
 * Mutants (each must make spin report a violation, with a trail)
 *   MUTANT_NO_RECHECK  the inhibitor checks the total (and kicks) without the
 *       gate, then takes the gate and waits on `quiesced` without checking
 *       again -- the "check, then wait" race the gate's comment says it
 *       prevents (IoctlBlocker.swift:35-37: "held by an inhibitor between
 *       re-checking the total and waiting ... so a wake-up cannot fall between
 *       the check and the wait").  The last leaver's signal falls between the
 *       check and the wait and is lost.  With REKICK=1 that costs one 20 ms
 *       re-kick period and nothing else (check.sh shows no violation then); with
 *       REKICK=0 the inhibitor sleeps forever while everyone else is done or
 *       parked on `released`: violates (b).
 *   MUTANT_SIGNAL_OUTSIDE_GATE  the last leaver (uncount()) signals `quiesced`
 *       without passing through the gate: the signal lands between the
 *       inhibitor's check of the total (under the gate) and its wait.  The same
 *       lost wake-up: (b) with REKICK=0, a delay with REKICK=1.
 *   MUTANT_NO_KICK_ENTERING  the kick sets no immediate_exit (neither the
 *       kicker nor the signal handler): a kick that lands after the vCPU's
 *       increment but before it is inside KVM_RUN is lost, and a guest that no
 *       longer exits on its own keeps the vCPU inside for good.  With REKICK=1
 *       the next re-kick finds it inside KVM_RUN (the comment at
 *       IoctlBlocker.swift:48-51 says as much); with REKICK=0: violates (b).
 *   MUTANT_UNLOCKED_COUNTER  inhibitBegin does not lock the last vCPU's
 *       counter: that vCPU enters KVM_RUN during the apply: violates (a).
 *   MUTANT_TOTAL_AFTER_COUNTER  enter() counts in the total after its counter
 *       admitted it, not before (the order IoctlBlocker.swift:136-137 keeps):
 *       between the two the total is below the counters' sum, an inhibitor
 *       reads it as 0 and applies while that thread goes on into its ioctl:
 *       violates (a).
 *   MUTANT_NO_BYPASS  the topology-lock holder's own VM ioctl goes through the
 *       VM counter, which it has locked itself: violates (b).
 *   MUTANT_NO_INHIBITORS_MUTEX (with NINHIB=2)  no `inhibitors` mutex; the
 *       second inhibitor does not hold the topology lock, so nothing serialises
 *       the two: violates (d) (and (a)).
 *
 * Limits of the implementation, shown (expected to fail, not mutants)
 *   STRAGGLERS_EXACT  a vCPU named by the last kickBusy pass may leave before
 *       the apply starts: the names are a superset of the vCPUs inside.
 *   NVMTHR=2 with DRAIN_DEADLINE  a locked counter admits increments while its
 *       count is not 0, so while one VM ioctl is stuck a second one enters
 *       after the count was read (:185): vmIoctls undercounts, (a') fails.
 *       (The same admission lets overlapping VM ioctls keep the shared count
 *       above 0 for ever, starving the inhibitor; the bounded workload here
 *       cannot show that.)
 */

/* ---------------------------------------------------------------- bounds */
#ifndef NVCPU
#define NVCPU 2        /* vCPUs, one LockCount each */
#endif
#ifndef NINHIB
#define NINHIB 1       /* inhibitor threads: 1 or 2 */
#endif
#ifndef NINH
#define NINH 2         /* inhibits per inhibitor */
#endif
#ifndef NRUNS
#define NRUNS 2        /* beginVCPU..endVCPU brackets per vCPU */
#endif
#ifndef NVMIO
#define NVMIO 1        /* VM ioctls of each VMIoctl thread (0: no such thread) */
#endif
#ifndef NVMTHR
#define NVMTHR 1       /* VMIoctl threads, sharing the VM counter: 1 or 2 */
#endif
#ifndef OWN
#define OWN 1          /* exits a guest may take on its own per bracket; after
                          that it runs until kicked (spins without exits) */
#endif
#ifndef REKICK
#define REKICK 1
#endif
#ifndef SPURIOUS
#define SPURIOUS 1
#endif
#ifndef INHIB2_TOPO
#define INHIB2_TOPO 0  /* whether the second inhibitor holds the topology lock.
                          Every caller in the tree does (MemslotListener,
                          ReplayEngine); with 1 the topology lock alone would
                          serialise them and the `inhibitors` mutex would never
                          be contended, so the model's second inhibitor is a
                          blocker user without it */
#endif
#ifndef UFFD_VCPU
#define UFFD_VCPU 0    /* the vCPU that may take a userfault (-DUFFD), once */
#endif
#ifdef DRAIN_DEADLINE
#define DRAINDL 1
#ifndef DEADLINE
#define DEADLINE 2     /* timeouts (re-kicks) of the wait after which the
                          deadline has passed; it may pass at any earlier check */
#endif
#else
#define DRAINDL 0
#define DEADLINE 0
#endif
#if REKICK
#define DL_TICKS DEADLINE
#else
#define DL_TICKS 1     /* no re-kick: the wait's only timeout is the deadline
                          (min(rekickNs, remaining) with rekickNs abstracted away) */
#endif
#define TIMED (REKICK || DRAINDL)

/* Thread ids ("me"): inhibitors 0..NINHIB-1, vCPU i is NINHIB+i, then the
   VM-ioctl threads, then the userfault server.  Mutexes hold holder id + 1. */
#define VMC    NVCPU                 /* index of the VM counter */
#define NCNT   (NVCPU + 1)
#define ME_VM  (NINHIB + NVCPU)
#define ME_UF  (NINHIB + NVCPU + NVMTHR)
#define NPROC  (NINHIB + NVCPU + NVMTHR + 1)

/* ---------------------------------------------------------------- state */
/* LockCount.state (LockCount.swift:21): lock bit and count of one word */
byte cnt[NCNT];
bit  lk[NCNT];
/* IoctlBlocker.total (IoctlBlocker.swift:33), a LockCount that only counts:
   every ioctl in flight plus each refused thread until it backs out; locked
   while the inhibitor drains */
byte tot;
bit  tlk;

byte gate;            /* IoctlBlocker.gate        (IoctlBlocker.swift:31) */
byte park;            /* IoctlBlocker.parking     (IoctlBlocker.swift:38) */
byte inhibitors;      /* IoctlBlocker.inhibitors  (IoctlBlocker.swift:37) */
byte topo;            /* TopologyLock             (TopologyLock.swift) */
bit  qw[NPROC];       /* waiting on `quiesced`    (IoctlBlocker.swift:33) */
bit  rw[NPROC];       /* waiting on `released`    (IoctlBlocker.swift:35) */

/* the vCPU side of a kick (KVMRunPage.setImmediateExit, ckvm.c:80-104) */
bit  ie[NVCPU];       /* kvm_run.immediate_exit */
bit  sig[NVCPU];      /* SIGUSR1 pending while the thread is inside KVM_RUN */
bit  inrun[NVCPU];    /* ghost: the thread is inside the KVM_RUN ioctl */

#ifdef UFFD
bit  ufreq[NVCPU];    /* vCPU i waits in the kernel for its userfault */
byte nuf;             /* userfaults waiting */
#endif
#ifdef DRAIN_DEADLINE
bit  strag[NVCPU];    /* DrainTimeout.vcpus of the inhibit applying (:185) */
byte svm;             /* DrainTimeout.vmIoctls: busyVM of the last pass */
#endif

/* ghosts for the properties */
byte vmin;            /* VM ioctls in flight through the counters */
byte appA;            /* inhibitors applying atomically */
byte appN;            /* inhibitors applying after a drain timeout */
byte inh;             /* inhibits begun and not yet ended */
byte refused;         /* threads refused by a counter and not yet admitted */

ltl live { [] ((inh > 0) -> <> (inh == 0)) && [] ((refused > 0) -> <> (refused == 0)) }

/* ---------------------------------------------------------------- mutexes */

/* PlainMutex.lock/unlock (PlainMutex.swift:30-31): non-recursive; unlock
   checks the owner. */
inline mlock(m, me)   { atomic { m == 0 -> m = me + 1 } }
inline munlock(m, me) { atomic { assert(m == me + 1); m = 0 } }

/* TopologyLock.lock/unlock (TopologyLock.swift:19-27) with the owner that
   `isHeldByCurrentThread` (:29) compares against the calling thread.  That
   comparison is true exactly when this thread took the lock -- a thread-local
   fact, kept in the caller's local bit `holds`. */
inline tlock(me)   { atomic { topo == 0 -> topo = me + 1; holds = 1 } }
inline tunlock(me) { atomic { assert(topo == me + 1); topo = 0; holds = 0 } }

/* ---------------------------------------------------------------- condition variables
   PlainMutex.Condition (PlainMutex.swift:40-74).  A wait releases the mutex
   and joins the waiters in one step (pthreads guarantees that no wake-up falls
   in between), then leaves the wait when signalled -- or spuriously, or on
   timeout -- and only then contends for the mutex again.  A signal or a
   broadcast wakes the threads waiting at that moment and is otherwise lost. */

/* released.wait(parking)  IoctlBlocker.swift:145, PlainMutex.swift:59 */
inline wait_released(me) {
    atomic { assert(park == me + 1); rw[me] = 1; park = 0 }
    atomic {
        if
        :: rw[me] == 0 -> skip                      /* woken by the broadcast */
        :: SPURIOUS && rw[me] -> rw[me] = 0         /* spurious wake-up */
        fi
    }
    mlock(park, me)                                 /* re-acquire on wake */
}

/* quiesced.wait(gate, nanoseconds: deadline.map { min(Self.rekickNs, $0 - now) }
   ?? Self.rekickNs)  IoctlBlocker.swift:173, PlainMutex.swift:63-70.  A
   timeout is the end of the re-kick period or the deadline, whichever comes
   first; `tick` counts timeouts towards the deadline (DL_TICKS of them and it
   has passed).  Without REKICK the only timeout is the deadline itself. */
inline wait_quiesced(me) {
    atomic { assert(gate == me + 1); qw[me] = 1; gate = 0 }
    atomic {
        if
        :: qw[me] == 0 -> skip                      /* signalled by the last leaver */
        :: SPURIOUS && qw[me] -> qw[me] = 0         /* spurious wake-up */
        :: TIMED && qw[me] && (REKICK || tick < DL_TICKS) ->
           qw[me] = 0; tmo = 1;                     /* the re-kick period, or the deadline:
                                                       wait returns false */
           if
           :: DRAINDL && tick < DL_TICKS -> tick++
           :: else -> skip
           fi
        fi
    }
    mlock(gate, me)
}

/* quiesced.signal()  PlainMutex.swift:72: wakes one waiter, if there is one */
inline signal_quiesced() {
    atomic {
        if
        :: qw[0] -> qw[0] = 0
#if NINHIB > 1
        :: qw[1] -> qw[1] = 0
#endif
        :: else -> skip                             /* nobody waits: lost */
        fi
    }
}

/* released.broadcast()  PlainMutex.swift:73 */
inline broadcast_released() {
    d_step { k = 0; do :: k < NPROC -> rw[k] = 0; k++ :: else -> k = 0; break od }
}

/* `gate.withLock {}` (uncount) and `parking.withLock { released.broadcast() }`
   (inhibitEnd) are each one step "mutex free -> (nothing) / broadcast" here: taking
   a lock is a right mover and releasing it a left mover (Lipton's reduction),
   and nothing else happens inside, so collapsing the short critical section
   loses no behaviour and no deadlock. It still cannot happen while another
   thread holds that mutex, which is what matters. */

/* ---------------------------------------------------------------- LockCount */

/* tryIncrement()  LockCount.swift:24-35: refused only while locked AND count
   == 0; the CAS loop succeeds or refuses in one linearisable step.  The ghost
   `refused` counts threads from their first refusal to their admission. */
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

/* decrement()  LockCount.swift:46-49 on a counter: its result is not used
   (the total decides the wake-up).  lock()/unlock() (:51, :53) are single
   assignments to lk. */
inline decrement(c) { atomic { cnt[c]-- } }

/* total.increment()  LockCount.swift:41: unconditional. */
inline count_total() { atomic { tot++ } }

/* uncount()  IoctlBlocker.swift:165-170: total.decrement() is true when it
   leaves the word at exactly "locked, count 0" -- one atomic step, so exactly
   the last leaver after the lock sees it; that one passes through the gate
   (`gate.withLock {}`) and signals after it. */
inline uncount(me) {
    atomic { tot--; r = (tlk && tot == 0) };
    if
    :: r ->
       r = 0;
#ifndef MUTANT_SIGNAL_OUTSIDE_GATE
       atomic { gate == 0 -> skip };                /* gate.withLock {} */
#endif
       signal_quiesced()                            /* quiesced.signal(), after the gate */
    :: else -> skip
    fi
}

/* ---------------------------------------------------------------- ioctl side */

/* isBlocking  LockCount.swift:59, read by enter() before it counts
   (IoctlBlocker.swift:134): one atomic read of the word.  A thread it turns
   away counts as refused from then, as one refused by try_increment does. */
inline blocking(c, blk, wasref) {
    atomic {
        if
        :: lk[c] && cnt[c] == 0 ->
           blk = 1;
           if :: !wasref -> wasref = 1; refused++ :: else -> skip fi
        :: else -> blk = 0
        fi
    }
}

/* park(_:)  IoctlBlocker.swift:143-147 */
inline park_while_blocking(me, c) {
    mlock(park, me);                                /* parking.lock() */
    do
    :: lk[c] && cnt[c] == 0 -> wait_released(me)  /* :145 while isBlocking { released.wait(parking) } */
    :: else -> break
    od;
    munlock(park, me)                               /* parking.unlock() */
}

/* enter(_:)  IoctlBlocker.swift:128-141: parked while its counter visibly
   refuses, before counting; then the total, then the counter
   (MUTANT_TOTAL_AFTER_COUNTER: the other way round) */
inline enter(me, c) {
    do
    :: blocking(c, blk, wasref);                    /* :134 if counter.isBlocking */
       if
       :: blk -> blk = 0; park_while_blocking(me, c)    /* park(counter) */
       :: else -> skip
       fi;
#ifndef MUTANT_TOTAL_AFTER_COUNTER
       count_total();                               /* :136 total.increment() */
#endif
       try_increment(c, ok, wasref);                /* :137 */
       if
       :: ok -> break
       :: else ->
#ifndef MUTANT_TOTAL_AFTER_COUNTER
          uncount(me)                               /* :138 */
#else
          skip
#endif
       fi
    od;
#ifdef MUTANT_TOTAL_AFTER_COUNTER
    count_total();                                  /* mutant: counted after admission */
#endif
    ok = 0
}

/* leave(_:)  IoctlBlocker.swift:149-153: the counter first, then the total */
inline leave(me, c) {
    decrement(c);                                   /* :151 */
    uncount(me)                                     /* :152 */
}

/* beginVM()/endVM()  IoctlBlocker.swift:94-102 with `bypass` (:67): the
   topology-lock holder skips the counters. */
inline begin_vm(me) {
#ifdef MUTANT_NO_BYPASS
    enter(me, VMC)
#else
    if
    :: holds -> skip                                /* :95 guard !bypass */
    :: else -> enter(me, VMC)                       /* :96 */
    fi
#endif
}
inline end_vm(me) {
#ifdef MUTANT_NO_BYPASS
    leave(me, VMC)
#else
    if
    :: holds -> skip                                /* :100 */
    :: else -> leave(me, VMC)                       /* :101 */
    fi
#endif
}

/* ---------------------------------------------------------------- the kick */

/* What kick_handler (ckvm.c:100-104) does when SIGUSR1 arrives in user space:
   it stores immediate_exit = 1, so the next KVM_RUN returns at once; the
   signal itself is gone. */
#ifdef MUTANT_NO_KICK_ENTERING
#define HANDLER(i) skip
#else
#define HANDLER(i) ie[i] = 1
#endif

/* KVMVCPUs.kick(vcpu:)  KVMVCPUs.swift:146-151 */
inline kick(i) {
#ifndef MUTANT_NO_KICK_ENTERING
    ie[i] = 1;                                      /* :148 setImmediateExit(true) */
#endif
    atomic {                                        /* :149-150 pthread_kill */
        if
        :: inrun[i] -> sig[i] = 1                   /* interrupts KVM_RUN */
        :: else -> HANDLER(i)                       /* lands in user space: lost as a signal */
        fi
    }
}

/* ---------------------------------------------------------------- inhibitor side */

/* scanBusy(kicking:)  IoctlBlocker.swift: empty busyVCPUs, append every vCPU
   whose count is not 0 (and kick it when `kicking`), then read the VM count into busyVM
   (`busyVM = vm.count`), every pass.  Each count is read in its own step.
   With DRAIN_DEADLINE, `seen` is busyVCPUs (bit i: vCPU i) and `sawvm` is
   busyVM, both rebuilt by every pass. */
inline kick_busy(kicking) {
    busy = 0; c = 0;
#ifdef DRAIN_DEADLINE
    seen = 0;                                       /* :155 removeAll */
#endif
    do
    :: c < NVCPU ->
       if
       :: cnt[c] != 0 ->                            /* :156 */
          busy = 1;
#ifdef DRAIN_DEADLINE
          seen = seen | (1 << c);                   /* :157 append */
#endif
          if :: kicking -> kick(c) :: else -> skip fi  /* kicking: kick */
       :: else -> skip
       fi;
       c++
    :: else -> break
    od;
    c = 0;
#ifdef DRAIN_DEADLINE
    sawvm = cnt[VMC];                               /* busyVM = vm.count */
    if
    :: sawvm != 0 -> busy = 1                       /* || busyVM != 0 */
    :: else -> skip
    fi
#else
    if
    :: cnt[VMC] != 0 -> busy = 1                    /* || busyVM != 0 */
    :: else -> skip
    fi
#endif
}

/* The deadline check (IoctlBlocker.swift:168-172), reached only when
   kickBusy found something busy and before each wait: `now >= deadline` is
   nondeterministic here (the clock may pass the deadline between any two
   checks) until DL_TICKS timeouts of the wait have happened, and then it is
   true.  True: timedOut (:170), leave the loop (:171).  Otherwise wait (:173). */
#define DEADLINE_PASSED  (DRAINDL)
#define DEADLINE_PENDING (!DRAINDL || tick < DL_TICKS)

/* After the loop: DrainTimeout(vcpus: busyVCPUs, vmIoctls: busyVM) -- the
   vCPUs and the VM count of the last pass (`seen`, `sawvm`). */
inline record_stragglers() {
#ifdef DRAIN_DEADLINE
    if
    :: late ->
       d_step {
           c = 0;
           do
           :: c < NVCPU -> strag[c] = (seen >> c) & 1; c++
           :: else -> c = 0; break
           od;
           svm = sawvm
       }
    :: else -> skip
    fi
#else
    skip
#endif
}

/* inhibitBegin(drainDeadlineNs:)  IoctlBlocker.swift:193-259, strategy
   .event (:165-175).  `late` is timedOut (:163); the deadline (:147) is
   abstracted by `tick`, counted in wait_quiesced. */
inline inhibit_begin(me) {
#ifndef MUTANT_NO_INHIBITORS_MUTEX
    mlock(inhibitors, me);                          /* :194 */
#endif
    tlk = 1;                                        /* :204 total.lock(), first */
    c = 0;
    do                                              /* :205 */
    :: c < NVCPU ->
#ifdef MUTANT_UNLOCKED_COUNTER
       if :: c != NVCPU - 1 -> lk[c] = 1 :: else -> skip fi;
#else
       lk[c] = 1;
#endif
       c++
    :: else -> c = 0; break
    od;
    lk[VMC] = 1;                                    /* :206 */
#ifdef MUTANT_NO_RECHECK
    /* mutant: check the total (and kick) outside the gate, then wait without a re-check */
    do
    :: kick_busy(1);
       if
       :: tot == 0 -> break
       :: else ->
          if
          :: DEADLINE_PASSED -> kick_busy(0); late = busy; break
          :: DEADLINE_PENDING -> mlock(gate, me); wait_quiesced(me); munlock(gate, me)
          fi
       fi
    od;
#else
    kick_busy(1);                                   /* scanBusy(kicking: true), before the gate */
    mlock(gate, me);                                /* gate.lock() */
    do
    :: tot == 0 -> break                            /* while total.count != 0 */
    :: else ->
       if
       :: DEADLINE_PASSED ->                        /* now >= deadline */
          kick_busy(0); late = busy; break          /* timedOut = scanBusy(kicking: false); break */
       :: DEADLINE_PENDING ->
          wait_quiesced(me);                        /* quiesced.wait(gate, nanoseconds: ...) */
          if
          :: tmo -> tmo = 0; kick_busy(1)           /* if !signalled { scanBusy(kicking: true) } */
          :: else -> skip
          fi
       fi
    od;
    munlock(gate, me);                              /* gate.unlock() */
#endif
    tlk = 0;                                        /* :246 total.unlock() */
    record_stragglers();                            /* :185 */
    busy = 0; tick = 0
#ifdef DRAIN_DEADLINE
    ; seen = 0
#endif
}

/* inhibitEnd(_:)  IoctlBlocker.swift:266-273 */
inline inhibit_end(me) {
    lk[VMC] = 0;                                    /* :267 */
    c = 0;
    do                                              /* :268 */
    :: c < NVCPU -> lk[c] = 0; c++
    :: else -> c = 0; break
    od;
    atomic { park == 0 -> broadcast_released() };  /* parking.withLock { broadcast } */
    atomic {
#ifndef MUTANT_NO_INHIBITORS_MUTEX
        munlock(inhibitors, me);                    /* :271 */
#endif
        inh--
    }
}

/* The critical section: every delete, then every add
   (MemslotListener.swift:112-113, under the slots lock taken at :108, which
   no thread inside an ioctl bracket takes).  Its memslot ioctls are VM ioctls
   made by the topology-lock holder, which bypasses the counters.  After a
   drain timeout (`late`) the same apply runs, non-atomically; the listener
   records ticket.drainTimeout (:120). */
inline apply(me, usesTopo) {
    atomic {
        assert(appA + appN == 0);                   /* (d) */
        c = 0;
        if
        :: !late ->
           appA++;
           do                                       /* (a) */
           :: c < NVCPU -> assert(!inrun[c]); c++
           :: else -> c = 0; break
           od;
           assert(vmin == 0)
        :: else ->
           appN++;
#ifdef DRAIN_DEADLINE
           do                                       /* (a') inside => named */
           :: c < NVCPU -> assert(!inrun[c] || strag[c]); c++
           :: else -> c = 0; break
           od;
           assert(vmin <= svm);                     /* no more VM ioctls than counted */
#ifdef STRAGGLERS_EXACT
           /* Not a property: named <=> still busy.  A straggler can finish
              between kickBusy's read of its count and this point, so the list
              journaled is a superset of the threads still inside. */
           do
           :: c < NVCPU -> assert(strag[c] == (cnt[c] != 0)); c++
           :: else -> c = 0; break
           od;
           assert(svm == cnt[VMC])
#else
           skip
#endif
#endif
        fi
    }
    if
    :: usesTopo -> begin_vm(me); end_vm(me)         /* KVM_SET_USER_MEMORY_REGION */
    :: else -> skip                                 /* without the topology lock a VM ioctl
                                                       through the blocker would wait on the
                                                       caller's own lock; none is made */
    fi;
    atomic {
        if
        :: !late -> appA--
        :: else ->
           appN--; late = 0;
#ifdef DRAIN_DEADLINE
           c = 0;
           do
           :: c < NVCPU -> strag[c] = 0; c++
           :: else -> c = 0; break
           od;
           svm = 0
#else
           skip
#endif
        fi
    }
}

/* MemslotListener.commit() with an overlapping transaction
   (MemslotListener.swift:102-129: inhibitBegin :110, apply :112-113,
   inhibitEnd :117) inside Machine.transaction (Machine.swift:117-127), which
   holds the topology lock (:118, :124).  ReplayEngine's slot-ops mode
   (ReplayEngine.swift:239-241) has the same shape. */
proctype Inhibitor(byte me; bit usesTopo) {
    byte n, c, k, tick;
    bit busy, late, ok, wasref, r, holds, tmo, blk;
#ifdef DRAIN_DEADLINE
    byte seen, sawvm;
#endif
    do
    :: n < NINH ->
       if
       :: usesTopo -> tlock(me)                     /* Machine.swift:118 */
       :: else -> skip
       fi;
       inh++;
       inhibit_begin(me);                           /* MemslotListener.swift:110 */
       apply(me, usesTopo);                         /* :112-113 */
       inhibit_end(me);                             /* :117 */
       if
       :: usesTopo -> tunlock(me)                   /* Machine.swift:124 */
       :: else -> skip
       fi;
       n++
    :: else -> break
    od
}

/* ---------------------------------------------------------------- vCPU */

/* Whether vCPU x may enter KVM_RUN now; whether one more VM ioctl may start
   now.  During a timed-out apply: only a named vCPU, and no more VM ioctls
   than DrainTimeout.vmIoctls counted. */
#ifdef DRAIN_DEADLINE
#define ENTRY_OK(x)  (appA == 0 && (appN == 0 || strag[x]))
#define VM_ENTRY_OK  (appA == 0 && (appN == 0 || vmin < svm))
#else
#define ENTRY_OK(x)  (appA == 0 && appN == 0)
#define VM_ENTRY_OK  (appA == 0 && appN == 0)
#endif

/* KVMVCPUs.run(_:)  KVMVCPUs.swift:181-200 and runUntilKicked :203-224.  The
   simulated vCPUs (SimulatedVCPUs.swift:126-140) have the same shape, with a
   polled flag for immediate_exit, no signal, and a run that ends after
   accessesPerRun accesses (the "own exit ends the run" branch). */
proctype VCPU(byte me; byte i) {
    byte runs, own;
    bit ok, wasref, r, blk;
#ifdef UFFD
    bit faulted;
#endif
    do
    :: runs < NRUNS ->
       ie[i] = 0;                                   /* :194 clear before entering */
       enter(me, i);                                /* :195 beginVCPU (IoctlBlocker.swift:72-75);
                                                       a vCPU thread never holds the topology lock */
reenter:
       if                                           /* :205 KVM_RUN.  The kernel reads immediate_exit
                                                       once the thread is inside the ioctl, where a
                                                       signal interrupts it: one step each way */
       :: atomic { ie[i] -> skip }                  /* immediate_exit: -EINTR at once (:206) */
       :: atomic { !ie[i] -> assert(ENTRY_OK(i)); inrun[i] = 1 };
end_guest:                                          /* a guest may run until kicked */
          if
          :: sig[i] ->                              /* the kick's signal: -EINTR (:206-207) */
             atomic { inrun[i] = 0; sig[i] = 0; HANDLER(i) }
          :: own < OWN ->                           /* an exit of its own (MMIO, IO) */
             atomic {
                 own++; inrun[i] = 0;
                 if :: sig[i] -> sig[i] = 0; HANDLER(i) :: else -> skip fi
             };
             if
             :: goto reenter                        /* :215-218 handled; KVM_RUN again */
             :: skip                                /* the run ends (simulated vCPUs) */
             fi
#ifdef UFFD
          :: !faulted && i == UFFD_VCPU ->          /* a guest access to a missing page:   */
             atomic { faulted = 1; ufreq[i] = 1; nuf++ };  /* KVM waits in handle_userfault, */
             ufreq[i] == 0;                         /* which the kick does not interrupt   */
             goto end_guest
#endif
          fi
       fi;
       own = 0;
       leave(me, i);                                /* :197 endVCPU (IoctlBlocker.swift:89-92) */
       runs++
    :: else -> break
    od
}

/* ---------------------------------------------------------------- VM ioctl thread */

/* DirtyLogFetcher.fetch(slot:)  Machine.swift:140-142: KVM_GET_DIRTY_LOG from
   a thread that does not hold the topology lock, through withVMIoctl
   (IoctlBlocker.swift:105-109).  NVMTHR such threads share the VM counter. */
proctype VMIoctl(byte me) {
    byte n;
    bit ok, wasref, r, holds, blk;                  /* holds: never */
    do
    :: n < NVMIO ->
       begin_vm(me);                                /* IoctlBlocker.swift:106 */
       atomic { assert(VM_ENTRY_OK); vmin++ };      /* the ioctl, Machine.swift:141 */
       vmin--;
       end_vm(me);                                  /* :107 */
       n++
    :: else -> break
    od
}

/* ---------------------------------------------------------------- userfault server */
#ifdef UFFD
/* Not project code: the thread that resolves userfaults (QEMU's postcopy
   fault thread).  Placing the page needs the topology lock here -- the lock
   the inhibitor holds while it waits for the faulting vCPU to leave. */
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
#if NVMTHR > 1
        run VMIoctl(ME_VM + 1);
#endif
#endif
#ifdef UFFD
        run UffdServer(ME_UF);
#endif
        printf("bounds: NVCPU=%d NINHIB=%d NINH=%d NRUNS=%d NVMIO=%d NVMTHR=%d OWN=%d\n", NVCPU, NINHIB, NINH, NRUNS, NVMIO, NVMTHR, OWN);
        printf("        REKICK=%d SPURIOUS=%d DEADLINE=%d\n", REKICK, SPURIOUS, DEADLINE)
    }
}
