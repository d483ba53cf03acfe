// Proves the /metrics page: after a few requests it holds the request counter of each route
// pattern (not the raw path) with method and status, a latency histogram, and the engine's
// figures read at scrape time (spaces, per-worker queue depth and steals, bytes per space; for
// a durable database the log fsync histogram with a non-zero count and the checkpoint age);
// unmatched paths share one label; space names with quotes, backslashes and line feeds are
// escaped; every line of the page is a comment or `name{labels} value` that parses; and in the
// real server (MnemoHTTPServer) the page counts /v1 routes by pattern, and needs a credential
// with database-wide read access unless --dev.
import Foundation
import Hummingbird
import HummingbirdTesting
import Mnemo
import MnemoServer
import Testing

@Suite struct MetricsEndpointTests {
    /// One sample line of the text format.
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Parses a whole page; records a test failure for any line that is neither a comment nor a
    /// sample, and returns the samples.
    static func parse(_ page: String) -> [Sample] {
        var samples: [Sample] = []
        for line in page.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let sample = parseLine(String(line)) else {
                Issue.record("not a sample line: \(line)")
                continue
            }
            samples.append(sample)
        }
        return samples
    }

    static func parseLine(_ line: String) -> Sample? {
        var chars = Array(line)[...]
        var name = ""
        while let c = chars.first, c.isLetter || c.isNumber || c == "_" || c == ":" {
            name.append(c)
            chars = chars.dropFirst()
        }
        guard let first = name.first, !first.isNumber else { return nil }
        var labels: [String: String] = [:]
        if chars.first == "{" {
            chars = chars.dropFirst()
            while chars.first != "}" {
                var key = ""
                while let c = chars.first, c != "=" {
                    guard c.isLetter || c.isNumber || c == "_" else { return nil }
                    key.append(c)
                    chars = chars.dropFirst()
                }
                guard !key.isEmpty, chars.dropFirst().first == "\"" else { return nil }
                chars = chars.dropFirst(2)
                var value = ""
                while true {
                    guard let c = chars.first else { return nil }
                    chars = chars.dropFirst()
                    if c == "\"" { break }
                    if c == "\\" {
                        guard let escaped = chars.first else { return nil }
                        chars = chars.dropFirst()
                        switch escaped {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: return nil
                        }
                    } else {
                        value.append(c)
                    }
                }
                labels[key] = value
                if chars.first == "," { chars = chars.dropFirst() }
                guard chars.first != nil else { return nil }
            }
            chars = chars.dropFirst()
        }
        guard chars.first == " " else { return nil }
        let text = String(chars.dropFirst())
        let value: Double?
        switch text {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default: value = Double(text)
        }
        guard let value else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }

    static func router(metrics: ServerMetrics, database: Database?) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.get("/v1/ping") { _, _ in "pong" }
        router.get("/v1/things/:thing") { _, context -> String in
            if context.parameters.get("thing") == "missing" { throw HTTPError(.notFound) }
            return "thing"
        }
        MetricsEndpoint(metrics: metrics) { database }.register(on: router)
        return router
    }

    static func scrape(_ client: some TestClientProtocol) async throws -> (String, [Sample]) {
        try await client.execute(uri: "/metrics", method: .get) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == MetricsEndpoint.contentType)
            let page = String(buffer: response.body)
            return (page, parse(page))
        }
    }

    @Test func requestCountersAndEngineGauges() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let notes = try await database.createSpace("notes", dimension: 4, metric: .l2)
        try await notes.insert(Memory(id: "a", vector: [1, 2, 3, 4], text: "a"))
        _ = try await database.createSpace("we\"ird\\name\nhere", dimension: 4, metric: .l2)
        let metrics = ServerMetrics()
        let app = Application(router: Self.router(metrics: metrics, database: database))
        try await app.test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/ping", method: .get) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/v1/things/one", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/things/two", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/things/missing", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/nowhere/\(UUID())", method: .get) { #expect($0.status == .notFound) }
            let (page, samples) = try await Self.scrape(client)
            func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
                samples.first { s in s.name == name && labels.allSatisfy { key, v in s.labels[key] == v } }?.value
            }
            #expect(value(ServerMetrics.requestCounterName, ["route": "/v1/ping", "method": "GET", "status": "200"]) == 3)
            // The route pattern, not the path: both things in one series, the 404 in its own.
            #expect(value(ServerMetrics.requestCounterName, ["route": "/v1/things/{thing}", "status": "200"]) == 2)
            #expect(value(ServerMetrics.requestCounterName, ["route": "/v1/things/{thing}", "status": "404"]) == 1)
            #expect(value(ServerMetrics.requestCounterName,
                          ["route": RequestMetricsMiddleware<BasicRequestContext>.unmatchedRoute, "status": "404"]) == 1)
            #expect(!page.contains("/nowhere/"))
            #expect(value(ServerMetrics.requestLatencyName + "_count", ["route": "/v1/ping", "status": "200"]) == 3)
            #expect(value(ServerMetrics.requestLatencyName + "_bucket", ["route": "/v1/ping", "le": "+Inf"]) == 3)
            #expect(value("mnemo_spaces") == 2)
            #expect(value("mnemo_spaces_loaded") == 2)
            #expect(value("mnemo_memories") == 1)
            #expect(value("mnemo_worker_queue_depth", ["worker": "0"]) != nil)
            #expect(value("mnemo_worker_queue_depth", ["worker": "1"]) != nil)
            #expect(value("mnemo_worker_steals_total", ["worker": "1"]) != nil)
            #expect((value("mnemo_space_bytes", ["space": "notes"]) ?? 0) > 0)
            #expect(value("mnemo_space_memories", ["space": "notes"]) == 1)
            #expect(value("mnemo_space_bytes", ["space": "we\"ird\\name\nhere"]) != nil)
            #expect(value("mnemo_durable") == 0)
            #expect(value("mnemo_log_fsync_seconds_count") == nil)
            #expect(value("mnemo_checkpoint_age_seconds") == nil)
        }
        await database.close()
    }

    @Test func durableDatabaseShowsFsyncAndCheckpoints() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-metrics-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let database = try await Database(path: path, options: DatabaseOptions(workers: 1))
        let notes = try await database.createSpace("notes", dimension: 4, metric: .l2)
        for i in 0..<5 { try await notes.insert(Memory(id: "m\(i)", vector: [1, 2, 3, Float(i)], text: "m")) }
        try await database.checkpoint()
        let metrics = ServerMetrics()
        let app = Application(router: Self.router(metrics: metrics, database: database))
        try await app.test(.router) { client in
            let (_, samples) = try await Self.scrape(client)
            func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
                samples.first { s in s.name == name && labels.allSatisfy { key, v in s.labels[key] == v } }?.value
            }
            #expect(value("mnemo_durable") == 1)
            let count = try #require(value("mnemo_log_fsync_seconds_count"))
            #expect(count >= 5)
            #expect(value("mnemo_log_fsync_seconds_bucket", ["le": "+Inf"]) == count)
            #expect((value("mnemo_log_fsync_seconds_sum") ?? 0) > 0)
            // Cumulative buckets never decrease.
            let buckets = samples.filter { $0.name == "mnemo_log_fsync_seconds_bucket" }.map(\.value)
            #expect(buckets == buckets.sorted())
            #expect(value("mnemo_checkpoints_total") == 1)
            let age = try #require(value("mnemo_checkpoint_age_seconds"))
            #expect(age >= 0 && age < 3600)
            #expect(value("mnemo_log_bytes_since_checkpoint") == 0)
        }
        await database.close()
    }

    @Test func engineFiguresAreAbsentWithoutADatabase() async throws {
        let metrics = ServerMetrics()
        let app = Application(router: Self.router(metrics: metrics, database: nil))
        try await app.test(.router) { client in
            let (page, samples) = try await Self.scrape(client)
            #expect(!page.contains("mnemo_spaces"))
            #expect(samples.allSatisfy { !$0.name.hasPrefix("mnemo_worker") })
        }
    }

    @Test func spaceSeriesAreBounded() async throws {
        let database = try Database(options: DatabaseOptions(workers: 1))
        for i in 0..<5 {
            let space = try await database.createSpace("s\(i)", dimension: 2, metric: .l2)
            for j in 0...i { try await space.insert(Memory(id: "m\(j)", vector: [1, Float(j)], text: String(repeating: "x", count: 100))) }
        }
        let text = await EngineCollector(spaceSeriesLimit: 2).render(database)
        let samples = Self.parse(text)
        let listed = samples.filter { $0.name == "mnemo_space_bytes" }.compactMap { $0.labels["space"] }
        #expect(Set(listed) == ["s4", "s3"])
        #expect(samples.first { $0.name == "mnemo_spaces_loaded" }?.value == 5)
        await database.close()
    }

    @Test func realServerCountsRoutesByPattern() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("tenant/notes", dimension: 2, metric: "l2")
            let path = "/v1/spaces/" + ServerHarness.path("tenant/notes")
            let put = try await server.call(.put, path + "/memories/m1", json: ["vector": [1, 0], "text": "a"])
            #expect(put.status == .created, "\(put.status) \(put.json) \(path)")
            for _ in 0..<2 {
                #expect(try await server.call(.post, path + "/search", json: ["vector": [1, 0], "k": 1]).status == .ok)
            }
            #expect(try await server.call(.post, path + "/search", json: ["vector": [1], "k": 1]).status == .badRequest)
            let page = String(decoding: try await server.call(.get, "/metrics").body, as: UTF8.self)
            let samples = Self.parse(page)
            func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
                samples.first { s in s.name == name && labels.allSatisfy { key, v in s.labels[key] == v } }?.value
            }
            let search = "/v1/spaces/{space}/search"
            #expect(value(ServerMetrics.requestCounterName, ["route": search, "method": "POST", "status": "200"]) == 2)
            #expect(value(ServerMetrics.requestCounterName, ["route": search, "method": "POST", "status": "400"]) == 1)
            #expect(value(ServerMetrics.requestCounterName, ["route": "/v1/spaces/{space}/memories/{id}", "method": "PUT"]) == 1)
            #expect(value("mnemo_space_memories", ["space": "tenant/notes"]) == 1)
            #expect(value("mnemo_spaces") == 1)
        }
    }

    @Test func metricsNeedADatabaseWideCredential() async throws {
        let admin = AuthFixtures.adminKeyText
        try await ServerHarness.run(configure: {
            $0.dev = false
            $0.adminKey = admin
        }) { server in
            #expect(try await server.call(.get, "/metrics").status == .unauthorized)
            #expect(try await server.call(.get, "/metrics", headers: [.authorization: "Bearer wrong"]).status == .unauthorized)
            let ok = try await server.call(.get, "/metrics", headers: [.authorization: "Bearer \(admin)"])
            #expect(ok.status == .ok)
            #expect(String(decoding: ok.body, as: UTF8.self).contains("mnemo_spaces"))
        }
    }
}
