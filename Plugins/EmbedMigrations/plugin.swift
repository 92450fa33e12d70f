import PackagePlugin

/// Embeds the package's top-level `migrations/*.sql` into the target it is
/// applied to, as a generated Swift file (`EmbeddedMigrations`).
///
/// Why a build-tool plugin: the `.sql` files stay the only source of the schema,
/// yet the built binary carries them — `swift run`, `swift test` and a copied
/// executable all find them, with no resource bundle to locate at run time and
/// no path back into the source tree. The files are declared as inputs, so
/// editing or adding a migration re-runs the generator.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "migrations")
        let names = try FileManagerLite.sqlFiles(in: directory.path(percentEncoded: false))
        let inputs = names.map { directory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(names.count) migration(s) from migrations/",
                executable: try context.tool(named: "EmbedMigrationsTool").url,
                arguments: [output.path(percentEncoded: false)] + inputs.map { $0.path(percentEncoded: false) },
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Directory listing without Foundation (plugins link it, but this keeps the
/// plugin's behaviour obvious): the `*.sql` names in `path`, sorted.
enum FileManagerLite {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func sqlFiles(in path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw Failure(description: "cannot read \(path): the package's migrations/ directory is missing")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".sql") { names.append(name) }
        }
        return names.sorted()
    }
}
