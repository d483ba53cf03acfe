import CMnemo

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

    /// The C core's value for this metric.
    var cValue: mn_metric {
        switch self {
        case .l2: MN_METRIC_L2
        case .innerProduct: MN_METRIC_IP
        case .cosine: MN_METRIC_COSINE
        }
    }
}
