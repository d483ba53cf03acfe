// `mnemo put`: upserts one memory into a space of a running server
// (PUT /v1/spaces/{space}/memories/{id}).
import ArgumentParser
import Foundation

/// Upserts one memory.
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Upsert one memory into a space of a running server.")

    @OptionGroup var server: ServerOptions

    @Option(help: "The space.")
    var space: String

    @Option(help: "The memory's id.")
    var id: String

    @Option(help: "Its vector: comma-separated numbers.")
    var vector: String

    @Option(help: "Its text content.")
    var text: String?

    @Option(help: "Metadata fields as key=value (repeatable; string values).")
    var meta: [String] = []

    func run() async throws {
        var metadata: [String: String] = [:]
        for item in meta {
            guard let equals = item.firstIndex(of: "=") else { throw ValidationError("--meta takes key=value: \(item)") }
            metadata[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        let body = try ServerClient.encodeJSON(MemoryBody(
            id: nil, vectorBase64: ServerClient.base64(try parseVector(vector)), text: text,
            metadata: metadata.isEmpty ? nil : metadata))
        let client = server.client()
        let reply: ServerClient.Reply
        do {
            reply = try await client.send(.PUT, ServerClient.spacePath(space) + "/memories/" + ServerClient.encode(id),
                                          body: body)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        guard (200..<300).contains(reply.status) else { throw ServerClient.failure(reply) }
        print(reply.text)
    }
}
