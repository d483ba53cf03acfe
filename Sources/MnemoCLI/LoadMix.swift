// LoadMix: a load test's request mix, parsed from "search:80,upsert:20", and a seeded
// generator that picks kinds and rows the same way on every run.
import ArgumentParser

/// The kinds of request a load test sends and their weights.
struct LoadMix: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        case search, upsert
    }

    let weights: [(kind: Kind, weight: Int)]
    let total: Int

    init(_ text: String) throws {
        var weights: [(Kind, Int)] = []
        for part in text.split(separator: ",") {
            let fields = part.split(separator: ":")
            guard fields.count == 2, let kind = Kind(rawValue: String(fields[0])), let weight = Int(fields[1]),
                  weight >= 0 else {
                throw ValidationError("--mix takes kind:weight pairs (kinds: search, upsert), not \(part)")
            }
            weights.append((kind, weight))
        }
        let total = weights.reduce(0) { $0 + $1.1 }
        guard total > 0 else { throw ValidationError("--mix needs a positive weight") }
        self.weights = weights.map { (kind: $0.0, weight: $0.1) }
        self.total = total
    }

    /// The kind for a random draw `r`.
    func pick(_ r: UInt64) -> Kind {
        var x = Int(r % UInt64(total))
        for entry in weights {
            if x < entry.weight { return entry.kind }
            x -= entry.weight
        }
        return weights[weights.count - 1].kind
    }
}

/// SplitMix64: a small, seeded generator (one per client).
struct LoadRandom: Sendable {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
