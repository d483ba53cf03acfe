// ServerErrorTests: the one mapping from the engine's MnemoError codes to HTTP statuses and
// error fields: a full mailbox or byte budget is 429 with Retry-After, a duplicate 409, an
// unknown space 404, a closed database 503, bad input 400; batch offenders and metadata or
// filter fields are named as the request spells them.
import Foundation
import Mnemo
@testable import MnemoServer
import Testing

@Suite("Server errors")
struct ServerErrorTests {
    @Test("engine codes map to HTTP statuses")
    func statuses() {
        let cases: [(MnemoError.Code, Int, Int?)] = [
            (.full, 429, 1), (.duplicateID, 409, nil), (.unknownSpace, 404, nil), (.notFound, 404, nil),
            (.closed, 503, 1), (.tooLarge, 413, nil), (.wrongDimension, 400, nil), (.nonFinite, 400, nil),
            (.zeroVector, 400, nil), (.invalidMetadata, 400, nil), (.invalidFilter, 400, nil),
            (.corrupt, 400, nil), (.truncated, 400, nil), (.invalidArgument, 400, nil),
        ]
        for (code, status, retry) in cases {
            let error = ServerError(MnemoError(code, "x"))
            #expect(Int(error.status.code) == status, "\(code)")
            #expect(error.retryAfterSeconds == retry, "\(code)")
            #expect(error.code == code.description)
        }
    }

    @Test("fields name the request part")
    func fields() {
        let batch = ServerError(MnemoError(.duplicateID, "dup", offendingIndex: 3), field: "memories")
        #expect(batch.field == "memories[3]")
        let metadata = ServerError(MnemoError(.invalidMetadata, "bad", offendingIndex: 2, field: "$x"), field: "memories")
        #expect(metadata.field == "memories[2].metadata.$x")
        let single = ServerError(MnemoError(.invalidMetadata, "bad", field: "kind"))
        #expect(single.field == "metadata.kind")
        let filter = ServerError(MnemoError(.invalidFilter, "bad", field: "price"))
        #expect(filter.field == "filter.price")
        let bareFilter = ServerError(MnemoError(.invalidFilter, "bad"))
        #expect(bareFilter.field == "filter")
    }
}
