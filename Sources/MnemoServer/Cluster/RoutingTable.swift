// RoutingTable: what a node routes by. The assignment table (each space's primary and version, as
// AssignmentStore.follow keeps it) and the member list (each node's address and state), both behind
// one mutex: a lookup copies out one small value.
//
// Why not a placement Directory: routing needs each space's own assignment version (the version a
// request is checked against) and the key's mod_revision (the compare of a delete), while a
// Directory carries one version for the whole table. (The node once also rebuilt a Directory on
// every watch batch, its perfect hash over every space: 80% of a node's CPU while 10,000 spaces
// were being created, for a value nothing read.)
//
// Single-key re-reads (a request that knows a newer version, a forwarder told WRONG_NODE) install
// an override read at revision R; a snapshot from the watch replaces it once the snapshot has
// reached R, so a slower watch never rolls a fresher answer back.
import MnemoCluster
import MnemoPlacement
import Synchronization

/// The assignments and members a node routes by. Thread-safe.
final class RoutingTable: Sendable {
    private struct State {
        var assignments = AssignmentSnapshot()
        /// Fresher single-key reads (nil: the key was absent) and the revision they were read at.
        var overrides: [SpaceID: (entry: StoredAssignment?, revision: Int64)] = [:]
        var members = MembershipSnapshot(members: [:], revision: 0)
    }

    private let state = Mutex(State())

    /// The space's assignment as last seen (nil: none).
    func lookup(_ space: SpaceID) -> StoredAssignment? {
        state.withLock { state in
            if let override = state.overrides[space] { return override.entry }
            return state.assignments.entries[space]
        }
    }

    /// Every assignment (overrides applied).
    var assignments: [SpaceID: StoredAssignment] {
        state.withLock { state in
            var entries = state.assignments.entries
            for (space, override) in state.overrides { entries[space] = override.entry }
            return entries
        }
    }

    /// The revision of the followed assignment snapshot.
    var revision: Int64 { state.withLock { $0.assignments.revision } }

    /// Installs a snapshot of the whole table (from the watch, or a fresh read), unless the table
    /// holds a newer one already.
    func replace(_ snapshot: AssignmentSnapshot) {
        state.withLock { state in
            if snapshot.revision < state.assignments.revision { return }
            state.assignments = snapshot
            state.overrides = state.overrides.filter { $0.value.revision > snapshot.revision }
        }
    }

    /// Installs one key read at `revision` (nil: absent), unless the table already knows better.
    func install(_ space: SpaceID, _ entry: StoredAssignment?, readAt revision: Int64) {
        state.withLock { state in
            if state.assignments.revision > revision { return }
            if let existing = state.overrides[space], existing.revision >= revision { return }
            state.overrides[space] = (entry, revision)
        }
    }

    /// Replaces one entry outright (tests simulate a stale snapshot with it).
    func force(_ space: SpaceID, _ entry: StoredAssignment?) {
        state.withLock { state in
            state.overrides[space] = nil
            state.assignments.entries[space] = entry
        }
    }

    /// The member list.
    var members: MembershipSnapshot { state.withLock { $0.members } }

    /// Installs a member list.
    func replaceMembers(_ members: MembershipSnapshot) {
        state.withLock { $0.members = members }
    }

    /// Applies one member change.
    func apply(_ change: ClusterMembership.Change, revision: Int64) {
        state.withLock { $0.members.apply(change, revision: revision) }
    }

    /// A member's address, nil when it is not registered.
    func address(of node: NodeID) -> String? {
        state.withLock { $0.members.members[node]?.address }
    }
}
