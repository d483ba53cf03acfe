// Proves the simulator end to end on a small cluster: every scheme and scenario yields a row with
// sane figures, Mnemo's placement is more even than plain virtual nodes and moves about the ideal
// on a join, its plans never leave a space below the factor, and the math helpers behind Zipf
// sizes are accurate.

@testable import MnemoPlacement
import Testing

@Suite("PlacementSimulation")
struct PlacementSimulationTests {
    @Test("all schemes and scenarios produce rows; mnemo beats plain vnodes", arguments: [1, 2])
    func smallRun(replicas: Int) throws {
        var options = PlacementSimulation.Options()
        options.nodes = 6
        options.spaces = 1_200
        options.virtualNodes = 50
        options.seeds = 2
        options.replicas = replicas
        options.racks = 3
        options.lookupPasses = 1
        let rows = try PlacementSimulation(options: options).run()
        #expect(rows.count == PlacementSimulation.Scheme.allCases.count * PlacementSimulation.Scenario.allCases.count)
        func row(_ scheme: PlacementSimulation.Scheme, _ scenario: PlacementSimulation.Scenario) throws -> PlacementSimulation.Row {
            try #require(rows.first { $0.scheme == scheme && $0.scenario == scenario })
        }
        for r in rows {
            #expect(r.seeds == 2)
            #expect(r.maxOverMean.mean >= 1)
            #expect(r.lookupNanoseconds > 0)
            #expect(r.belowFactor == 0)
        }
        let mnemoBalance = try row(.mnemo, .balance)
        let ringBalance = try row(.ring, .balance)
        #expect(mnemoBalance.stddevPercent.worst < ringBalance.stddevPercent.mean)
        #expect(mnemoBalance.stddevPercent.worst <= 1.5)
        let join = try row(.mnemo, .join)
        #expect(abs(join.moved.mean - join.idealMoved) <= join.idealMoved * 0.05)
        #expect(join.idealMoved == Double(1_200 * replicas) / 7)
        let death = try row(.mnemo, .death)
        #expect(death.moved.mean >= death.idealMoved)
        let ringDeath = try row(.ring, .death)
        #expect(ringDeath.moved.mean == ringDeath.idealMoved)
        let mnemoHot = try row(.mnemo, .hotSpace)
        let ringHot = try row(.ring, .hotSpace)
        #expect(mnemoHot.loadMaxOverMean.mean <= ringHot.loadMaxOverMean.mean)
        let ringJoin = try row(.ring, .join)
        #expect(join.estimatedSeconds != nil && ringJoin.estimatedSeconds == nil)
    }

    @Test("bad options return typed errors")
    func errors() {
        var options = PlacementSimulation.Options()
        options.seeds = 0
        #expect { try PlacementSimulation(options: options).run() } throws: { ($0 as? PlacementError)?.code == .invalidConfiguration }
        options.seeds = 1
        options.nodes = 2
        options.replicas = 3
        #expect { try PlacementSimulation(options: options).run() } throws: { ($0 as? PlacementError)?.code == .replicationFactorTooLarge }
    }

    @Test("pow, exp and log are accurate", arguments: [0.5, 1, 2, 10, 1_000, 1e-3])
    func math(x: Double) {
        #expect(abs(exp(log(x)) - x) <= 1e-12 * x)
        #expect(abs(pow(x, 2) - x * x) <= 1e-12 * x * x)
        #expect(abs(pow(x, 0.5) - x.squareRoot()) <= 1e-12 * x.squareRoot())
    }

    @Test("Zipf samples stay in range and favour small values")
    func zipf() {
        let zipf = ZipfDistribution(n: 100, exponent: 1)
        var rng = SplitMix64(seed: 3)
        let samples = (0..<20_000).map { _ in zipf.sample(using: &rng) }
        #expect(samples.allSatisfy { (1...100).contains($0) })
        let ones = samples.filter { $0 == 1 }.count
        #expect(ones > 3_500 && ones < 4_700)   // P(1) = 1 / H(100) ≈ 0.193
        let mean = Double(samples.reduce(0, +)) / 20_000
        #expect(abs(mean - zipf.mean) < zipf.mean * 0.1)
    }
}
