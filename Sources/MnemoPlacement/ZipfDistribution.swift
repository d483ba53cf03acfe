// Zipf-distributed integers for space sizes: P(k) ∝ 1 / k^s on 1...n, sampled by binary search
// over a precomputed CDF.

/// A Zipf distribution over `1...n` with exponent `s`.
///
/// ```swift
/// let zipf = ZipfDistribution(n: 10_000, exponent: 1)
/// var rng = SplitMix64(seed: 1)
/// let units = zipf.sample(using: &rng)    // 1 is the most likely value
/// ```
public struct ZipfDistribution: Sendable {
    let cdf: [Double]

    /// Creates the distribution (n ≥ 1, exponent ≥ 0).
    public init(n: Int, exponent: Double) {
        var cdf: [Double] = []
        cdf.reserveCapacity(max(1, n))
        var sum = 0.0
        for k in 1...max(1, n) {
            sum += 1 / pow(Double(k), exponent)
            cdf.append(sum)
        }
        self.cdf = cdf.map { $0 / sum }
    }

    /// The expected value.
    public var mean: Double {
        var previous = 0.0
        var mean = 0.0
        for (i, c) in cdf.enumerated() {
            mean += Double(i + 1) * (c - previous)
            previous = c
        }
        return mean
    }

    /// Draws a value in `1...n`.
    public func sample(using rng: inout some RandomNumberGenerator) -> Int {
        let u = Double.random(in: 0..<1, using: &rng)
        var low = 0
        var high = cdf.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cdf[mid] <= u { low = mid + 1 } else { high = mid }
        }
        return low + 1
    }
}

/// `x` to the power `y` for positive `x`, without Foundation.
func pow(_ x: Double, _ y: Double) -> Double {
    if y == 0 { return 1 }
    if y == 1 { return x }
    return exp(y * log(x))
}

/// Natural logarithm by argument reduction and the atanh series (relative error < 1e-15).
func log(_ x: Double) -> Double {
    precondition(x > 0, "log of a non-positive number")
    let e = x.exponent
    let m = x.significand                      // in [1, 2)
    let t = (m - 1) / (m + 1)
    let t2 = t * t
    var term = t
    var sum = 0.0
    var k = 1.0
    while abs(term / k) > 1e-18 {
        sum += term / k
        term *= t2
        k += 2
    }
    return 2 * sum + Double(e) * 0.693_147_180_559_945_309_4
}

/// e to the power `x` by argument reduction and the Taylor series.
func exp(_ x: Double) -> Double {
    let n = (x / 0.693_147_180_559_945_309_4).rounded()
    let r = x - n * 0.693_147_180_559_945_309_4
    var term = 1.0
    var sum = 1.0
    var k = 1.0
    while abs(term) > 1e-18 {
        term *= r / k
        sum += term
        k += 1
    }
    return Double(sign: .plus, exponent: Int(n), significand: sum)
}
