import MemoryModel
import Memslots
import Testing
import JournalStore

/// The hash chain's bytes are an on-disk format: a journal sealed by any earlier
/// build must still verify. These links were computed with the chain code as of
/// c641d0e (unchanged since schema 6 added the header's comment, hashed only when
/// present); a change to what is hashed, or how, changes them — which is what a
/// faster encoder must not do.
struct HashChainTests {
    static let start = HashChain.start(for: JournalHeader(
        toolVersion: "0.1.0", createdUnixNs: 1_795_620_449_000_000_000, hostKernel: "Linux 6.1 #1 SMP x86_64",
        backend: "kvm", kvm: .init(apiVersion: 12, nrMemslots: 32_764, readonlyMem: true, immediateExit: true, multiAddressSpace: 2),
        capabilities: .x86KVM, vcpus: 2, wait: .event, inhibit: true, scenario: "pam", seed: 7,
        commandLine: ["memjournal", "record", "ü"], durability: .full, cleanClose: true, comment: "a comment"))

    static func record() throws -> TransactionRecord {
        let ram = try GuestRange(start: 0xc0000, size: 0x20000)
        let top = try GuestRange(start: UInt64.max - 0xfff, last: .max)
        let section = MemorySection(
            range: ram, regionName: "pc.rom \"ünï\"", kind: .rom, backing: BackingLocation(backing: 3, offset: 0x1000),
            readOnly: true, romd: false, dirtyLog: true)
        let mmio = MemorySection(range: top, regionName: "mmio", kind: .mmio, backing: nil, readOnly: false, romd: false, dirtyLog: false)
        return TransactionRecord(
            sequence: 42, addressSpace: 1, beginNs: 1_000, commitNs: 2_000,
            sections: [SectionChange(.delete, mmio), SectionChange(.add, section), SectionChange(.logStart, section)],
            decision: OverlapDecision(pair: .init(deleteIndex: 0, addIndex: 0, deleted: top, added: ram)),
            slotOps: [
                SlotOperation(kind: .delete, slot: SlotID(rawValue: 0x1_0002), range: top,
                              host: BackingLocation(backing: 9, offset: .max), flags: SlotFlags(rawValue: 3), errno: 0, durationNs: 5),
                SlotOperation(kind: .create, slot: SlotID(rawValue: 7), range: ram,
                              host: BackingLocation(backing: 3, offset: 0x1000), flags: SlotFlags(rawValue: 2), errno: 17, durationNs: 6),
            ],
            timing: InhibitTiming(inhibited: true, drainNs: 10, applyNs: 20, inhibitNs: 30, vcpusKicked: 2,
                                  drainTimeout: DrainTimeout(vcpus: [0, 3], vmIoctls: 1)),
            digest: SlotTableDigest(count: 5, hash: 0xdead_beef))
    }

    static func hex(_ link: HashChain.Link) -> String {
        link.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test func transactionAndFaultLinksAreTheOnesEveryEarlierBuildWrote() throws {
        var chain = HashChain(start: Self.start)
        let links = chain.link(try Self.record())
        let fault = chain.link(SpuriousFault(vcpu: 1, gpa: 0xc0010, isWrite: true, timeNs: 1_500, transactionInFlight: 42), id: 1)
        #expect(Self.hex(Self.start) == "f794cb649c5b69410d87c1b960043a46417f7c0926ce076a8c84c8361f99eb9b")
        #expect(Self.hex(links.content) == "03c4a1b15d3f4d3f833de749d6c80985979037ff944629a4aa0ff8113d861e7a")
        #expect(Self.hex(links.timing) == "0dc9572c8b8c8a4d1a634135163d5de86e01bf0c6bf8352d09bb20faf1d5da11")
        #expect(Self.hex(fault.content) == "26704ec1b604202628a6d90506fbfd0c29a0f8c34d8f9c37979768ced7f75005")
        #expect(Self.hex(fault.timing) == "2a498b9ab5bc66de84889844732a02885a74f55d20c5665e433ae6fff2a5330a")
        // Each link follows from the one before: the same record again gives other links.
        let again = chain.link(try Self.record())
        #expect(again.content != links.content && again.timing != links.timing)
    }
}
