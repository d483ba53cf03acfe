// The nodes holding one space's copies, primary first, stored inline (no heap, no reference
// counting) so that a directory lookup copies a plain 32-byte value and never allocates.

/// The ordered, duplicate-free list of nodes that hold a space: the primary first, then replicas.
///
/// Holds at most ``capacity`` nodes inline.
///
/// ```swift
/// var copies = CopySet([3, 1])
/// copies.append(4)
/// print(copies.primary as Any, Array(copies))   // n3 [n3, n1, n4]
/// ```
public struct CopySet: RandomAccessCollection, Hashable, Sendable, CustomStringConvertible {
    /// The most copies a space may have (the largest replication factor).
    public static let capacity = 7

    @usableFromInline
    typealias Storage = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    @usableFromInline var storage: Storage = (0, 0, 0, 0, 0, 0, 0)
    @usableFromInline var length: UInt8 = 0

    /// An empty set.
    @inlinable
    public init() {}

    /// A set of the given nodes, in order; duplicates and nodes past ``capacity`` are dropped.
    public init(_ nodes: some Sequence<NodeID>) {
        for node in nodes where !contains(node) && count < Self.capacity {
            append(node)
        }
    }

    /// The first position (0).
    @inlinable public var startIndex: Int { 0 }
    /// One past the last copy.
    @inlinable public var endIndex: Int { Int(length) }

    /// The node at `position` (0 is the primary).
    @inlinable
    public subscript(position: Int) -> NodeID {
        get {
            precondition(position >= 0 && position < Int(length), "CopySet index out of range")
            return withUnsafeBytes(of: storage) {
                NodeID(rawValue: $0.load(fromByteOffset: position &* 4, as: UInt32.self))
            }
        }
        set {
            precondition(position >= 0 && position < Int(length), "CopySet index out of range")
            withUnsafeMutableBytes(of: &storage) {
                $0.storeBytes(of: newValue.rawValue, toByteOffset: position &* 4, as: UInt32.self)
            }
        }
    }

    /// The primary copy, or nil when empty.
    @inlinable
    public var primary: NodeID? { length == 0 ? nil : self[0] }

    /// The replicas: every copy after the primary.
    @inlinable
    public var replicas: SubSequence { dropFirst() }

    /// Whether `node` holds a copy (a linear scan of at most ``capacity`` entries).
    @inlinable
    public func contains(_ node: NodeID) -> Bool {
        var i = 0
        while i < Int(length) {
            if self[i] == node { return true }
            i &+= 1
        }
        return false
    }

    /// The position of `node`, or nil.
    @inlinable
    public func position(of node: NodeID) -> Int? {
        var i = 0
        while i < Int(length) {
            if self[i] == node { return i }
            i &+= 1
        }
        return nil
    }

    /// Appends a node. The caller keeps the set duplicate-free and under ``capacity``.
    @inlinable
    public mutating func append(_ node: NodeID) {
        precondition(Int(length) < Self.capacity, "CopySet is full")
        length &+= 1
        self[Int(length) - 1] = node
    }

    /// Removes the copy at `position`, keeping the order of the others.
    @inlinable
    public mutating func remove(at position: Int) {
        precondition(position >= 0 && position < Int(length), "CopySet index out of range")
        var i = position
        while i + 1 < Int(length) {
            self[i] = self[i + 1]
            i += 1
        }
        length -= 1
    }

    /// Equal when the same nodes appear in the same order.
    public static func == (lhs: CopySet, rhs: CopySet) -> Bool {
        lhs.elementsEqual(rhs)
    }

    /// Hashes the nodes in order.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(length)
        for node in self { hasher.combine(node) }
    }

    /// The nodes in brackets, e.g. `[n3, n1]`.
    public var description: String { "[" + map(\.description).joined(separator: ", ") + "]" }
}
