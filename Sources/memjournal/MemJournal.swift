import ArgumentParser

/// The `memjournal` command line.
@main
struct MemJournal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memjournal",
        abstract: "Record, inspect and replay the memory-topology transactions of a KVM VMM.",
        discussion: """
            Exit codes: 0 success; 1 a check found something (e.g. spurious faults with the \
            inhibit on); 64 usage; 65 bad input data; 66 input missing; 74 I/O error.
            """,
        subcommands: [
            DemoCommand.self, RecordCommand.self, InspectCommand.self, ReplayCommand.self, ExportCommand.self,
            ImportCommand.self, FixtureCommand.self, ReduceCommand.self, DiffCommand.self, ReportCommand.self,
            CaptureCommand.self, ServeCommand.self,
        ]
    )
}

/// The documented exit codes (sysexits.h values where one applies).
enum ExitStatus {
    static let found = ExitCode(1)
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let ioError = ExitCode(74)
}
