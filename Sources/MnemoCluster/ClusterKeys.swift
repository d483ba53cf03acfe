// Where the cluster keeps its state in etcd. One root per cluster, so several clusters (or several
// test runs) can share one etcd:
//
//   <root>/members/<node id>       {"address","rack","capacity","state"}  on the node's lease
//   <root>/leader                  the controller's name                 on the controller's lease
//   <root>/assignments/<space id>  {"primary","replicas","version"}      no lease
//   <root>/moves/<space id>        MoveRecord (at most one move per space) no lease, the controller's
//   <root>/load/<node id>          LoadReport                            on the node's lease
//
// Node ids are decimal, space ids 16 lower-case hex digits (fixed width, so keys sort like ids).

import MnemoPlacement

/// The key layout of one cluster.
public struct ClusterKeys: Hashable, Sendable {
    /// The root every key starts with, without a trailing slash (e.g. `/mnemo/prod`).
    public let root: String

    /// Creates the layout under `root` (a trailing slash is dropped).
    public init(root: String) {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// The prefix of every member key.
    public var membersPrefix: String { root + "/members/" }
    /// The election key.
    public var leader: String { root + "/leader" }
    /// The prefix of every assignment key.
    public var assignmentsPrefix: String { root + "/assignments/" }
    /// The prefix of every move key.
    public var movesPrefix: String { root + "/moves/" }
    /// The prefix of every load report key.
    public var loadPrefix: String { root + "/load/" }

    /// The key of one member.
    public func member(_ node: NodeID) -> String { membersPrefix + String(node.rawValue) }

    /// The key of one space's assignment.
    public func assignment(_ space: SpaceID) -> String { assignmentsPrefix + Self.hex(space) }

    /// The key of one space's move.
    public func move(_ space: SpaceID) -> String { movesPrefix + Self.hex(space) }

    /// The key of one node's load report.
    public func load(_ node: NodeID) -> String { loadPrefix + String(node.rawValue) }

    /// A space id as the 16 lower-case hex digits keys (and load reports) use.
    public static func hex(_ space: SpaceID) -> String {
        let hex = String(space.rawValue, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The space id written as by ``hex(_:)``; nil when `text` is not 1...16 hex digits.
    public static func space(hex text: some StringProtocol) -> SpaceID? {
        guard !text.isEmpty, text.count <= 16, let raw = UInt64(text, radix: 16) else { return nil }
        return SpaceID(rawValue: raw)
    }

    /// The node id in a member key, nil when the key is not one.
    public func node(fromKey key: String) -> NodeID? {
        guard key.hasPrefix(membersPrefix), let raw = UInt32(key.dropFirst(membersPrefix.count)) else {
            return nil
        }
        return NodeID(rawValue: raw)
    }

    /// The space id in an assignment key, nil when the key is not one.
    public func space(fromKey key: String) -> SpaceID? {
        guard key.hasPrefix(assignmentsPrefix) else { return nil }
        return Self.space(hex: key.dropFirst(assignmentsPrefix.count))
    }

    /// The space id in a move key, nil when the key is not one.
    public func space(fromMoveKey key: String) -> SpaceID? {
        guard key.hasPrefix(movesPrefix) else { return nil }
        return Self.space(hex: key.dropFirst(movesPrefix.count))
    }

    /// The node id in a load report key, nil when the key is not one.
    public func node(fromLoadKey key: String) -> NodeID? {
        guard key.hasPrefix(loadPrefix), let raw = UInt32(key.dropFirst(loadPrefix.count)) else { return nil }
        return NodeID(rawValue: raw)
    }
}
