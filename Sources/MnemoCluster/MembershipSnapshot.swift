// The member list at one revision, kept current by applying watch changes, and turned into the
// planner's Membership when the controller plans.

import MnemoPlacement

/// The members at one revision.
public struct MembershipSnapshot: Hashable, Sendable {
    /// The registered members by node id.
    public var members: [NodeID: MemberRecord]
    /// The revision the list was read at (watch from revision + 1).
    public var revision: Int64

    /// Creates a snapshot.
    public init(members: [NodeID: MemberRecord], revision: Int64) {
        self.members = members
        self.revision = revision
    }

    /// Applies one change.
    public mutating func apply(_ change: ClusterMembership.Change, revision: Int64) {
        switch change {
        case .updated(let record): members[record.node] = record
        case .removed(let node): members[node] = nil
        }
        self.revision = max(self.revision, revision)
    }

    /// The planner's view of these members (registered ones only: a missing node is dead).
    public func placementMembership() throws(PlacementError) -> Membership {
        try Membership(members.values.sorted { $0.node < $1.node }.map(\.placementMember))
    }
}
