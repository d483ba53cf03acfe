import ArgumentParser
import Foundation
import Mnemo

/// `mnemo engine-bench`: measures the space engine through the public Swift API.
///
/// Four benches, figures only (it never fails on speed):
/// - `batch`: per-memory insert time for awaited batches of 1, 100 and 500;
/// - `scaling`: inserts/s for 1, 16 and 1,000 spaces under each worker count, beside a
///   baseline of one shared `HNSWIndex` behind a lock fed by the same producer tasks;
/// - `skew`: 1,000 spaces under Zipf(1.1) and uniform traffic, stealing off and on, for fresh
///   inserts and for upserts into equally pre-filled spaces (equal cost per operation);
/// - `mixed`: searches/s on one space alone and while its worker inserts.
struct EngineBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine-bench",
        abstract: "Measure the space engine: batch vs single inserts, worker scaling, skew with stealing, and reads under writes.",
        discussion: """
            Prints a table, or with --json one JSON object per line with a `bench` field \
            (batch, scaling, skew or mixed). The C microbenchmark bench/c/bench_engine.c \
            prints the same figures without Swift's overheads.
            """
    )

    @Flag(help: "Print one JSON object per line instead of tables.") var json = false
    @Flag(help: "Tiny sizes, to check that every bench runs.") var smoke = false
    @Option(help: "Comma-separated worker counts for the scaling bench (the first is the speedup base).")
    var workers: String = "1,2"
    @Option(help: "Inserts per scaling and skew run.") var inserts: Int = 20000
    @Option(help: "Vector dimension.") var dimension: Int = 128
    @Option(help: "Concurrent producer tasks, each awaiting its own inserts.") var producers: Int = 64
    @Option(help: "Run only this bench: batch, scaling, skew or mixed.") var only: String?
    @Option(help: "Seconds per skew row.") var seconds: Double = 5
    @Option(name: .customLong("repeat"), help: "Runs of every skew and batch row; the tables print medians.")
    var repetitions: Int = 5

    func run() async throws {
        let workerCounts = workers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !workerCounts.isEmpty, workerCounts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--workers needs positive integers")
        }
        guard dimension > 0, inserts > 0, producers > 0, repetitions > 0, seconds > 0 else {
            throw ValidationError("--dimension, --inserts, --producers, --repeat and --seconds must be positive")
        }
        if let only, !["batch", "scaling", "skew", "mixed"].contains(only) {
            throw ValidationError("--only must be batch, scaling, skew or mixed")
        }
        let bench = EngineBench(json: json, smoke: smoke, workerCounts: workerCounts,
                                inserts: smoke ? 2000 : inserts, dimension: smoke ? 16 : dimension,
                                producers: producers, repetitions: smoke ? 1 : repetitions,
                                rowDuration: .milliseconds(Int((smoke ? 0.2 : seconds) * 1000)))
        if only == nil || only == "batch" { try await bench.batch() }
        if only == nil || only == "scaling" { try await bench.scaling() }
        if only == nil || only == "skew" { try await bench.skew() }
        if only == nil || only == "mixed" { try await bench.mixed() }
    }
}

/// The benches themselves; every figure goes through `Database`/`Space`.
private struct EngineBench: Sendable {
    let json: Bool
    let smoke: Bool
    let workerCounts: [Int]
    let inserts: Int
    let dimension: Int
    let producers: Int
    let repetitions: Int
    let rowDuration: Duration
    let clock = ContinuousClock()
    static let parameters = HNSWIndex.Parameters(m: 16, efConstruction: 100)

    // MARK: output

    func row(_ fields: [(String, Any)]) {
        let body = fields.map { key, value -> String in
            switch value {
            case let text as String: "\"\(key)\":\"\(text)\""
            case let flag as Bool: "\"\(key)\":\(flag)"
            case let number as Double: "\"\(key)\":\(String(format: "%.3f", number))"
            default: "\"\(key)\":\(value)"
            }
        }
        print("{" + body.joined(separator: ",") + "}")
    }

    func table(_ cells: [String], widths: [Int]) {
        print("  " + zip(cells, widths).map { cell, width in
            String(repeating: " ", count: max(0, width - cell.count)) + cell
        }.joined(separator: " "))
    }

