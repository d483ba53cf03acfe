/// The one error type of Mnemo.
///
/// Every failure of the C core is mapped to a ``Code`` in one place, so tests and callers can
/// match on it:
///
/// ```swift
/// do {
///     try index.insert(id: 7, vector: [0, .nan, 1])
/// } catch let error where error.code == .nonFinite {
///     print("rejected:", error)
/// }
/// ```
public struct MnemoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. Extensible: new codes may be added without breaking matches.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The C core's status value (`mn_status`), or a Swift-side code above 1000.
        public let rawValue: Int32

        /// Creates a code from its raw value.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// An argument is out of range (k = 0, M too small, an empty name).
        public static let invalidArgument = Code(rawValue: -1)
        /// A vector has the wrong length, or a dimension is 0 or over the limit.
        public static let wrongDimension = Code(rawValue: -2)
        /// A vector has a NaN or infinite component.
        public static let nonFinite = Code(rawValue: -3)
        /// A zero vector was given to a cosine index.
        public static let zeroVector = Code(rawValue: -4)
        /// The id (or space name) is already present.
        public static let duplicateID = Code(rawValue: -5)
        /// The id is unknown.
        public static let notFound = Code(rawValue: -6)
        /// An allocation failed; nothing was changed.
        public static let outOfMemory = Code(rawValue: -7)
        /// A stream or file ended early.
        public static let truncated = Code(rawValue: -8)
        /// A stream or file failed its checksum or structural checks.
        public static let corrupt = Code(rawValue: -9)
        /// A stream or file has an unknown format or version.
        public static let unsupportedVersion = Code(rawValue: -10)
        /// Reading or writing failed.
        public static let io = Code(rawValue: -11)
        /// A bounded queue is full (back-pressure).
        public static let full = Code(rawValue: -12)
        /// An id, payload or count is over its limit.
        public static let tooLarge = Code(rawValue: -13)
        /// The database or index is closed.
        public static let closed = Code(rawValue: -14)
        /// The operation is not available on this CPU or build.
        public static let unsupported = Code(rawValue: -15)
        /// No memory space has that name.
        public static let unknownSpace = Code(rawValue: -16)
        /// The data directory is already open in another `Database` or process.
        public static let locked = Code(rawValue: -17)
        /// A metadata document was refused: a bad field name, a value over its limit, a
        /// non-finite double, too many fields or bytes. ``MnemoError/field`` names the field,
        /// ``MnemoError/reason`` says why and ``MnemoError/status`` is the C core's status
        /// (``invalidArgument``, ``tooLarge`` or ``nonFinite``). Nothing was written.
        ///
        /// ```swift
        /// catch let error where error.code == .invalidMetadata {
        ///     print(error.field ?? "", error.reason ?? "")
        /// }
        /// ```
        public static let invalidMetadata = Code(rawValue: 1001)
        /// A filter was refused: not strict JSON, an unknown operator, an operand of the wrong
        /// type, a bad date, nested deeper than 16 or over another limit.
        /// ``MnemoError/field`` names the field (or logical operator) it is in,
        /// ``MnemoError/offset`` is the byte offset in the filter's JSON text,
        /// ``MnemoError/reason`` says why and ``MnemoError/status`` is the C core's status
        /// (``invalidArgument``, or ``tooLarge`` for a limit).
        ///
        /// ```swift
        /// catch let error where error.code == .invalidFilter {
        ///     print(error.field ?? "", error.offset ?? 0, error.reason ?? "")
        /// }
        /// ```
        public static let invalidFilter = Code(rawValue: 1002)
        /// Log records do not continue the space's sequence: one is missing before the first
        /// record or between two (``Space/applyLogRecords(_:)``). Nothing was applied.
        /// ``MnemoError/status`` is ``invalidArgument``.
        public static let logGap = Code(rawValue: 1003)
        /// Log records the space already holds (a batch sent twice), or one sequence given
        /// twice (``Space/applyLogRecords(_:)``). Nothing was applied. ``MnemoError/status``
        /// is ``invalidArgument``.
        public static let logDuplicate = Code(rawValue: 1004)
        /// A checkpoint has cut the records after the requested sequence from the logs
        /// (``Space/logRecords(after:batchBytes:)``): start again from an export.
        /// ``MnemoError/status`` is ``notFound``.
        public static let logTruncated = Code(rawValue: 1005)

        /// Every code of the C core's `mn_status`, in raw-value order. StatusCodeTests checks it
        /// against every `MN_ERR_*` of include/mnemo/mn_status.h and `mn_status_string`.
        static let known: [Code] = [
            .invalidArgument, .wrongDimension, .nonFinite, .zeroVector, .duplicateID, .notFound,
            .outOfMemory, .truncated, .corrupt, .unsupportedVersion, .io, .full, .tooLarge, .closed,
            .unsupported, .unknownSpace, .locked,
        ]

        /// The Swift-side codes (above 1000), which carry a C status in ``MnemoError/status``.
        static let swiftSide: [Code] = [.invalidMetadata, .invalidFilter, .logGap, .logDuplicate, .logTruncated]

        /// A short name for the code.
        public var description: String {
            switch self {
            case .invalidArgument: "invalidArgument"
            case .wrongDimension: "wrongDimension"
            case .nonFinite: "nonFinite"
            case .zeroVector: "zeroVector"
            case .duplicateID: "duplicateID"
            case .notFound: "notFound"
            case .outOfMemory: "outOfMemory"
            case .truncated: "truncated"
            case .corrupt: "corrupt"
            case .unsupportedVersion: "unsupportedVersion"
            case .io: "io"
            case .full: "full"
            case .tooLarge: "tooLarge"
            case .closed: "closed"
            case .unsupported: "unsupported"
            case .unknownSpace: "unknownSpace"
            case .locked: "locked"
            case .invalidMetadata: "invalidMetadata"
            case .invalidFilter: "invalidFilter"
            case .logGap: "logGap"
            case .logDuplicate: "logDuplicate"
            case .logTruncated: "logTruncated"
            default: "code(\(rawValue))"
            }
        }
    }

    /// What went wrong.
    public let code: Code
    /// A human-readable explanation.
    public let message: String
    /// For a rejected batch, the position of the first offending item.
    public let offendingIndex: Int?
    /// For ``Code/invalidMetadata`` and ``Code/invalidFilter``: the field the error is in (for
    /// a filter, the field or logical operator such as `"$and"`), when one is to blame.
    public let field: String?
    /// For ``Code/invalidMetadata`` and ``Code/invalidFilter``: why, in English.
    public let reason: String?
    /// For ``Code/invalidFilter``: the byte offset in the filter's JSON text where the problem
    /// was found.
    public let offset: Int?
    /// For ``Code/invalidMetadata`` and ``Code/invalidFilter``: the C core's status
    /// (``Code/invalidArgument``, ``Code/tooLarge`` for a limit, ``Code/nonFinite``).
    public let status: Code?

    /// Creates an error.
    ///
    /// ```swift
    /// throw MnemoError(.invalidMetadata, "insert \"m1\": name starts with $", field: "$x",
    ///                  reason: "name starts with $", status: .invalidArgument)
    /// ```
    public init(_ code: Code, _ message: String, offendingIndex: Int? = nil, field: String? = nil,
                reason: String? = nil, offset: Int? = nil, status: Code? = nil) {
        self.code = code
        self.message = message
        self.offendingIndex = offendingIndex
        self.field = field
        self.reason = reason
        self.offset = offset
        self.status = status
    }

    /// The code, the message and, for a batch, the offender.
    public var description: String {
        if let offendingIndex {
            return "\(code): \(message) (item \(offendingIndex))"
        }
        return "\(code): \(message)"
    }
}
