// Cluster membership as the planner sees it: each node and its state. Validation happens here once,
// so the planner can index nodes densely and never meet a duplicate or a zero capacity.

/// The nodes of the cluster and their states.
///
/// ```swift
/// let membership = try Membership([
///     .init(Node(id: 1, rack: "a")), .init(Node(id: 2, rack: "b")),
///     .init(Node(id: 3, rack: "c"), state: .draining),
/// ])
/// ```
public struct Membership: Hashable, Sendable {
    /// The life-cycle state of a node.
    public enum State: String, Hashable, Sendable, CaseIterable {
        /// Serving and may receive copies.
        case alive
        /// Newly added: may receive copies (the planner fills it).
        case joining
        /// Leaving on purpose: still serves as a source, receives nothing, must be emptied.
        case draining
        /// Gone: its copies are lost and must be restored elsewhere (Critical moves).
        case dead
    }

    /// A node and its state.
    public struct Member: Hashable, Sendable {
        /// The node.
        public var node: Node
        /// Its state.
        public var state: State

        /// Creates a member (alive by default).
        public init(_ node: Node, state: State = .alive) {
            self.node = node
            self.state = state
        }
    }

    /// The members, sorted by node id.
    public private(set) var members: [Member]

    /// Creates a membership.
    ///
    /// - Throws: `.emptyCluster` when `members` is empty, `.duplicateNode` when two share an id,
    ///   `.invalidCapacity` when a capacity is not a positive finite number.
    public init(_ members: [Member]) throws(PlacementError) {
        if members.isEmpty { throw PlacementError(.emptyCluster, "membership has no node") }
        let sorted = members.sorted { $0.node.id < $1.node.id }
        for (i, member) in sorted.enumerated() {
            if i > 0 && sorted[i - 1].node.id == member.node.id {
                throw PlacementError(.duplicateNode, "node \(member.node.id) appears twice")
            }
            if !(member.node.capacity > 0) || !member.node.capacity.isFinite {
                throw PlacementError(.invalidCapacity,
                                     "node \(member.node.id) has capacity \(member.node.capacity)")
            }
        }
        self.members = sorted
    }

    /// A membership of alive nodes.
    public init(nodes: [Node]) throws(PlacementError) {
        try self.init(nodes.map { Member($0) })
    }

    /// The state of `node`, or nil when it is not a member.
    public func state(of node: NodeID) -> State? {
        members.first { $0.node.id == node }?.state
    }

    /// A copy with `node` in `state`.
    ///
    /// - Throws: `.unknownNode` when `node` is not a member.
    public func setting(_ node: NodeID, to state: State) throws(PlacementError) -> Membership {
        guard let i = members.firstIndex(where: { $0.node.id == node }) else {
            throw PlacementError(.unknownNode, "node \(node) is not a member")
        }
        var copy = self
        copy.members[i].state = state
        return copy
    }

    /// A copy with `node` added in `state` (`.joining` by default).
    ///
    /// - Throws: `.duplicateNode` or `.invalidCapacity`.
    public func adding(_ node: Node, state: State = .joining) throws(PlacementError) -> Membership {
        try Membership(members + [Member(node, state: state)])
    }
}
