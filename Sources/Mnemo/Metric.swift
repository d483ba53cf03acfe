/// How the distance between two vectors is measured. Smaller distances are closer.
///
/// ```swift
/// let index = try HNSWIndex(dimension: 384, metric: .cosine)
/// ```
public enum Metric: String, Sendable, Hashable, CaseIterable, Codable {
    /// Squared Euclidean distance.
    case l2
    /// Inner-product distance, `1 - a·b`.
    case innerProduct = "ip"
    /// Cosine distance, `1 - cos(a, b)`; vectors are stored unit-normalised.
    case cosine

}
