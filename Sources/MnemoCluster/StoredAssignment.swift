// One space's assignment as stored in etcd: the placement `Assignment` (primary first, then the
// replicas, and the assignment version every write carries), the space's own write quorum when it
// has one (set at creation, carried by every rewrite), plus the key's mod_revision, which the
// next change must compare against. The value is compact JSON, ~50 bytes for three copies, far
// below etcd's 1.5 MiB request limit even in a transaction that moves many spaces.

import Foundation
import MnemoPlacement

/// A space's assignment and the etcd revision it was last written at.
public struct StoredAssignment: Hashable, Sendable {
    /// The space.
    public var space: SpaceID
    /// Its copies and version.
    public var assignment: Assignment
    /// The key's mod_revision (the compare operand of the next update).
    public var modRevision: Int64
    /// The space's write quorum (`one`, `majority`; nil: the cluster's default).
    public var writeQuorum: String?

    /// Creates a stored assignment.
    public init(space: SpaceID, assignment: Assignment, modRevision: Int64, writeQuorum: String? = nil) {
        self.space = space
        self.assignment = assignment
        self.modRevision = modRevision
        self.writeQuorum = writeQuorum
    }

    private struct Wire: Codable {
        var primary: UInt32
        var replicas: [UInt32]
        var version: UInt64
        var quorum: String?
    }

    /// The stored value of an assignment: `{"primary":1,"replicas":[2,3],"version":7}`, with
    /// `"quorum":"one"` when the space has its own write quorum.
    static func encode(_ assignment: Assignment, writeQuorum: String? = nil) -> [UInt8] {
        let wire = Wire(primary: assignment.primary.rawValue,
                        replicas: assignment.replicas.map(\.rawValue), version: assignment.version, quorum: writeQuorum)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(wire)).map { [UInt8]($0) } ?? []
    }

    /// Decodes a stored value; nil when malformed (no copies, too many, or not JSON).
    public static func decode(_ value: [UInt8]) -> Assignment? { decodeWire(value)?.assignment }

    /// The stored assignment of `space` held in `value` at `modRevision`; nil when malformed.
    public static func decode(space: SpaceID, value: [UInt8], modRevision: Int64) -> StoredAssignment? {
        decodeWire(value).map {
            StoredAssignment(space: space, assignment: $0.assignment, modRevision: modRevision, writeQuorum: $0.quorum)
        }
    }

    private static func decodeWire(_ value: [UInt8]) -> (assignment: Assignment, quorum: String?)? {
        guard let wire = try? JSONDecoder().decode(Wire.self, from: Data(value)),
              wire.replicas.count < CopySet.capacity else { return nil }
        let copies = CopySet([NodeID(rawValue: wire.primary)] + wire.replicas.map { NodeID(rawValue: $0) })
        return (Assignment(copies: copies, version: wire.version), wire.quorum)
    }
}
