// The JSON shapes of etcd's v3 gateway (grpc-gateway over etcdserverpb), internal to the client.
// The gateway follows proto3's JSON mapping: bytes are base64, 64-bit integers are strings, fields
// at their default value (0, false, empty, the first enum case) are left out. So every field here
// is optional on decoding and a missing number means 0. Requests send int64s as strings too.

import Foundation

/// Base64 and prefix helpers for keys and values.
enum EtcdBytes {
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
    static func encode(_ string: String) -> String { Data(string.utf8).base64EncodedString() }

    static func decode(_ text: String?) throws(EtcdError) -> [UInt8] {
        guard let text, !text.isEmpty else { return [] }
        guard let data = Data(base64Encoded: text) else {
            throw EtcdError(.badResponse, "etcd returned bytes that are not base64")
        }
        return [UInt8](data)
    }

    /// The range end that selects every key starting with `prefix`: the prefix with its last byte
    /// incremented, trailing 0xff bytes dropped; "\0" (every key) for an empty or all-0xff prefix.
    static func prefixEnd(_ prefix: String) -> [UInt8] {
        var end = Array(prefix.utf8)
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }

    static func int64(_ text: String?) -> Int64 { text.flatMap { Int64($0) } ?? 0 }
}

struct WireHeader: Decodable {
    var revision: String?
}

struct WireKeyValue: Decodable {
    var key: String?
    var create_revision: String?
    var mod_revision: String?
    var version: String?
    var value: String?
    var lease: String?

    func decoded() throws(EtcdError) -> EtcdKeyValue {
        EtcdKeyValue(
            key: String(decoding: try EtcdBytes.decode(key), as: UTF8.self),
            value: try EtcdBytes.decode(value),
            createRevision: EtcdBytes.int64(create_revision),
            modRevision: EtcdBytes.int64(mod_revision),
            version: EtcdBytes.int64(version),
            lease: EtcdBytes.int64(lease))
    }
}

struct WireRangeRequest: Encodable {
    var key: String
    var range_end: String?
    var revision: String?
    var limit: String?
    var keys_only: Bool?
}

struct WireRangeResponse: Decodable {
    var header: WireHeader?
    var kvs: [WireKeyValue]?
    var count: String?
    var more: Bool?

    func decoded() throws(EtcdError) -> EtcdRangeResult {
        var out: [EtcdKeyValue] = []
        for kv in kvs ?? [] { out.append(try kv.decoded()) }
        return EtcdRangeResult(revision: EtcdBytes.int64(header?.revision), kvs: out,
                               count: EtcdBytes.int64(count), more: more ?? false)
    }
}

struct WirePutRequest: Encodable {
    var key: String
    var value: String
    var lease: String?
    var prev_kv: Bool?
}

struct WirePutResponse: Decodable {
    var header: WireHeader?
    var prev_kv: WireKeyValue?
}

struct WireDeleteRequest: Encodable {
    var key: String
    var range_end: String?
}

struct WireDeleteResponse: Decodable {
    var header: WireHeader?
    var deleted: String?
}

struct WireCompare: Encodable {
    var result: String
    var target: String
    var key: String
    var version: String?
    var create_revision: String?
    var mod_revision: String?
    var value: String?

    init(_ compare: EtcdTxn.Compare) {
        result = compare.comparison.rawValue
        key = EtcdBytes.encode(compare.key)
        switch compare.target {
        case .modRevision(let revision): target = "MOD"; mod_revision = String(revision)
        case .createRevision(let revision): target = "CREATE"; create_revision = String(revision)
        case .version(let version): target = "VERSION"; self.version = String(version)
        case .value(let bytes): target = "VALUE"; value = EtcdBytes.encode(bytes)
        }
    }
}

struct WireRequestOp: Encodable {
    var request_range: WireRangeRequest?
    var request_put: WirePutRequest?
    var request_delete_range: WireDeleteRequest?

    init(_ op: EtcdTxn.Op) {
        switch op {
        case .put(let key, let value, let lease):
            request_put = WirePutRequest(key: EtcdBytes.encode(key), value: EtcdBytes.encode(value),
                                         lease: lease == 0 ? nil : String(lease))
        case .get(let key):
            request_range = WireRangeRequest(key: EtcdBytes.encode(key))
        case .getPrefix(let prefix):
            request_range = WireRangeRequest(key: EtcdBytes.encode(prefix),
                                             range_end: EtcdBytes.encode(EtcdBytes.prefixEnd(prefix)))
        case .delete(let key):
            request_delete_range = WireDeleteRequest(key: EtcdBytes.encode(key))
        case .deletePrefix(let prefix):
            request_delete_range = WireDeleteRequest(
                key: EtcdBytes.encode(prefix), range_end: EtcdBytes.encode(EtcdBytes.prefixEnd(prefix)))
        }
    }
}

struct WireTxnRequest: Encodable {
    var compare: [WireCompare]
    var success: [WireRequestOp]
    var failure: [WireRequestOp]
}

struct WireResponseOp: Decodable {
    var response_range: WireRangeResponse?
    var response_put: WirePutResponse?
    var response_delete_range: WireDeleteResponse?
}

struct WireTxnResponse: Decodable {
    var header: WireHeader?
    var succeeded: Bool?
    var responses: [WireResponseOp]?

    func decoded() throws(EtcdError) -> EtcdTxnResult {
        var results: [EtcdTxnResult.OpResult] = []
        for op in responses ?? [] {
            if let range = op.response_range {
                results.append(.range(try range.decoded()))
            } else if let put = op.response_put {
                results.append(.put(revision: EtcdBytes.int64(put.header?.revision)))
            } else if let delete = op.response_delete_range {
                results.append(.delete(deleted: EtcdBytes.int64(delete.deleted)))
            } else {
                // proto3 JSON leaves an all-default message out; an empty range answer looks so.
                results.append(.range(EtcdRangeResult(revision: 0, kvs: [], count: 0, more: false)))
            }
        }
        return EtcdTxnResult(succeeded: succeeded ?? false, revision: EtcdBytes.int64(header?.revision),
                             responses: results)
    }
}

struct WireLeaseGrantRequest: Encodable {
    var TTL: String
    var ID: String
}

struct WireLeaseGrantResponse: Decodable {
    var ID: String?
    var TTL: String?
    var error: String?
}

struct WireLeaseID: Encodable {
    var ID: String
}

struct WireLeaseKeepAliveResponse: Decodable {
    struct Result: Decodable {
        var ID: String?
        var TTL: String?
    }
    var result: Result?
}

struct WireCompactionRequest: Encodable {
    var revision: String
    var physical: Bool
}

struct WireEmpty: Decodable {}

/// The gateway's error body: a gRPC status.
struct WireStatus: Decodable {
    var error: String?
    var message: String?
    var code: Int?
}

struct WireWatchCreate: Encodable {
    struct Create: Encodable {
        var key: String
        var range_end: String?
        var start_revision: String?
        var prev_kv: Bool?
        var progress_notify: Bool?
    }
    var create_request: Create
}

struct WireEvent: Decodable {
    var type: String?
    var kv: WireKeyValue?
    var prev_kv: WireKeyValue?
}

struct WireWatchResponse: Decodable {
    var header: WireHeader?
    var created: Bool?
    var canceled: Bool?
    var compact_revision: String?
    var cancel_reason: String?
    var events: [WireEvent]?
}

/// One line of the watch stream: `{"result": ...}` or `{"error": {...}}`.
struct WireWatchLine: Decodable {
    var result: WireWatchResponse?
    var error: WireStatus?
}
