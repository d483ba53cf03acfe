// ClusterService: the cluster node's life inside the server's ServiceGroup. It waits for the
// database to open (the listener is up by then, so the bound port is known and becomes the
// default advertised address), then runs the ClusterNode (register, adopt, follow, report) until
// graceful shutdown, when the node leaves the member list (its lease is revoked) before the
// database closes.
import Logging
import Mnemo
import ServiceLifecycle

/// Runs a ClusterNode alongside the server.
struct ClusterService: Service {
    let state: ServerState
    let node: ClusterNode
    let logger: Logger

    func run() async throws {
        var database: Database?
        while database == nil {
            switch state.current {
            case .ready(let open): database = open
            case .failed, .closing: return
            case .recovering:
                do {
                    try await Task.sleep(for: .milliseconds(20))
                } catch {
                    return
                }
            }
        }
        guard let database else { return }
        let configuration = state.configuration
        let address = node.configuration.advertise ?? "\(configuration.host):\(state.port ?? configuration.port)"
        await node.run(state: state, database: database, address: address) {
            try? await gracefulShutdown()
        }
    }
}

extension ClusterService: CustomStringConvertible {
    /// The service's name in lifecycle logs.
    var description: String { "ClusterService" }
}
