import ArgumentParser

/// The `mnemo` command line: benchmarks, the demo and (later) the server.
@main
struct MnemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mnemo",
        abstract: "Mnemo, a memory database for AI agents.",
        subcommands: [
            DemoCommand.self,
            AnnBenchCommand.self,
            PlacementCommand.self,
            EngineBenchCommand.self,
            ServeCommand.self, ClusterCommand.self,
            SpacesCommand.self, SearchCommand.self, PutCommand.self, LoadCommand.self, LoadTestCommand.self,
        ]
    )
}
