// One planned space move as stored in etcd under `<root>/moves/<space id>`: the controller writes
// it (fenced by its leadership), the node `from` executes it (export + log tail to `to`), and
// `MoveStore.complete` cuts it over and deletes it in one transaction. At most one move exists per
// space, because the key is the space.
//
// The value is compact JSON of ~200 bytes:
//   {"attempts":0,"bytes":123,"error":"","from":1,"id":"<uuid>","priority":"low","rate":10485760,
//    "space":"00000000000000ab","state":"pending","to":4,"version":7}
// `version` is the assignment version the move was planned against: the cut-over refuses to run
// against any other. `rate` is the bytes per second the mover may send (the priority's rate shared
// by that priority's moves in flight). `space` repeats the key's id so the same JSON can travel on
// its own (e.g. in `GET /v1/cluster`); when read from etcd the key wins.

import Foundation
import MnemoPlacement

/// A planned move of one space from one node to another.
///
/// ```swift
/// let record = MoveRecord(space: SpaceID(name: "team"), from: 1, to: 4, priority: .low,
///                         bytes: 1 << 20, rate: 10_000_000, version: 7)
/// let value = record.encoded()       // the JSON stored at keys.move(record.space)
/// ```
public struct MoveRecord: Codable, Hashable, Sendable {
    /// Where a move stands.
    public enum State: String, Codable, Hashable, Sendable {
        /// Written by the controller; the source node runs it.
        case pending
        /// The source node gave up on the last attempt (``MoveRecord/error`` says why); the
        /// controller retries it with backoff, or leaves it failed after too many attempts.
        case failed
    }

    /// A unique id of this move (a UUID); the target keys its incoming copy by it.
    public var id: String
    /// The space moved.
    public var space: SpaceID
    /// The node that holds the space now and sends it.
    public var from: NodeID
    /// The node that receives it and becomes its primary.
    public var to: NodeID
    /// The planner's urgency.
    public var priority: Move.Priority
    /// The bytes the planner expects to move (the space's size).
    public var bytes: UInt64
    /// The bytes per second the mover may send.
    public var rate: UInt64
    /// The assignment version the move was planned against.
    public var version: UInt64
    /// Pending or failed.
    public var state: State
    /// How many attempts have failed (``MoveStore/fail(_:moveRevision:error:)`` counts them).
    public var attempts: Int
    /// The last failure's message (empty when none).
    public var error: String

    /// Creates a record (a fresh UUID as id unless given).
    public init(id: String = UUID().uuidString.lowercased(), space: SpaceID, from: NodeID, to: NodeID,
                priority: Move.Priority, bytes: UInt64, rate: UInt64, version: UInt64,
                state: State = .pending, attempts: Int = 0, error: String = "") {
        self.id = id
        self.space = space
        self.from = from
        self.to = to
        self.priority = priority
        self.bytes = bytes
        self.rate = rate
        self.version = version
        self.state = state
        self.attempts = attempts
        self.error = error
    }

    private enum CodingKeys: String, CodingKey {
        case id, space, from, to, priority, bytes, rate, version, state, attempts, error
    }

    /// Decodes the JSON form (`space` as 16 hex digits, `priority` by name).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        let hex = try c.decode(String.self, forKey: .space)
        guard let space = ClusterKeys.space(hex: hex) else {
            throw DecodingError.dataCorruptedError(forKey: .space, in: c, debugDescription: "not a space id")
        }
        self.space = space
        from = NodeID(rawValue: try c.decode(UInt32.self, forKey: .from))
        to = NodeID(rawValue: try c.decode(UInt32.self, forKey: .to))
        let name = try c.decode(String.self, forKey: .priority)
        guard let priority = Move.Priority.allCases.first(where: { $0.description == name }) else {
            throw DecodingError.dataCorruptedError(forKey: .priority, in: c, debugDescription: "unknown priority")
        }
        self.priority = priority
        bytes = try c.decode(UInt64.self, forKey: .bytes)
        rate = try c.decode(UInt64.self, forKey: .rate)
        version = try c.decode(UInt64.self, forKey: .version)
        state = try c.decode(State.self, forKey: .state)
        attempts = try c.decodeIfPresent(Int.self, forKey: .attempts) ?? 0
        error = try c.decodeIfPresent(String.self, forKey: .error) ?? ""
    }

    /// Encodes the JSON form.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(ClusterKeys.hex(space), forKey: .space)
        try c.encode(from.rawValue, forKey: .from)
        try c.encode(to.rawValue, forKey: .to)
        try c.encode(priority.description, forKey: .priority)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(rate, forKey: .rate)
        try c.encode(version, forKey: .version)
        try c.encode(state, forKey: .state)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(error, forKey: .error)
    }

    /// The stored value: compact JSON with sorted keys.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Plain fields cannot fail to encode; an empty value would read back as malformed.
        return (try? encoder.encode(self)).map { [UInt8]($0) } ?? []
    }

    /// Decodes a stored value of the key of `space`; nil when malformed or when it names another
    /// space, or a move from a node to itself.
    public static func decoded(space: SpaceID, from value: [UInt8]) -> MoveRecord? {
        guard let record = try? JSONDecoder().decode(MoveRecord.self, from: Data(value)),
              record.space == space, record.from != record.to, record.attempts >= 0 else { return nil }
        return record
    }
}
