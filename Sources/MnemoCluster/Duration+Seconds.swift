// Duration+Seconds: a duration as a number of seconds, for rates, averages and log lines.

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
