import MemoryModel
import Testing
@testable import Memslots
@testable import Scenarios
import Harness

/// The history reducer against the live VMM core: every scenario and fixture
/// case runs on the simulated backend, and after every transaction the reducer,
/// fed only the records, must hold the address space's flat view and the
/// listener's slot table exactly.
@Suite struct HistoryReducerPropertyTests {
    /// Runs `runner` and compares after each step (a step commits at most one
    /// transaction per address space, so this is after every transaction).
    func compareThroughout(_ runner: ScenarioRunner, context: String) throws -> Int {
        var history = HistoryReducer()
        var applied = 0
        func catchUp(_ label: String) {
            let records = runner.records
            for record in records[applied...] { history.apply(record) }
            applied = records.count
            for space in runner.machine.topology.addressSpaces {
                guard let listener = runner.machine.listeners[space.id] else { continue }
                #expect(history.view(space.id) == space.sections, "\(context) \(label): view of as \(space.id)")
                #expect(history.slots.slots(addressSpace: space.id) == listener.installedSlots,
                        "\(context) \(label): slots of as \(space.id)")
                #expect(history.digest(addressSpace: space.id) == listener.digest,
                        "\(context) \(label): digest of as \(space.id)")
            }
        }
        catchUp("initial")
        try runner.run { step in catchUp("step \(step)") }
        return applied
    }

    @Test(arguments: ScenarioKind.allCases)
    func reducerMatchesTheLiveMachineForEveryScenario(_ kind: ScenarioKind) throws {
        let config = RunConfiguration(
            scenario: kind, options: ScenarioOptions(slots: 64), vcpus: 1, transactions: 150, seed: 11,
            vcpuMode: .stepping)
        let applied = try compareThroughout(try ScenarioRunner(config), context: "\(kind)")
        #expect(applied >= 150)
    }

    @Test(arguments: FixtureCase.allCases)
    func reducerMatchesTheLiveMachineForEveryFixtureCase(_ fixture: FixtureCase) throws {
        let scenario = fixture.make()
        let config = RunConfiguration(
            scenario: .random, vcpus: 1, transactions: fixture.steps, seed: 3, vcpuMode: .stepping)
        let applied = try compareThroughout(try ScenarioRunner(config, scenario: scenario), context: fixture.rawValue)
        #expect(applied > 1)
    }

    @Test func reducerMatchesTheLiveMachineOverManyRandomHistories() throws {
        for seed in 1...200 {
            let config = RunConfiguration(scenario: .random, vcpus: 1, transactions: 20, seed: UInt64(seed),
                                          vcpuMode: .stepping)
            _ = try compareThroughout(try ScenarioRunner(config), context: "random seed \(seed)")
        }
    }
}
