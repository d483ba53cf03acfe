// CrossSearchProbe: the cluster bench's measure of the one feature that crosses nodes. For the
// same time each, the clients send searches of one space (`POST /v1/spaces/{space}/search`) and
// searches of two spaces whose owners are different nodes (`POST /v1/search`, fanned out by the
// receiving node and merged), both through random nodes, while the writers keep writing; it
// reports throughput and latency percentiles of both. Forwarding is in both figures (a request
// reaches the owner of its space one time in N); the cross-space one adds the second owner's
// round trip and the merge.
import Foundation
import MnemoPlacement

/// Throughput and latency of single-space and cross-space searches on a running cluster.
struct CrossSearchProbe: Sendable {
    /// One kind's figures.
    struct Figures: Sendable {
        var queriesPerSecond: Double
        var p50: Double
        var p99: Double
        var failed: Int
    }

    let cluster: BenchCluster
    let names: [String]
    let dimension: Int
    let clients: Int
    let seconds: Double

    /// `POST /v1/search`.
    private struct CrossBody: Encodable {
        var spaces: [String]
        var vectorBase64: String
        var k: Int
    }

    /// Measures both kinds over pairs of spaces with different owners in `owners`.
    func run(owners: [SpaceID: NodeID]) async throws -> (single: Figures, cross: Figures) {
        var byNode: [NodeID: [String]] = [:]
        for name in names {
            if let node = owners[SpaceID(name: name)] { byNode[node, default: []].append(name) }
        }
        let nodes = byNode.keys.sorted()
        guard nodes.count >= 2 else { throw ClusterBenchError("cross-space search needs spaces on two nodes") }
        let pairs = (0..<64).map { i -> (String, String) in
            let a = byNode[nodes[i % nodes.count]] ?? []
            let b = byNode[nodes[(i + 1) % nodes.count]] ?? []
            return (a[i % a.count], b[(i * 7) % b.count])
        }
        let single = try await measure { i in
            (ServerClient.spacePath(pairs[i % pairs.count].0) + "/search",
             try ServerClient.encodeJSON(SearchBody(vectorBase64: ServerClient.base64(vector()), k: 10)))
        }
        let cross = try await measure { i in
            let (a, b) = pairs[i % pairs.count]
            return ("/v1/search", try ServerClient.encodeJSON(CrossBody(spaces: [a, b],
                                                                         vectorBase64: ServerClient.base64(vector()), k: 10)))
        }
        return (single, cross)
    }

    /// Runs `clients` loops of requests made by `request(i)` for `seconds`.
    private func measure(_ request: @escaping @Sendable (Int) throws -> (String, [UInt8])) async throws -> Figures {
        let clock = ContinuousClock()
        let end = clock.now + .seconds(seconds)
        let samples = try await withThrowingTaskGroup(of: LatencySamples.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var samples = LatencySamples()
                    var i = client
                    while clock.now < end {
                        let (path, body) = try request(i)
                        i += clients
                        guard let node = cluster.randomNode() else { break }
                        let start = clock.now
                        do {
                            let reply = try await node.client.send(.POST, path, body: body)
                            if (200..<300).contains(reply.status) {
                                samples.record(clock.now - start)
                            } else {
                                samples.errors[reply.status, default: 0] += 1
                            }
                        } catch {
                            samples.errors[0, default: 0] += 1
                        }
                    }
                    return samples
                }
            }
            var all = LatencySamples()
            for try await part in group { all.merge(part) }
            return all
        }
        let summary = samples.summary()
        return Figures(queriesPerSecond: Double(summary.count) / seconds, p50: summary.p50, p99: summary.p99,
                       failed: samples.errors.values.reduce(0, +))
    }

    private func vector() -> [Float] { (0..<dimension).map { _ in Float.random(in: -1...1) } }
}
