// AllowedMethods: which methods the router serves on each path pattern, so a request with an
// unknown method on a known path answers 405 with an `Allow` header (RFC 9110 §15.5.6)
// instead of Hummingbird's 404. Filled once from the built router's route list; a request
// path matches a pattern segment by segment (a `{name}` or `:name` segment matches any one
// non-empty segment; space names travel percent-encoded, so they are one segment).
import Hummingbird
import Synchronization

/// The methods of each route pattern of a router.
final class AllowedMethods: Sendable {
    private let patterns = Mutex<[(segments: [Substring], methods: Set<String>)]>([])

    /// Records every route of `router` (call once its routes are all registered).
    func record<Context>(_ router: Router<Context>) {
        var table: [String: Set<String>] = [:]
        for route in router.routes {
            table["\(route.path)", default: []].insert(route.method.rawValue)
        }
        let built = table.map { (segments: Self.segments("/" + $0.key), methods: $0.value) }
        patterns.withLock { $0 = built }
    }

    /// The methods served on `path`, sorted; empty when no pattern matches it.
    func methods(for path: String) -> [String] {
        let request = Self.segments(path)
        var methods: Set<String> = []
        patterns.withLock { patterns in
            for pattern in patterns where Self.matches(pattern.segments, request) {
                methods.formUnion(pattern.methods)
            }
        }
        return methods.sorted()
    }

    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    private static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        guard pattern.count == path.count else { return false }
        for (expected, actual) in zip(pattern, path) {
            let parameter = expected.hasPrefix(":") || (expected.hasPrefix("{") && expected.hasSuffix("}"))
            if !parameter && expected != actual { return false }
        }
        return true
    }
}