    func f(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

    /// The workers' total busy time, for utilisation = busy / (wall x workers).
    func busy(_ database: Database) async -> Double {
        await database.stats().workers.reduce(0) { $0 + seconds($1.busy) }
    }

    func seconds(_ duration: Duration) -> Double {
        let (whole, fraction) = duration.components
        return Double(whole) + Double(fraction) * 1e-18
    }

    // MARK: data

    static func vectors(_ count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<count).map { _ in
            (0..<dimension).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float((state >> 40) & 0xFFFF) / 65536 - 0.5
            }
        }
    }

    /// `count` space indices drawn from Zipf(s) over `spaces` ranks, ranks shuffled.
    static func zipf(_ count: Int, spaces: Int, s: Double, seed: UInt64) -> [Int] {
        var generator = SplitMix(state: seed)
        var cdf = [Double](repeating: 0, count: spaces)
        var total = 0.0
        for k in 0..<spaces {
            total += 1 / pow(Double(k + 1), s)
            cdf[k] = total
        }
        var permutation = Array(0..<spaces)
        permutation.shuffle(using: &generator)
        return (0..<count).map { _ in
            let u = Double.random(in: 0..<total, using: &generator)
            var lo = 0, hi = spaces - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
            }
            return permutation[lo]
        }
    }

    func makeSpaces(_ database: Database, count: Int) async throws -> [Space] {
        var spaces: [Space] = []
        spaces.reserveCapacity(count)
        for s in 0..<count {
            spaces.append(try await database.createSpace("space-\(s)", dimension: dimension, metric: .l2,
                                                         parameters: Self.parameters))
        }
        return spaces
    }

    /// Runs writes from `producers` tasks: task t does operations t, t + producers, ... of
    /// `targets`, once, or cycling through them until `duration` has passed (an insert's id is
    /// then m<k> for the k-th operation, fresh each cycle). Returns writes per second from the
    /// first submission to the last completion, and how many were made.
    func load(_ spaces: [Space], targets: [Int], vectors: [[Float]], keys: [Int]? = nil,
              for duration: Duration? = nil) async throws -> (rate: Double, count: Int) {
        let count = targets.count
        let producers = self.producers
        let start = clock.now
        let deadline = duration.map { start + $0 }
        let made = try await withThrowingTaskGroup(of: Int.self) { group in
            for t in 0..<min(producers, count) {
                group.addTask {
                    var k = t, done = 0
                    while deadline.map({ ContinuousClock.now < $0 }) ?? (k < count) {
                        let i = k % count
                        let space = spaces[targets[i]]
                        if let keys {
                            try await space.upsert(Memory(id: "m\(keys[i])", vector: vectors[i]))
                        } else {
                            try await space.insert(Memory(id: "m\(k)", vector: vectors[i]))
                        }
                        k += producers
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        return (Double(made) / seconds(clock.now - start), made)
    }

    /// The median of some values.
    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    // MARK: benches

    /// Batch vs single through the Swift API, with 1 worker (round trips saved alone) and with
    /// one worker per CPU (batches are then also linked by the idle worker), `repetitions`
    /// times (interleaved): medians, and the lowest speedup of any run.
    func batch() async throws {
        let total = smoke ? 500 : 5000
        let sizes = [1, 100, 500]
        let vectors = Self.vectors(total, dimension: dimension, seed: 3)
        let memories = (0..<total).map { Memory(id: "m\($0)", vector: vectors[$0]) }
        let workerRows = Set([1, workerCounts.max() ?? 1]).sorted()
        var perItem: [String: [Double]] = [:] // "workers size": µs per memory, one per run
        for _ in 0..<repetitions {
            for workers in workerRows {
                for size in sizes {
                    let database = try Database(options: DatabaseOptions(workers: workers))
                    let space = try await database.createSpace("batch", dimension: dimension, metric: .l2,
                                                               parameters: Self.parameters)
                    let start = clock.now
                    if size == 1 {
                        for memory in memories { try await space.insert(memory) }
                    } else {
                        for first in stride(from: 0, to: total, by: size) {
                            try await space.insert(contentsOf: Array(memories[first..<min(first + size, total)]))
                        }
                    }
                    perItem["\(workers) \(size)", default: []].append(seconds(clock.now - start) * 1e6 / Double(total))
                    await database.close()
                }
            }
        }
        if !json {
            print("\nbatch: \(total) memories into one space through the Swift API, each call awaited, median of \(repetitions)")
            print("  ideal: the speedup if the workers linked each batch perfectly in parallel (the 1-worker batch time / workers)")
            table(["workers", "batch", "us/memory", "speedup", "lowest run", "ideal"], widths: [8, 10, 12, 9, 11, 7])
        }
        for workers in workerRows {
            let single = perItem["\(workers) 1"] ?? []
            for size in sizes {
                let runs = perItem["\(workers) \(size)"] ?? []
                let speedups = zip(single, runs).map { $0 / $1 }
                let lowest = speedups.min() ?? 0
                // Single inserts with these workers against the 1-worker batch split evenly.
                let ideal = workers > 1 && size > 1 && workerRows.contains(1)
                    ? median(zip(single, perItem["1 \(size)"] ?? []).map { $0 * Double(workers) / $1 }) : nil
                if json {
                    var fields: [(String, Any)] = [
                        ("bench", "batch"), ("api", "swift"), ("workers", workers), ("batch_size", size),
                        ("memories", total), ("repeat", repetitions), ("per_item_us", median(runs)),
                        ("speedup", median(speedups)), ("lowest_speedup", lowest),
                    ]
                    if let ideal { fields.append(("parallel_ideal", ideal)) }
                    row(fields)
                } else {
                    table(["\(workers)", "\(size)", f(median(runs), 2), f(median(speedups), 2) + "x",
                           f(lowest, 2) + "x", ideal.map { f($0, 2) + "x" } ?? ""], widths: [8, 10, 12, 9, 11, 7])
                }
            }
        }
    }

    func scaling() async throws {
        let vectors = Self.vectors(inserts, dimension: dimension, seed: 1)
        // Baseline: the design this engine replaces, one index behind one lock.
        let shared = try HNSWIndex(dimension: dimension, metric: .l2, parameters: Self.parameters)
        let lock = NSLock()
        let producers = self.producers, count = inserts
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<min(producers, count) {
                group.addTask {
                    var i = t
                    while i < count {
                        try lock.withLock { try shared.insert(id: UInt64(i), vector: vectors[i]) }
                        i += producers
                    }
                }
            }
            try await group.waitForAll()
        }
        let sharedRate = Double(inserts) / seconds(clock.now - start)
        if json {
            row([("bench", "scaling"), ("design", "shared_index_lock"), ("producers", producers),
                 ("inserts", inserts), ("inserts_per_second", sharedRate)])
        } else {
            print("\nscaling: \(inserts) inserts, dimension \(dimension), M 16, ef_construction 100, \(producers) producer tasks")
            print("  baseline, one shared HNSWIndex behind a lock: \(f(sharedRate)) inserts/s")
            table(["spaces", "workers", "inserts/s", "speedup", "efficiency", "x shared", "busy"],
                  widths: [8, 8, 12, 9, 11, 9, 6])
        }
        for spaceCount in [1, 16, smoke ? 50 : 1000] {
            let targets = (0..<inserts).map { $0 % spaceCount }
            var base = 0.0
            for (w, workers) in workerCounts.enumerated() {
                let database = try Database(options: DatabaseOptions(workers: workers))
                let spaces = try await makeSpaces(database, count: spaceCount)
                let rate = try await load(spaces, targets: targets, vectors: vectors).rate
                let utilisation = await busy(database) / (Double(inserts) / rate * Double(workers))
                if w == 0 { base = rate }
                let speedup = rate / base
                let efficiency = speedup * Double(workerCounts[0]) / Double(workers)
                let steals = await database.stats().totalSteals
                if json {
                    row([("bench", "scaling"), ("design", "space_per_index"), ("workers", workers),
                         ("spaces", spaceCount), ("producers", producers), ("inserts", inserts),
                         ("inserts_per_second", rate), ("speedup", speedup), ("efficiency", efficiency),
                         ("over_shared", rate / sharedRate), ("steals", steals),
                         ("utilisation", utilisation)])
                } else {
                    table(["\(spaceCount)", "\(workers)", f(rate), f(speedup, 2) + "x", f(efficiency, 2),
                           f(rate / sharedRate, 2) + "x", f(utilisation * 100) + "%"], widths: [8, 8, 12, 9, 11, 9, 6])
                }
                await database.close()
            }
        }
    }

    /// Skew rows run `rowDuration` each on a fresh database, repeated `repetitions` times
    /// (interleaved); the table gives medians of each row and of the ratios taken within each
    /// repetition (zipf / uniform, and stealing on / off under zipf).
    func skew() async throws {
        let spaceCount = smoke ? 50 : 1000
        let perSpace = smoke ? 16 : 64
        let workers = max(2, workerCounts.max() ?? 2)
        let operations = smoke ? inserts : 200_000
        let vectors = Self.vectors(operations, dimension: dimension, seed: 2)
        var generator = SplitMix(state: 7)
        let uniform = (0..<operations).map { _ in Int.random(in: 0..<spaceCount, using: &generator) }
        let keys = (0..<operations).map { _ in Int.random(in: 0..<perSpace, using: &generator) }
        let skewed = Self.zipf(operations, spaces: spaceCount, s: 1.1, seed: 11)
        let prefillVectors = Self.vectors(perSpace, dimension: dimension, seed: 8)
        // Keyed by workload, stealing, traffic: one value per repetition.
        var rates: [String: [Double]] = [:], utilisation: [String: [Double]] = [:], steals: [String: [Double]] = [:]
        // The busiest worker's share of the workers' busy time. With stealing off its work is
        // fixed by the homes; spreading it evenly gains workers x share at an unchanged cost
        // per write: the room stealing has (noisy, like the rows it comes from).
        var shares: [String: [Double]] = [:]
        func key(_ upsert: Bool, _ stealing: Bool, _ zipf: Bool) -> String { "\(upsert) \(stealing) \(zipf)" }
        for _ in 0..<repetitions {
            for upsert in [false, true] {
                for stealing in [false, true] {
                    for zipf in [false, true] {
                        let database = try Database(options: DatabaseOptions(workers: workers, workStealing: stealing))
                        let spaces = try await makeSpaces(database, count: spaceCount)
                        if upsert {
                            let prefill = (0..<perSpace).map { Memory(id: "m\($0)", vector: prefillVectors[$0]) }
                            for space in spaces { try await space.insert(contentsOf: prefill) }
                        }
                        let stealsBefore = await database.stats().totalSteals
                        let busyBefore = await database.stats().workers.map { seconds($0.busy) }
                        let (rate, count) = try await load(spaces, targets: zipf ? skewed : uniform, vectors: vectors,
                                                           keys: upsert ? keys : nil, for: rowDuration)
                        let k = key(upsert, stealing, zipf)
                        rates[k, default: []].append(rate)
                        let busy = zip(await database.stats().workers.map { seconds($0.busy) }, busyBefore).map { $0 - $1 }
                        let totalBusy = busy.reduce(0, +)
                        utilisation[k, default: []].append(totalBusy / (Double(count) / rate * Double(workers)))
                        shares[k, default: []].append((busy.max() ?? 0) / max(totalBusy, .leastNonzeroMagnitude))
                        steals[k, default: []].append(Double(await database.stats().totalSteals - stealsBefore))
                        await database.close()
                    }
                }
            }
        }
        if !json {
            print("\nskew: \(spaceCount) spaces, \(workers) workers, Zipf(1.1) vs uniform, \(rowDuration) per row, median of \(repetitions); upsert rows: spaces pre-filled with \(perSpace) memories each")
            print("  top share: the busiest worker's share of the busy time; room: workers x that share with stealing off, what an even spread would gain")
            table(["workload", "stealing", "traffic", "ops/s", "steals", "busy", "top share", "skew/unif", "busy s/u",
                   "on/off zipf", "room"],
                  widths: [9, 9, 8, 12, 8, 6, 10, 10, 9, 12, 6])
        }
        for upsert in [false, true] {
            for stealing in [false, true] {
                for zipf in [false, true] {
                    let k = key(upsert, stealing, zipf), base = key(upsert, stealing, false)
                    let rate = median(rates[k] ?? []), utilised = median(utilisation[k] ?? [])
                    let ratio = median(zip(rates[k] ?? [], rates[base] ?? []).map { $0 / $1 })
                    let busyRatio = median(zip(utilisation[k] ?? [], utilisation[base] ?? []).map { $0 / $1 })
                    let gain = median(zip(rates[k] ?? [], rates[key(upsert, false, true)] ?? []).map { $0 / $1 })
                    let share = median(shares[k] ?? [])
                    let room = Double(workers) * median(shares[key(upsert, false, true)] ?? [])
                    let workload = upsert ? "upsert" : "insert", traffic = zipf ? "zipf" : "uniform"
                    if json {
                        var fields: [(String, Any)] = [
                            ("bench", "skew"), ("workload", workload), ("stealing", stealing), ("traffic", traffic),
                            ("workers", workers), ("spaces", spaceCount), ("seconds", seconds(rowDuration)),
                            ("repeat", repetitions), ("ops_per_second", rate),
                            ("steals", median(steals[k] ?? [])), ("utilisation", utilised),
                            ("busiest_worker_busy_share", share),
                        ]
                        if zipf {
                            fields.append(("skewed_over_uniform", ratio))
                            fields.append(("utilisation_skewed_over_uniform", busyRatio))
                        }
                        if zipf && stealing {
                            fields.append(("stealing_over_no_stealing", gain))
                            fields.append(("stealing_room", room))
                        }
                        row(fields)
                    } else {
                        table([workload, stealing ? "on" : "off", traffic, f(rate), f(median(steals[k] ?? [])),
                               f(utilised * 100) + "%", f(share, 3), zipf ? f(ratio, 2) + "x" : "",
                               zipf ? f(busyRatio, 2) + "x" : "", zipf && stealing ? f(gain, 2) + "x" : "",
                               zipf && stealing ? f(room, 2) + "x" : ""],
                              widths: [9, 9, 8, 12, 8, 6, 10, 10, 9, 12, 6])
                    }
                }
            }
        }
    }

    func mixed() async throws {
        let baseCount = smoke ? 1000 : 10000
        let extra = smoke ? 2000 : 100_000
        let duration: Duration = smoke ? .milliseconds(200) : .seconds(2)
        let vectors = Self.vectors(baseCount + extra, dimension: dimension, seed: 5)
        let queries = Self.vectors(256, dimension: dimension, seed: 6)
        let database = try Database(options: DatabaseOptions(workers: 1))
        let space = try await database.createSpace("mixed", dimension: dimension, metric: .l2,
                                                   parameters: Self.parameters)
        try await space.insert(contentsOf: (0..<baseCount).map { Memory(id: "m\($0)", vector: vectors[$0]) })
        let clock = self.clock
        @Sendable func searchFor(_ duration: Duration) async throws -> Int {
            let end = clock.now + duration
            var done = 0
            while clock.now < end {
                _ = try await space.search(queries[done % queries.count], k: 10, ef: 64)
                done += 1
            }
            return done
        }
        let alone = Double(try await searchFor(duration)) / seconds(duration)
        let start = clock.now
        let (searches, inserted) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            group.addTask { (try await searchFor(duration), 0) }
            group.addTask {
                // Keep the worker busy: 32 writers until the reader is done.
                try await withThrowingTaskGroup(of: Int.self) { writers in
                    for w in 0..<32 {
                        writers.addTask {
                            var i = w, done = 0
                            while i < extra, clock.now < start + duration {
                                try await space.insert(Memory(id: "x\(i)", vector: vectors[baseCount + i]))
                                i += 32
                                done += 1
                            }
                            return done
                        }
                    }
                    return (0, try await writers.reduce(0, +))
                }
            }
            var result = (0, 0)
            for try await (s, i) in group { result = (result.0 + s, result.1 + i) }
            return result
        }
        let withWrites = Double(searches) / seconds(duration)
        let insertRate = Double(inserted) / seconds(clock.now - start)
        if json {
            row([("bench", "mixed"), ("searches_per_second_alone", alone),
                 ("searches_per_second_with_inserts", withWrites), ("ratio", withWrites / alone),
                 ("inserts_per_second", insertRate), ("base_memories", baseCount), ("k", 10), ("ef", 64)])
        } else {
            print("\nmixed: one space of \(baseCount) memories, k 10, ef 64, 1 worker, one reader task")
            print("  searches/s alone:           \(f(alone))")
            print("  searches/s while inserting: \(f(withWrites)) (\(f(withWrites / alone, 2))x), inserts/s meanwhile \(f(insertRate))")
        }
        await database.close()
    }
}

/// A seeded generator, so every run draws the same traffic.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
