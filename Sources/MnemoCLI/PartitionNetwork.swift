// PartitionNetwork: a network namespace joined to this machine by one veth pair, for the fault
// benchmark's partition scenario. Node 1 runs inside it (`ip netns exec`), every other process
// outside; the two ends get addresses of a private /30, so node 1 reaches etcd and the other nodes
// only through the pair and they reach it only that way. cut() takes the outer end down: node 1 is
// isolated from everything (etcd, peers, clients), its connections stall as a real partition's
// would; heal() brings it back. Needs root (CAP_NET_ADMIN) and iproute2; create() says why not
// otherwise. remove() deletes the namespace and with it the pair.
import Foundation

/// A network namespace with one veth link to the host.
final class PartitionNetwork: Sendable {
    /// The namespace's name.
    let namespace: String
    /// The host end of the pair (what cut() takes down).
    let hostLink: String
    /// The host end's address (etcd and the other nodes are reached at it from inside).
    let hostAddress: String
    /// The inner end's address (node 1's).
    let innerAddress: String

    private static let ipCandidates = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]

    private init(namespace: String, hostLink: String, hostAddress: String, innerAddress: String) {
        self.namespace = namespace
        self.hostLink = hostLink
        self.hostAddress = hostAddress
        self.innerAddress = innerAddress
    }

    /// The `ip` binary.
    static var ip: String? { ipCandidates.first { FileManager.default.isExecutableFile(atPath: $0) } }

    /// Creates the namespace and the pair, or throws why it cannot (not root, no iproute2).
    static func create() throws -> PartitionNetwork {
        guard getuid() == 0 else { throw ClusterBenchError("the partition scenario needs root (network namespaces)") }
        guard ip != nil else { throw ClusterBenchError("the partition scenario needs iproute2 (ip)") }
        let tag = String(ProcessInfo.processInfo.processIdentifier % 100_000)
        let octet = Int(ProcessInfo.processInfo.processIdentifier % 60) * 4
        let network = PartitionNetwork(namespace: "mnemo-p\(tag)", hostLink: "mnh\(tag)",
                                       hostAddress: "10.211.\(octet / 256).\(octet % 256 + 1)",
                                       innerAddress: "10.211.\(octet / 256).\(octet % 256 + 2)")
        let inner = "mnn\(tag)"
        do {
            try run(["netns", "add", network.namespace])
            try run(["link", "add", network.hostLink, "type", "veth", "peer", "name", inner])
            try run(["link", "set", inner, "netns", network.namespace])
            try run(["addr", "add", network.hostAddress + "/30", "dev", network.hostLink])
            try run(["link", "set", network.hostLink, "up"])
            try run(["netns", "exec", network.namespace, "ip", "addr", "add", network.innerAddress + "/30", "dev", inner])
            try run(["netns", "exec", network.namespace, "ip", "link", "set", inner, "up"])
            try run(["netns", "exec", network.namespace, "ip", "link", "set", "lo", "up"])
        } catch {
            network.remove()
            throw error
        }
        return network
    }

    /// The command prefix that runs a program inside the namespace.
    var exec: [String] { [Self.ip ?? "ip", "netns", "exec", namespace] }

    /// Isolates the namespace.
    func cut() throws { try Self.run(["link", "set", hostLink, "down"]) }

    /// Joins it again.
    func heal() throws { try Self.run(["link", "set", hostLink, "up"]) }

    /// Deletes the namespace (and the pair with it).
    func remove() {
        try? Self.run(["link", "del", hostLink])
        try? Self.run(["netns", "del", namespace])
    }

    private static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip ?? "/usr/sbin/ip")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw ClusterBenchError("ip \(arguments.joined(separator: " ")): \(text)")
        }
    }
}
