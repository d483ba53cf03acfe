/// One result of a nearest-neighbour search: an id and its distance to the query.
public struct Neighbor: Sendable, Hashable {
    /// The id the vector was inserted under.
    public let id: UInt64
    /// The distance to the query under the index's ``Metric`` (smaller is closer).
    public let distance: Float

    /// Creates a result.
    public init(id: UInt64, distance: Float) {
        self.id = id
        self.distance = distance
    }
}
