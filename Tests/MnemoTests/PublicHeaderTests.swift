// Proves the public C contract stays what it claims: include/module.modulemap lists exactly the
// headers of include/mnemo/ (no private header leaks in by being added there), no public header
// includes a private one (csrc/: wal/, assoc/, util/, ...), and every public function's comment
// says whether it blocks ("Blocking: ..."), which the Swift module relies on to keep blocking
// calls off the cooperative pool.
import Foundation
import Testing

@Suite struct PublicHeaderTests {
    static let include = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("include")

    static func headers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: include.appendingPathComponent("mnemo").path)
            .filter { $0.hasSuffix(".h") }.sorted()
    }

    static func text(_ header: String) throws -> String {
        try String(contentsOf: include.appendingPathComponent("mnemo/" + header), encoding: .utf8)
    }

    @Test func moduleMapListsEveryPublicHeader() throws {
        let map = try String(contentsOf: Self.include.appendingPathComponent("module.modulemap"), encoding: .utf8)
        let listed = map.matches(of: try Regex(#"header\s+"mnemo/([A-Za-z0-9_]+\.h)""#))
            .compactMap { $0.output[1].substring.map(String.init) }.sorted()
        #expect(listed == (try Self.headers()))
    }

    @Test func publicHeadersIncludeOnlyPublicHeaders() throws {
        let pattern = try Regex(#"#include\s+"([^"]+)""#)
        for header in try Self.headers() {
            for match in try Self.text(header).matches(of: pattern) {
                let included = match.output[1].substring.map(String.init) ?? ""
                #expect(try Self.headers().contains(included), "\(header) includes \(included)")
            }
        }
    }

    @Test func everyPublicFunctionSaysWhetherItBlocks() throws {
        let declaration = try Regex(#"^(?:mn_status|const char \*|float|void|int) *\**(mn_[a-z0-9_]+)\("#)
        var functions = 0
        for header in try Self.headers() {
            let lines = try Self.text(header).split(separator: "\n", omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() {
                guard let match = String(line).firstMatch(of: declaration),
                      let name = match.output[1].substring else { continue }
                functions += 1
                // The comment just above the declaration: back to its opening "/**".
                var comment: [Substring] = []
                var i = index - 1
                while i >= 0 {
                    comment.append(lines[i])
                    if lines[i].hasPrefix("/**") || i < index - 60 { break }
                    i -= 1
                }
                #expect(comment.contains { $0.contains("Blocking:") }, "\(header): \(name) does not say whether it blocks")
            }
        }
        #expect(functions >= 50, "found \(functions) public functions")
    }
}
