// `mnemo load-test`: a bounded load generator against a running server over keep-alive
// connections: N clients, each one request at a time, for a duration or a fixed request count
// (it stops by itself either way), a weighted mix of searches and upserts; prints throughput,
// p50/p99/p99.9 per kind and errors by status (text or --json). With --compare-in-process it
// also ingests --fvecs through HTTP in batches and then runs the same ingest and the same
// searches in this process against an in-memory database, and prints the ratios (the HTTP
// overhead), all from one run.
import ArgumentParser
import Foundation
import Mnemo

/// Load-tests a running server.
struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-test",
        abstract: "Bounded loopback load test of a running server: throughput, latency percentiles, errors.")

    @OptionGroup var server: ServerOptions

    @Option(help: "Concurrent clients (each one request at a time, keep-alive).")
    var clients: Int = 8

    @Option(help: "Run this many seconds (default 10 when --requests is not given).")
    var duration: Double?

    @Option(help: "Stop after this many requests in all.")
    var requests: Int?

    @Option(help: "Request mix as kind:weight, kinds search and upsert.")
    var mix: String = "search:80,upsert:20"

    @Option(help: "The space to use (created when absent).")
    var space: String = "loadtest"

    @Option(help: "Vectors for upserts and queries (.fvecs); random unit vectors of --dimension when absent.")
    var fvecs: String?

    @Option(help: "Query vectors (.fvecs); --fvecs rows when absent.")
    var queries: String?

    @Option(help: "Dimension of random vectors (without --fvecs).")
    var dimension: Int = 384

    @Option(help: "Memories to load into an empty space before the run (default: every --fvecs row, else 10000).")
    var prepare: Int?

    @Option(help: "Hits per search.")
    var k: Int = 10

    @Option(help: "Search breadth (ef).")
    var ef: Int = 64

    @Option(help: "Memories per batch of the ingest phases.")
    var batch: Int = 100

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Also measure the same ingest and searches in process (in-memory database) and print the ratios; needs --fvecs.")
    var compareInProcess = false

    /// The longest run allowed (the tool must stop by itself).
    static let durationMax = 3600.0

    func validate() throws {
        guard (1...1024).contains(clients) else { throw ValidationError("--clients must be 1...1024") }
        if let duration, !(duration > 0 && duration <= Self.durationMax) {
            throw ValidationError("--duration must be in (0, \(Int(Self.durationMax))]")
        }
        if let requests, requests < 1 { throw ValidationError("--requests must be at least 1") }
        if compareInProcess && fvecs == nil { throw ValidationError("--compare-in-process needs --fvecs") }
        _ = try LoadMix(mix)
    }

    func run() async throws {
        let load = try LoadMix(mix)
        let client = server.client(connections: clients)
        var report = LoadTestReport(clients: clients, mix: mix, space: space)
        report.loadAverageStart = LoadTestReport.loadAverage()
        let data: LoadData
        do {
            // An existing space sets the dimension of random vectors (and must match a file's);
            // an absent one is created and loaded (its ingest is timed: the HTTP batch rate).
            let info = try await Self.info(client, space)
            data = try LoadData(fvecs: fvecs, queries: queries, dimension: info?.dimension ?? dimension)
            if let info, info.dimension != data.dimension {
                throw ValidationError("space \(space) has dimension \(info.dimension), the vectors \(data.dimension)")
            }
            let loader = BatchLoader(client: client, space: space, batchSize: batch, inFlight: clients)
            if info == nil { try await loader.ensureSpace(dimension: data.dimension, metric: "cosine") }
            let rows = prepare ?? data.base.count
            if (info?.count ?? 0) == 0 && rows > 0 {
                let started = ContinuousClock.now
                let sent = try await loader.load(vectors: data.base, rows: 0..<min(rows, data.base.count),
                                                 id: { "m\($0)" }, text: { "memory \($0)" })
                report.ingest = .init(memories: sent, seconds: ProgressBar.seconds(ContinuousClock.now - started))
            }
            let runner = LoadRunner(client: client, space: space, data: data, mix: load, k: k, ef: ef)
            report.http = try await runner.run(clients: clients, duration: duration ?? (requests == nil ? 10 : nil),
                                               requests: requests)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        if compareInProcess {
            report.inProcess = try await InProcessBaseline(data: data, clients: clients, batch: batch, k: k, ef: ef)
                .run(seconds: duration ?? 10, ingestRows: prepare ?? data.base.count)
        }
        report.loadAverageEnd = LoadTestReport.loadAverage()
        print(json ? report.json() : report.text())
    }

    /// A space's dimension and memory count (GET /v1/spaces/{space}); nil when it is absent.
    struct SpaceInfo: Decodable {
        var dimension: Int
        var count: Int
    }

    static func info(_ client: ServerClient, _ space: String) async throws -> SpaceInfo? {
        let reply = try await client.send(.GET, ServerClient.spacePath(space))
        if reply.status == 404 { return nil }
        guard (200..<300).contains(reply.status) else { throw ServerClient.failure(reply) }
        return try JSONDecoder().decode(SpaceInfo.self, from: Data(reply.body))
    }
}
