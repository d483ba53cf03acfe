// A physical node as placement sees it: identity, failure domain and relative capacity.

/// A physical node: its id, its rack (failure domain) and its capacity weight.
///
/// A capacity of 1 is a standard node; a node of capacity 2 gets twice the virtual nodes on the
/// ring and twice the share of spaces, bytes and load from the planner.
///
/// ```swift
/// let node = Node(id: 4, rack: "eu-1a", capacity: 1.5)
/// ```
public struct Node: Hashable, Sendable {
    /// The node's id.
    public var id: NodeID
    /// The failure domain; copies of a space prefer distinct racks.
    public var rack: String
    /// The capacity weight, > 0 and finite.
    public var capacity: Double

    /// Creates a node.
    public init(id: NodeID, rack: String = "", capacity: Double = 1) {
        self.id = id
        self.rack = rack
        self.capacity = capacity
    }
}
