// `mnemo load`: loads an .fvecs file (with texts) into a space of a running server in batches
// of vectorBase64 memories, with a progress bar (rate, ETA) on stderr and the rate on stdout.
import ArgumentParser
import Foundation
import Mnemo

/// Loads vectors and texts into a running server.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load an .fvecs file (and texts) into a space of a running server, in batches.")

    @OptionGroup var server: ServerOptions

    @Option(help: "The vectors (.fvecs).")
    var fvecs: String

    @Option(help: "Texts, one a line: `row<TAB>id<TAB>text`, `id<TAB>text` or just the text (id: the row number).")
    var texts: String?

    @Option(help: "The space (created when absent, with the file's dimension and --metric).")
    var space: String

    @Option(help: "Metric of a space created here: cosine, l2 or ip.")
    var metric: String = "cosine"

    @Option(help: "Memories per batch request.")
    var batch: Int = 100

    @Option(help: "Batch requests in flight at once (keep-alive connections).")
    var concurrency: Int = 2

    @Option(help: "Load only the first N rows.")
    var limit: Int?

    @Flag(help: "Upsert (replace memories whose id exists) instead of insert.")
    var upsert = false

    func validate() throws {
        guard batch >= 1, batch <= 10_000 else { throw ValidationError("--batch must be 1...10000") }
        guard concurrency >= 1, concurrency <= 256 else { throw ValidationError("--concurrency must be 1...256") }
    }

    func run() async throws {
        let vectors = try VectorRows(fvecs: fvecs)
        let rows = 0..<min(vectors.count, limit ?? vectors.count)
        let lines = try texts.map { try Self.readTexts($0) } ?? [:]
        let client = server.client(connections: concurrency)
        let loader = BatchLoader(client: client, space: space, batchSize: batch, inFlight: concurrency)
        let bar = ProgressBar(total: rows.count, label: "load \(space)")
        let start = ContinuousClock.now
        let sent: Int
        do {
            try await loader.ensureSpace(dimension: vectors.dimension, metric: metric)
            sent = try await loader.load(vectors: vectors, rows: rows,
                                         id: { lines[$0]?.id ?? String($0) }, text: { lines[$0]?.text },
                                         upsert: upsert, progress: { bar.update($0) })
        } catch {
            await client.shutdown()
            throw error
        }
        bar.finish(sent)
        await client.shutdown()
        let seconds = ProgressBar.seconds(ContinuousClock.now - start)
        print(String(format: "loaded %d memories into %@ in %.2f s (%.0f memories/s, batches of %d, %d in flight)",
                     sent, space, seconds, Double(sent) / max(seconds, 1e-9), batch, concurrency))
    }

    /// Row → (id, text) from a texts file.
    static func readTexts(_ path: String) throws -> [Int: (id: String, text: String)] {
        let content = try String(contentsOfFile: path, encoding: .utf8)
        var result: [Int: (id: String, text: String)] = [:]
        var row = 0
        for line in content.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { continue }
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            switch fields.count {
            case 3:
                let index = Int(fields[0]) ?? row
                result[index] = (String(fields[1]), String(fields[2]))
            case 2: result[row] = (String(fields[0]), String(fields[1]))
            default: result[row] = (String(row), String(line))
            }
            row += 1
        }
        return result
    }
}
