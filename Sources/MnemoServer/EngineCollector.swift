// EngineCollector: the engine's figures on the /metrics page, read from the database at scrape
// time and written as Prometheus text: spaces, per-worker queue depth and steals, the log's
// fdatasync latency histogram (the C core's log2 buckets, exact counts, cumulated here), the
// checkpoint age and counters, and bytes per loaded space. Rendering text directly (rather
// than keeping gauges in a registry) means a dropped space's series disappear with it and
// nothing is copied between scrapes. Reading takes no engine lock but the space table's, on a
// blocking thread (Database.loadedSpaceStats), and never loads a lazy space.
import Foundation
import Mnemo

/// Writes the engine's metrics in Prometheus text format.
///
/// ```swift
/// let text = await EngineCollector().render(database)
/// ```
public struct EngineCollector: Sendable {
    /// Default bound on the per-space series of one scrape (the largest spaces by bytes).
    public static let defaultSpaceSeriesLimit = 1000
    /// Most per-space series one scrape lists; totals still cover every loaded space.
    public let spaceSeriesLimit: Int

    /// Creates a collector listing at most `spaceSeriesLimit` spaces per scrape.
    public init(spaceSeriesLimit: Int = EngineCollector.defaultSpaceSeriesLimit) {
        self.spaceSeriesLimit = max(0, spaceSeriesLimit)
    }

    /// The engine's metrics now.
    public func render(_ database: Database, now: Date = Date()) async -> String {
        let stats = await database.stats()
        let spaces = await database.loadedSpaceStats()
        let durability = database.durabilityStats()
        var out = PrometheusText()

        out.family("mnemo_spaces", .gauge, "Spaces in the database, unloaded (lazy) ones included.")
        out.sample("mnemo_spaces", value: stats.spaceCount)
        out.family("mnemo_spaces_loaded", .gauge, "Spaces loaded in memory.")
        out.sample("mnemo_spaces_loaded", value: spaces.count)
        out.family("mnemo_memories", .gauge, "Live memories in the loaded spaces.")
        out.sample("mnemo_memories", value: spaces.reduce(0) { $0 + $1.count })
        out.family("mnemo_space_bytes_total", .gauge, "Bytes held by every loaded space (records and indexes).")
        out.sample("mnemo_space_bytes_total", value: spaces.reduce(0) { $0 + $1.bytes })

        out.family("mnemo_worker_queue_depth", .gauge, "Spaces waiting in a shard worker's run queue.")
        for w in stats.workers { out.sample("mnemo_worker_queue_depth", ["worker": "\(w.index)"], value: w.queueDepth) }
        out.family("mnemo_worker_steals_total", .counter, "Spaces a worker took from another worker's run queue.")
        for w in stats.workers { out.sample("mnemo_worker_steals_total", ["worker": "\(w.index)"], value: w.steals) }
        out.family("mnemo_worker_operations_total", .counter, "Mailbox records a worker applied (a batch counts once).")
        for w in stats.workers { out.sample("mnemo_worker_operations_total", ["worker": "\(w.index)"], value: w.operations) }
        out.family("mnemo_worker_busy_seconds_total", .counter, "Time a worker spent applying records.")
        for w in stats.workers {
            out.sample("mnemo_worker_busy_seconds_total", ["worker": "\(w.index)"], value: Self.seconds(w.busy))
        }

        let listed = spaces.count <= spaceSeriesLimit
            ? spaces : Array(spaces.sorted { $0.bytes > $1.bytes }.prefix(spaceSeriesLimit))
        out.family("mnemo_space_bytes", .gauge, "Bytes held by one loaded space (the largest \(spaceSeriesLimit) are listed).")
        for s in listed { out.sample("mnemo_space_bytes", ["space": s.name], value: s.bytes) }
        out.family("mnemo_space_memories", .gauge, "Live memories of one loaded space.")
        for s in listed { out.sample("mnemo_space_memories", ["space": s.name], value: s.count) }
        out.family("mnemo_space_queue_depth", .gauge, "Writes waiting in one loaded space's mailbox.")
        for s in listed { out.sample("mnemo_space_queue_depth", ["space": s.name], value: s.queueDepth) }

        out.family("mnemo_durable", .gauge, "1 when the database has a data directory (writes are logged).")
        out.sample("mnemo_durable", value: durability.isDurable ? 1 : 0)
        guard durability.isDurable else { return out.text }
        Self.fsyncHistogram(durability, into: &out)
        out.family("mnemo_checkpoints_total", .counter, "Checkpoints completed since the database was opened.")
        out.sample("mnemo_checkpoints_total", value: durability.checkpoints)
        out.family("mnemo_checkpoint_failures_total", .counter, "Checkpoints that failed.")
        out.sample("mnemo_checkpoint_failures_total", value: durability.checkpointFailures)
        out.family("mnemo_checkpoint_age_seconds", .gauge, "Time since the last checkpoint completed (since open when none has).")
        out.sample("mnemo_checkpoint_age_seconds", value: Self.seconds(durability.checkpointAge(now: now) ?? .zero))
        out.family("mnemo_checkpoint_last_duration_seconds", .gauge, "How long the last checkpoint took.")
        out.sample("mnemo_checkpoint_last_duration_seconds", value: Self.seconds(durability.lastCheckpointDuration))
        out.family("mnemo_log_bytes_total", .counter, "Bytes appended to the write-ahead logs since open.")
        out.sample("mnemo_log_bytes_total", value: durability.loggedBytes)
        out.family("mnemo_log_bytes_since_checkpoint", .gauge, "Log bytes written since the last checkpoint began (what a restart replays, about).")
        out.sample("mnemo_log_bytes_since_checkpoint", value: durability.logBytesSinceCheckpoint)
        return out.text
    }

    /// The C core's log2 buckets as a Prometheus histogram: bucket i's bound is 2^(i+1) ns,
    /// counts cumulate, the last bucket is +Inf. Leading empty buckets below 1 µs are folded
    /// into the first bound shown (an fdatasync never takes under a microsecond) to keep the
    /// page short.
    static func fsyncHistogram(_ d: DurabilityStats, into out: inout PrometheusText) {
        let name = "mnemo_log_fsync_seconds"
        out.family(name, .histogram, "Latency of the write-ahead log's fdatasync calls.")
        let firstShown = 9 // bound 2^10 ns, about 1 µs
        var cumulative = 0
        for (i, count) in d.fsyncBuckets.enumerated() {
            cumulative += count
            if i < firstShown || i == d.fsyncBuckets.count - 1 { continue }
            let bound = Double(UInt64(1) << UInt64(i + 1)) / 1e9
            out.sample(name + "_bucket", ["le": Self.format(bound)], value: cumulative)
        }
        out.sample(name + "_bucket", ["le": "+Inf"], value: cumulative)
        out.sample(name + "_sum", value: Self.seconds(d.fsyncTotal))
        out.sample(name + "_count", value: cumulative)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return Double(s) + Double(atto) / 1e18
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}

/// Prometheus text format (0.0.4) under construction.
struct PrometheusText {
    enum Kind: String {
        case gauge, counter, histogram
    }

    private(set) var text = ""

    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String> = [:], value: Int) {
        line(name, labels, String(value))
    }

    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String> = [:], value: Double) {
        line(name, labels, EngineCollector.format(value))
    }

    private mutating func line(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.key)=\"\(Self.escape($0.value))\"" }.joined(separator: ",") + "}"
        }
        text += " " + value + "\n"
    }

    /// A label value's escapes: backslash, double quote and line feed (the format's three).
    static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
