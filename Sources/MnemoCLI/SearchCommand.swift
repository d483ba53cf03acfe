// `mnemo search`: one k-NN search against a running server (POST /v1/spaces/{space}/search);
// prints the server's JSON answer.
import ArgumentParser
import Foundation
import Mnemo

/// Searches a space of a running server.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search a space of a running server; prints the JSON hits.")

    @OptionGroup var server: ServerOptions

    @Option(help: "The space to search.")
    var space: String

    @Option(help: "The query vector: comma-separated numbers.")
    var vector: String?

    @Option(help: "Take the query vector from this .fvecs file (row --row).")
    var fvecs: String?

    @Option(help: "The row of --fvecs to use.")
    var row: Int = 0

    @Option(help: "Hits to return.")
    var k: Int = 10

    @Option(help: "Search breadth (ef); the server's default when absent.")
    var ef: Int?

    @Option(help: "What hits carry besides id, distance and score: content, metadata, vector (comma-separated).")
    var include: String = "content"

    func run() async throws {
        let query: [Float]
        if let vector {
            query = try parseVector(vector)
        } else if let fvecs {
            let file = try VectorFile<Float>(contentsOf: fvecs)
            guard row >= 0, row < file.count else { throw ValidationError("--row is out of range (0..<\(file.count))") }
            query = Array(file[row])
        } else {
            throw ValidationError("give --vector or --fvecs")
        }
        let body = try ServerClient.encodeJSON(SearchBody(
            vectorBase64: ServerClient.base64(query), k: k, ef: ef,
            include: include.isEmpty ? [] : include.split(separator: ",").map(String.init)))
        let client = server.client()
        let reply: ServerClient.Reply
        do {
            reply = try await client.send(.POST, ServerClient.spacePath(space) + "/search", body: body)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        guard (200..<300).contains(reply.status) else { throw ServerClient.failure(reply) }
        print(reply.text)
    }
}
