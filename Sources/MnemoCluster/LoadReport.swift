// What a node reports about its own load, every couple of seconds, under `<root>/load/<node>` on
// its member lease (so a dead node's report goes with it). The controller turns the reports into
// the planner's Workload. Only the node's busiest spaces are listed one by one (at most
// `maxSpaces`, which keeps a report under ~25 KB, far below etcd's request limit); the rest of its
// bytes and operations are known only as totals, which the controller spreads evenly over the
// node's unlisted spaces.
//
//   {"bytes":B,"ops":O,"perSpace":{"00000000000000ab":{"bytes":B,"ops":O}},"seconds":S,"spaces":N}
//
// `ops` counts writes and reads since the node's previous report, `seconds` later (a busy node
// reports late; without `seconds`, the controller assumes its configured reporting period).

import Foundation
import MnemoPlacement

/// One node's load report.
///
/// ```swift
/// let report = LoadReport(spaces: 3, bytes: 3 << 20, ops: 120,
///                         perSpace: [SpaceID(name: "team"): .init(bytes: 1 << 20, ops: 100)])
/// try await LoadStore(client: etcd, keys: keys).put(report, node: 1, lease: lease)
/// ```
public struct LoadReport: Codable, Hashable, Sendable {
    /// The most spaces listed one by one (the busiest ones).
    public static let maxSpaces = 256

    /// One space's load.
    public struct SpaceLoad: Codable, Hashable, Sendable {
        /// Bytes the space takes on the node.
        public var bytes: UInt64
        /// Writes and reads since the previous report.
        public var ops: UInt64

        /// Creates a space's load.
        public init(bytes: UInt64, ops: UInt64) {
            self.bytes = bytes
            self.ops = ops
        }
    }

    /// Spaces the node holds.
    public var spaces: Int
    /// Bytes of all its spaces.
    public var bytes: UInt64
    /// Writes and reads since the previous report, all spaces.
    public var ops: UInt64
    /// The busiest spaces (at most ``maxSpaces``).
    public private(set) var perSpace: [SpaceID: SpaceLoad]
    /// The seconds the operation counts cover (nil: not said; the reporting period is assumed).
    public var seconds: Double?

    /// Creates a report; `perSpace` is cut to the ``maxSpaces`` busiest (most ops, then most
    /// bytes, then lowest id).
    public init(spaces: Int, bytes: UInt64, ops: UInt64, perSpace: [SpaceID: SpaceLoad] = [:],
                seconds: Double? = nil) {
        self.spaces = spaces
        self.bytes = bytes
        self.ops = ops
        self.perSpace = Self.busiest(perSpace)
        self.seconds = seconds
    }

    static func busiest(_ all: [SpaceID: SpaceLoad]) -> [SpaceID: SpaceLoad] {
        if all.count <= maxSpaces { return all }
        let kept = all.sorted {
            $0.value.ops != $1.value.ops ? $0.value.ops > $1.value.ops
                : $0.value.bytes != $1.value.bytes ? $0.value.bytes > $1.value.bytes : $0.key < $1.key
        }.prefix(maxSpaces)
        return Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
    }

    private enum CodingKeys: String, CodingKey {
        case spaces, bytes, ops, perSpace, seconds
    }

    /// Decodes the JSON form (space ids as 16 hex digits; unreadable ids are an error).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        spaces = try c.decode(Int.self, forKey: .spaces)
        bytes = try c.decode(UInt64.self, forKey: .bytes)
        ops = try c.decode(UInt64.self, forKey: .ops)
        seconds = try c.decodeIfPresent(Double.self, forKey: .seconds)
        let raw = try c.decodeIfPresent([String: SpaceLoad].self, forKey: .perSpace) ?? [:]
        var perSpace: [SpaceID: SpaceLoad] = [:]
        for (hex, load) in raw {
            guard let space = ClusterKeys.space(hex: hex) else {
                throw DecodingError.dataCorruptedError(forKey: .perSpace, in: c, debugDescription: "bad space id \(hex)")
            }
            perSpace[space] = load
        }
        guard spaces >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .spaces, in: c, debugDescription: "negative")
        }
        if let seconds, !(seconds > 0 && seconds.isFinite) {
            throw DecodingError.dataCorruptedError(forKey: .seconds, in: c, debugDescription: "not a positive duration")
        }
        self.perSpace = Self.busiest(perSpace)
    }

    /// Encodes the JSON form.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(spaces, forKey: .spaces)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(ops, forKey: .ops)
        try c.encode(Dictionary(uniqueKeysWithValues: perSpace.map { (ClusterKeys.hex($0.key), $0.value) }),
                     forKey: .perSpace)
        try c.encodeIfPresent(seconds, forKey: .seconds)
    }

    /// The stored value: compact JSON with sorted keys.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { [UInt8]($0) } ?? []
    }

    /// Decodes a stored value; nil when malformed.
    public static func decoded(from value: [UInt8]) -> LoadReport? {
        try? JSONDecoder().decode(LoadReport.self, from: Data(value))
    }
}
