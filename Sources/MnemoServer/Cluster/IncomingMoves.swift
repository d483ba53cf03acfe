// IncomingMoves: the spaces this node holds as the incoming copy of a move (imported with a
// `Mnemo-Move` header), by name, with the move's id. An import for the same move replaces its
// earlier copy (a move resumed after its source failed starts again from the export); an
// import for another move, or over a space that is no incoming copy, is refused (409) and
// never replaces data this node serves. Kept in memory: after this node restarts, a stale
// copy is an ordinary space, which the mover's DELETE (carrying the move id) does not remove
// either; it is left for an operator.
import HTTPTypes
import Synchronization

/// The incoming copies of moves on this node.
public final class IncomingMoves: Sendable {
    /// The request header naming the move an import, log or DELETE request belongs to.
    public static let header = HTTPField.Name("Mnemo-Move")!

    private let moves = Mutex<[String: String]>([:])

    /// None.
    public init() {}

    /// The move whose incoming copy `name` is, if it is one.
    public func move(of name: String) -> String? { moves.withLock { $0[name] } }

    /// Records `name` as the incoming copy of `move`.
    public func record(_ name: String, move: String) { moves.withLock { $0[name] = move } }

    /// Forgets `name` (dropped, or cut over and now served here).
    public func forget(_ name: String) { _ = moves.withLock { $0.removeValue(forKey: name) } }

    /// Imports under way, by name (a move's copy or a primary's snapshot for its replica): the
    /// space exists here before its import returns, and no assignment may name this node yet.
    private let importing = Mutex<[String: Int]>([:])

    /// Runs `body`, an import of `name`, with `name` counted as arriving meanwhile.
    public func arriving<T, E: Error>(_ name: String, _ body: () async throws(E) -> T) async throws(E) -> T {
        importing.withLock { $0[name, default: 0] += 1 }
        defer {
            importing.withLock { importing in
                importing[name, default: 1] -= 1
                if importing[name] == 0 { importing[name] = nil }
            }
        }
        return try await body()
    }

    /// Whether an import of `name` is under way (its space is no stale copy to drop).
    public func isArriving(_ name: String) -> Bool { importing.withLock { $0[name] != nil } }
}
