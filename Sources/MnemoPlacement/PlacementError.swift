// The one error type of the placement module: a struct with an extensible code (STYLE rule 16),
// so callers and tests match on `error.code` and new codes never break a `switch`.

/// An error from the ring, the directory, the planner or the move runner.
///
/// ```swift
/// do {
///     _ = try Ring(nodes: [], configuration: RingConfiguration())
/// } catch let error where error.code == .emptyCluster {
///     print("no nodes:", error)
/// }
/// ```
public struct PlacementError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. Extensible: new codes may be added without breaking matches.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A stable number for the code.
        public let rawValue: Int32

        /// Creates a code from its raw value.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// The cluster has no node (or no node that may hold data).
        public static let emptyCluster = Code(rawValue: 1)
        /// Two nodes share an id.
        public static let duplicateNode = Code(rawValue: 2)
        /// A node's capacity is zero, negative or not finite.
        public static let invalidCapacity = Code(rawValue: 3)
        /// The replication factor is above the number of nodes that may hold a copy.
        public static let replicationFactorTooLarge = Code(rawValue: 4)
        /// A configuration value is out of range (virtual nodes < 1, replication factor < 1, ...).
        public static let invalidConfiguration = Code(rawValue: 5)
        /// A node id is not a member.
        public static let unknownNode = Code(rawValue: 6)
        /// Two entries name the same space.
        public static let duplicateSpace = Code(rawValue: 7)
        /// The space is not in the directory.
        public static let unknownSpace = Code(rawValue: 8)
        /// A move does not fit the directory (its old copy is missing, its new one already there).
        public static let invalidMove = Code(rawValue: 9)
        /// The move executor failed a move.
        public static let executorFailed = Code(rawValue: 10)

        /// A short name for the code.
        public var description: String {
            switch self {
            case .emptyCluster: "emptyCluster"
            case .duplicateNode: "duplicateNode"
            case .invalidCapacity: "invalidCapacity"
            case .replicationFactorTooLarge: "replicationFactorTooLarge"
            case .invalidConfiguration: "invalidConfiguration"
            case .unknownNode: "unknownNode"
            case .duplicateSpace: "duplicateSpace"
            case .unknownSpace: "unknownSpace"
            case .invalidMove: "invalidMove"
            case .executorFailed: "executorFailed"
            default: "code(\(rawValue))"
            }
        }
    }

    /// What went wrong.
    public let code: Code
    /// A human-readable explanation.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The code and the message.
    public var description: String { "\(code): \(message)" }
}
