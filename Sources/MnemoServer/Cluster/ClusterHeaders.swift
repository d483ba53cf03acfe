// ClusterHeaders: the HTTP headers of cluster routing (docs/cluster.md, "Nodes and routing").
// `Mnemo-Assignment-Version` travels both ways: on a request, the version the sender routed by
// (an owner refuses an older one); on a response, the version the owner served under.
// `Mnemo-Forwarded-By` marks a forwarded request, which is never forwarded again. `Mnemo-Owner`
// names the owner on a WRONG_NODE answer. `Mnemo-Move` marks a space mover's request, which the
// receiving node handles locally although it does not own the space. `Mnemo-Replica` marks the
// primary's replication of a space to one of its replicas (the value: the assignment version the
// primary ships under; the replica refuses any other). `Mnemo-Write-Quorum` (`one` or
// `majority`) overrides the cluster's write quorum for one write. `Mnemo-Primary-Sequence` tells a
// replica the primary's sequence when it sent a replication request, so the replica knows when it
// held everything (ReplicaFreshness); `Mnemo-Max-Staleness: <ms>` lets a read be answered by such
// a replica, which says how stale it may be in `Mnemo-Staleness`.
import HTTPTypes
import Hummingbird

/// The header names cluster routing uses.
public enum ClusterHeaders {
    /// `Mnemo-Assignment-Version`.
    public static let assignmentVersion = HTTPField.Name("Mnemo-Assignment-Version")!
    /// `Mnemo-Forwarded-By`: the forwarding node's id.
    public static let forwardedBy = HTTPField.Name("Mnemo-Forwarded-By")!
    /// `Mnemo-Owner`: the owner's `host:port` on a WRONG_NODE answer.
    public static let owner = HTTPField.Name("Mnemo-Owner")!
    /// `Mnemo-Move`: the id of the move a request belongs to.
    public static let move = HTTPField.Name("Mnemo-Move")!
    /// `Mnemo-Replica`: the assignment version a primary replicates under.
    public static let replica = HTTPField.Name("Mnemo-Replica")!
    /// `Mnemo-Write-Quorum`: `one` or `majority`, for this write only.
    public static let writeQuorum = HTTPField.Name("Mnemo-Write-Quorum")!
    /// `Mnemo-Primary-Sequence`: the primary's log sequence when it sent a replication request.
    public static let primarySequence = HTTPField.Name("Mnemo-Primary-Sequence")!
    /// `Mnemo-Max-Staleness`: milliseconds of staleness a read accepts (a replica may answer).
    public static let maxStaleness = HTTPField.Name("Mnemo-Max-Staleness")!
    /// `Mnemo-Staleness`: on a read a replica answered, at most how many milliseconds behind it was.
    public static let staleness = HTTPField.Name("Mnemo-Staleness")!
}
