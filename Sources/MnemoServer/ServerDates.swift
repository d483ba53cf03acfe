// ServerDates: the one date form on the wire, RFC 3339 in UTC with milliseconds
// ("2026-11-30T04:21:57.123Z"), parsed with or without fractional seconds and with any offset.
import Foundation

/// Formats and parses the RFC 3339 timestamps of requests and responses.
enum ServerDates {
    /// `date` as RFC 3339 UTC with milliseconds.
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// Parses an RFC 3339 date-time, or returns nil.
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
