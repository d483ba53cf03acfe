// What a node says about itself in etcd: where to reach it, its rack (the planner spreads copies
// over racks), its capacity (the planner's weight) and its life-cycle state. Stored as compact JSON
// of a few dozen bytes under the node's lease, so the key disappears when the node stops renewing;
// an absent key therefore reads as `dead`.

import Foundation
import MnemoPlacement

/// One node's registration.
public struct MemberRecord: Hashable, Sendable {
    /// The node's id (from its key).
    public var node: NodeID
    /// Where other nodes reach it, `host:port`.
    public var address: String
    /// Its rack or failure domain.
    public var rack: String
    /// Its relative capacity (> 0).
    public var capacity: Double
    /// Its state: alive, joining or draining while registered (dead once its key is gone).
    public var state: Membership.State

    /// Creates a record.
    public init(node: NodeID, address: String, rack: String = "", capacity: Double = 1,
                state: Membership.State = .alive) {
        self.node = node
        self.address = address
        self.rack = rack
        self.capacity = capacity
        self.state = state
    }

    /// The planner's view of this member.
    public var placementMember: Membership.Member {
        Membership.Member(Node(id: node, rack: rack, capacity: capacity), state: state)
    }

    private struct Wire: Codable {
        var address: String
        var rack: String
        var capacity: Double
        var state: String
    }

    /// The stored value: compact JSON without the node id (the key carries it).
    func encoded() -> [UInt8] {
        let wire = Wire(address: address, rack: rack, capacity: capacity, state: state.rawValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding four plain fields cannot fail; an empty value would read back as malformed.
        return (try? encoder.encode(wire)).map { [UInt8]($0) } ?? []
    }

    /// Decodes a stored value; nil when it is not a member record.
    static func decoded(node: NodeID, from value: [UInt8]) -> MemberRecord? {
        guard let wire = try? JSONDecoder().decode(Wire.self, from: Data(value)),
              let state = Membership.State(rawValue: wire.state) else { return nil }
        return MemberRecord(node: node, address: wire.address, rack: wire.rack, capacity: wire.capacity,
                            state: state)
    }
}
