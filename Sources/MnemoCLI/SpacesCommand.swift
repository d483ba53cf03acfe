// `mnemo spaces`: lists a running server's spaces (GET /v1/spaces, every page of the cursor).
import ArgumentParser
import Foundation

/// Lists the spaces of a running server.
struct SpacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spaces", abstract: "List the spaces of a running server (one name a line).")

    @OptionGroup var server: ServerOptions

    @Option(help: "Only names starting with this prefix.")
    var prefix: String?

    @Flag(help: "Print each space's statistics (GET /v1/spaces/{space}) as JSON lines.")
    var stats = false

    struct Page: Decodable {
        struct Entry: Decodable { var name: String }
        var spaces: [Entry]
        var nextCursor: String?
    }

    func run() async throws {
        let client = server.client()
        do {
            var cursor: String?
            repeat {
                var path = "/v1/spaces?limit=1000"
                if let cursor { path += "&cursor=" + ServerClient.encode(cursor) }
                if let prefix { path += "&prefix=" + ServerClient.encode(prefix) }
                let page = try await client.json(Page.self, .GET, path)
                for entry in page.spaces {
                    if stats {
                        let reply = try await client.send(.GET, ServerClient.spacePath(entry.name))
                        print(reply.text)
                    } else {
                        print(entry.name)
                    }
                }
                cursor = page.nextCursor
            } while cursor != nil
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
