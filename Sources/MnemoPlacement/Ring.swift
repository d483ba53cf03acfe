// The consistent-hashing ring: every node owns virtual nodes at xxHash64 positions on a 64-bit
// circle; a space's copies are the first distinct nodes clockwise of the space's own hash.
//
// Layout: two parallel sorted arrays (positions, owning node index), so a lookup is one binary
// search over contiguous UInt64s plus a short clockwise walk. Node indices are dense (nodes sorted
// by id), racks are interned to small integers, and the walk keeps its state in inline CopySets,
// so computing an assignment never allocates.

/// A consistent-hashing ring with virtual nodes, replicas and racks.
///
/// ```swift
/// let ring = try Ring(nodes: [
///     Node(id: 1, rack: "a"), Node(id: 2, rack: "b"), Node(id: 3, rack: "c"),
/// ], configuration: RingConfiguration(replicationFactor: 2))
/// let copies = ring.copies(for: SpaceID(name: "agent-42/episodic"))
/// print(copies.primary!, copies.count)   // e.g. n2 2
/// ```
public struct Ring: Sendable {
    /// The nodes, sorted by id.
    public let nodes: [Node]
    /// The configuration.
    public let configuration: RingConfiguration

    /// Virtual-node positions, ascending.
    @usableFromInline let positions: ContiguousArray<UInt64>
    /// For each position, the index in ``nodes`` of its owner.
    @usableFromInline let owners: ContiguousArray<UInt32>
    /// For each node index, its interned rack.
    @usableFromInline let racks: ContiguousArray<UInt32>
    /// The number of distinct racks.
    @usableFromInline let rackCount: Int

    /// Seed offset that separates virtual-node positions from space hashes.
    static let virtualNodeSeedOffset: UInt64 = 0x766E_6F64_6521

    /// Builds a ring.
    ///
    /// Node `n` gets `max(1, round(virtualNodes × capacity))` virtual nodes; virtual node `i` of
    /// node `id` sits at `XXH64(le64(id << 32 | i), seed ^ 0x766E6F646521)`.
    ///
    /// - Throws: `.emptyCluster`, `.duplicateNode`, `.invalidCapacity`, `.invalidConfiguration`
    ///   (virtual nodes < 1, replication factor < 1 or above ``CopySet/capacity``, ε < 0), or
    ///   `.replicationFactorTooLarge` when there are fewer nodes than copies.
    public init(nodes: [Node], configuration: RingConfiguration = RingConfiguration()) throws(PlacementError) {
        let membership = try Membership(nodes: nodes)
        let sorted = membership.members.map(\.node)
        guard configuration.virtualNodes >= 1 else {
            throw PlacementError(.invalidConfiguration, "virtualNodes must be at least 1")
        }
        guard configuration.replicationFactor >= 1,
              configuration.replicationFactor <= CopySet.capacity
        else {
            throw PlacementError(.invalidConfiguration,
                                 "replicationFactor must be in 1...\(CopySet.capacity)")
        }
        if let bound = configuration.loadBound, !(bound >= 0) || !bound.isFinite {
            throw PlacementError(.invalidConfiguration, "loadBound must be a finite ε ≥ 0")
        }
        guard configuration.replicationFactor <= sorted.count else {
            throw PlacementError(.replicationFactorTooLarge,
                                 "replication factor \(configuration.replicationFactor) > \(sorted.count) nodes")
        }
        var rackIndex: [String: UInt32] = [:]
        var racks = ContiguousArray<UInt32>()
        for node in sorted {
            let next = UInt32(rackIndex.count)
            racks.append(rackIndex[node.rack, default: next])
            rackIndex[node.rack] = racks.last
        }
        let positionSeed = configuration.seed ^ Ring.virtualNodeSeedOffset
        var points: [(position: UInt64, owner: UInt32)] = []
        for (index, node) in sorted.enumerated() {
            let count = max(1, Int((Double(configuration.virtualNodes) * node.capacity).rounded()))
            points.reserveCapacity(points.count + count)
            for v in 0..<count {
                let key = UInt64(node.id.rawValue) << 32 | UInt64(UInt32(truncatingIfNeeded: v))
                points.append((XXHash64.hash(key, seed: positionSeed), UInt32(index)))
            }
        }
        points.sort { $0.position != $1.position ? $0.position < $1.position : $0.owner < $1.owner }
        self.nodes = sorted
        self.configuration = configuration
        self.positions = ContiguousArray(points.map(\.position))
        self.owners = ContiguousArray(points.map(\.owner))
        self.racks = racks
        self.rackCount = rackIndex.count
    }

    /// The number of virtual nodes on the ring.
    public var virtualNodeCount: Int { positions.count }

    /// The ring position of `space`: xxHash64 of its 8 little-endian bytes with the ring's seed.
    @inlinable
    public func hash(of space: SpaceID) -> UInt64 {
        XXHash64.hash(space.rawValue, seed: configuration.seed)
    }

    /// The index of the first virtual node at or clockwise after `position` (binary search).
    @inlinable
    func firstPoint(atOrAfter position: UInt64) -> Int {
        var low = 0
        var high = positions.count
        positions.withUnsafeBufferPointer { p in
            while low < high {
                let mid = (low &+ high) >> 1
                if p[mid] < position { low = mid &+ 1 } else { high = mid }
            }
        }
        return low == positions.count ? 0 : low
    }

    /// The primary of `space`: the owner of the first virtual node clockwise of its hash.
    @inlinable
    public func primary(for space: SpaceID) -> NodeID {
        nodes[Int(owners[firstPoint(atOrAfter: hash(of: space))])].id
    }

    /// The copies of `space`: the primary, then the next distinct nodes clockwise; in rack-aware
    /// mode nodes in racks already used are skipped while unused racks remain, and taken in
    /// clockwise order when there are fewer racks than copies.
    public func copies(for space: SpaceID) -> CopySet {
        let indices = walk(from: hash(of: space), copies: configuration.replicationFactor) { _ in false }
        return nodeIDs(indices)
    }

    /// A ring with `node` added.
    ///
    /// - Throws: as ``init(nodes:configuration:)``; `.duplicateNode` when the id is taken.
    public func adding(_ node: Node) throws(PlacementError) -> Ring {
        try Ring(nodes: nodes + [node], configuration: configuration)
    }

    /// A ring without `node`.
    ///
    /// - Throws: `.unknownNode`, or as ``init(nodes:configuration:)`` (too few nodes left).
    public func removing(_ node: NodeID) throws(PlacementError) -> Ring {
        guard nodes.contains(where: { $0.id == node }) else {
            throw PlacementError(.unknownNode, "node \(node) is not on the ring")
        }
        return try Ring(nodes: nodes.filter { $0.id != node }, configuration: configuration)
    }

    /// Maps node indices (as stored in a CopySet) to node ids.
    @usableFromInline
    func nodeIDs(_ indices: CopySet) -> CopySet {
        var result = CopySet()
        for index in indices { result.append(nodes[Int(index.rawValue)].id) }
        return result
    }
}
