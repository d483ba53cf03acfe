// SpaceChecksum: a digest of a space copy's memories that two copies agree on exactly when they
// hold the same memories, whatever order their storage keeps them in: the wrapping sum of one
// XXH64 per memory over its id, vector bits, content, creation time and metadata (fields in name
// order). Associations are not covered. Taken between two reads of the copy's log sequence that
// agree (a write landing meanwhile restarts it, three times at most), so the digest belongs to
// that sequence: replicas are compared at equal sequences (the background check, the fault
// benchmark's convergence check).
import Foundation
import Mnemo
import MnemoPlacement

/// A copy's log sequence and the digest of its memories at that sequence.
struct SpaceChecksum: Sendable, Hashable, Codable {
    /// The copy's log sequence.
    var sequence: UInt64
    /// The digest of its memories (see the file comment).
    var checksum: UInt64

    /// Memories per page read.
    static let pageLimit = 1000
    /// Tries before giving up on a copy that keeps being written.
    static let attempts = 3

    /// The checksum of `space` at one sequence; nil while writes keep landing.
    static func of(_ space: Space) async throws(MnemoError) -> SpaceChecksum? {
        for _ in 0..<attempts {
            let before = try await space.logSequence()
            var sum: UInt64 = 0
            var cursor: MemoryPage.Cursor?
            repeat {
                let page = try await space.list(cursor: cursor, limit: pageLimit)
                for memory in page.memories { sum &+= digest(memory) }
                cursor = page.nextCursor
            } while cursor != nil
            if try await space.logSequence() == before { return SpaceChecksum(sequence: before, checksum: sum) }
        }
        return nil
    }

    /// One memory's XXH64.
    static func digest(_ memory: Memory) -> UInt64 {
        var bytes = Array(memory.id.utf8)
        bytes.append(0)
        for value in memory.vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.append(contentsOf: memory.content)
        let millis = memory.createdAt.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? 0
        withUnsafeBytes(of: millis.littleEndian) { bytes.append(contentsOf: $0) }
        for name in memory.metadata.fields.keys.sorted() {
            bytes.append(contentsOf: Array(name.utf8))
            bytes.append(0)
            bytes.append(contentsOf: Array("\(memory.metadata.fields[name].map { "\($0)" } ?? "")".utf8))
            bytes.append(0)
        }
        return XXHash64.hash(bytes)
    }
}
