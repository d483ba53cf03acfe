// Proves MnemoError.Code and the C core's mn_status agree: every MN_ERR_* defined in
// include/mnemo/mn_status.h (read from the header itself, so a new status cannot be missed) has
// a Code with the same raw value and a name of its own, every known Code is such a status, and
// mn_status_string names exactly those values (and nothing just past them); the Swift-side
// codes (.invalidMetadata, .invalidFilter) are above 1000, named, and no C status.
import Foundation
@testable import Mnemo
import Testing

@Suite struct StatusCodeTests {
    /// The `MN_ERR_*` names and values of the C header.
    static func headerStatuses() throws -> [(name: String, value: Int32)] {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let header = try String(contentsOf: repository.appendingPathComponent("include/mnemo/mn_status.h"),
                                encoding: .utf8)
        let pattern = try Regex(#"#define\s+(MN_ERR_[A-Z0-9_]+)\s+\(\s*(-?[0-9]+)\s*\)"#)
        return header.matches(of: pattern).compactMap { match in
            guard let name = match.output[1].substring, let text = match.output[2].substring,
                  let value = Int32(text) else { return nil }
            return (String(name), value)
        }
    }

    @Test func everyStatusHasACode() throws {
        let statuses = try Self.headerStatuses()
        #expect(statuses.count >= 17, "the header parse found \(statuses.count) statuses")
        #expect(statuses.contains { $0.name == "MN_ERR_LOCKED" && $0.value == -17 })
        for status in statuses {
            let code = MnemoError.Code(rawValue: status.value)
            #expect(MnemoError.Code.known.contains(code), "\(status.name) (\(status.value)) has no MnemoError.Code")
            #expect(code.description != "code(\(status.value))", "\(status.name) has no name in Swift")
            #expect(CCore.statusName(status.value) != "unknown status", "mn_status_string does not name \(status.name)")
        }
        let headerValues = Set(statuses.map(\.value))
        for code in MnemoError.Code.known {
            #expect(headerValues.contains(code.rawValue), "\(code) (\(code.rawValue)) is no MN_ERR_* of mn_status.h")
        }
        #expect(Set(MnemoError.Code.known.map(\.description)).count == MnemoError.Code.known.count)
    }

    @Test func statusStringsNameExactlyTheStatuses() throws {
        let values = try Self.headerStatuses().map(\.value)
        let lowest = try #require(values.min())
        #expect(CCore.statusName(0) == "ok")
        #expect(CCore.statusName(lowest - 1) == "unknown status")
        #expect(CCore.statusName(1) == "unknown status")
        for value in lowest...(-1) {
            #expect((CCore.statusName(value) != "unknown status") == values.contains(value), "status \(value)")
        }
    }

    @Test func swiftSideCodesHaveNamesAndNoCStatus() {
        for code in MnemoError.Code.swiftSide {
            #expect(code.rawValue > 1000)
            #expect(!MnemoError.Code.known.contains(code))
            #expect(code.description != "code(\(code.rawValue))")
        }
        #expect(Set(MnemoError.Code.swiftSide.map(\.description)).count == MnemoError.Code.swiftSide.count)
    }
}
