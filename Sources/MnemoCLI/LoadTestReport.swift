// LoadTestReport: what `mnemo load-test` prints: throughput, per-kind p50/p99/p99.9 and errors by
// status, the HTTP batch ingest rate when it prepared the space, the in-process baseline and
// its ratios when asked for, and the load average before and after (the machine is shared).
import Foundation

/// A load test's results.
struct LoadTestReport: Sendable {
    struct Ingest: Sendable {
        var memories: Int
        var seconds: Double
        var rate: Double { Double(memories) / max(seconds, 1e-9) }
    }

    let clients: Int
    let mix: String
    let space: String
    var ingest: Ingest?
    var http: LoadRunner.Outcome?
    var inProcess: InProcessBaseline.Figures?
    var loadAverageStart: [Double] = []
    var loadAverageEnd: [Double] = []

    /// The 1, 5 and 15 minute load averages (Linux /proc/loadavg; empty elsewhere).
    static func loadAverage() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    private var searchRate: Double? {
        guard let http, let search = http.kinds["search"] else { return nil }
        return Double(search.count) / max(http.seconds, 1e-9)
    }

    /// The report as JSON (keys sorted).
    func json() -> String {
        var root: [String: Any] = ["clients": clients, "mix": mix, "space": space,
                                   "loadAverageStart": loadAverageStart, "loadAverageEnd": loadAverageEnd]
        if let http {
            var kinds: [String: Any] = [:]
            var errors: [String: Int] = [:]
            for (kind, samples) in http.kinds {
                let s = samples.summary()
                kinds[kind] = ["ok": s.count, "p50Ms": s.p50, "p99Ms": s.p99, "p999Ms": s.p999, "meanMs": s.mean,
                               "perSecond": Double(s.count) / max(http.seconds, 1e-9),
                               "errors": Dictionary(uniqueKeysWithValues: samples.errors.map { (Self.statusName($0.key), $0.value) })]
                for (status, n) in samples.errors { errors[Self.statusName(status), default: 0] += n }
            }
            root["seconds"] = http.seconds
            root["requests"] = http.requests
            root["throughput"] = Double(http.requests) / max(http.seconds, 1e-9)
            root["kinds"] = kinds
            root["errors"] = errors
        }
        if let ingest {
            root["httpIngest"] = ["memories": ingest.memories, "seconds": ingest.seconds, "perSecond": ingest.rate]
        }
        if let inProcess {
            let s = inProcess.searches.summary()
            var baseline: [String: Any] = ["ingestPerSecond": inProcess.ingestRate, "searchPerSecond": inProcess.searchRate,
                                           "searchP50Ms": s.p50, "searchP99Ms": s.p99]
            if let rate = searchRate { baseline["searchRatio"] = rate / max(inProcess.searchRate, 1e-9) }
            if let ingest { baseline["ingestRatio"] = ingest.rate / max(inProcess.ingestRate, 1e-9) }
            root["inProcess"] = baseline
        }
        let data = (try? JSONSerialization.data(withJSONObject: root, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// The report as text.
    func text() -> String {
        var lines: [String] = []
        lines.append("load test: \(clients) clients, mix \(mix), space \(space)")
        if let ingest {
            lines.append(String(format: "http batch ingest: %d memories in %.2f s = %.0f memories/s", ingest.memories,
                                ingest.seconds, ingest.rate))
        }
        if let http {
            lines.append(String(format: "%d requests in %.2f s = %.0f requests/s", http.requests, http.seconds,
                                Double(http.requests) / max(http.seconds, 1e-9)))
            lines.append("kind     ok        /s      p50 ms   p99 ms   p99.9 ms  errors")
            for (kind, samples) in http.kinds.sorted(by: { $0.key < $1.key }) {
                let s = samples.summary()
                let errors = samples.errors.sorted { $0.key < $1.key }.map { "\(Self.statusName($0.key)):\($0.value)" }
                lines.append(String(format: "%-8@ %-9d %-7.0f %-8.3f %-8.3f %-9.3f %@", kind, s.count,
                                    Double(s.count) / max(http.seconds, 1e-9), s.p50, s.p99, s.p999,
                                    errors.isEmpty ? "none" : errors.joined(separator: " ")))
            }
        }
        if let inProcess {
            lines.append(String(format: "in process: batch ingest %.0f memories/s, search %.0f/s (p50 %.3f ms)",
                                inProcess.ingestRate, inProcess.searchRate, inProcess.searches.summary().p50))
            if let rate = searchRate {
                lines.append(String(format: "ratio search http/in-process: %.2f", rate / max(inProcess.searchRate, 1e-9)))
            }
            if let ingest {
                lines.append(String(format: "ratio ingest http/in-process: %.2f", ingest.rate / max(inProcess.ingestRate, 1e-9)))
            }
        }
        lines.append("load average: start \(loadAverageStart) end \(loadAverageEnd)")
        return lines.joined(separator: "\n")
    }

    static func statusName(_ status: Int) -> String { status == 0 ? "transport" : String(status) }
}
