// The etcd v3 client: key-value reads and writes, transactions, leases and watches over etcd's JSON
// gateway (the grpc-gateway every etcd since 3.4 serves under /v3/ on its client port), with
// async-http-client. Why the gateway and not gRPC: no generated code, no protobuf plugin build, and
// the same pooled HTTP/1.1 client the rest of Mnemo already uses; every call Mnemo needs (range,
// put, delete, txn, lease grant/keepalive/revoke, compaction, watch) is a POST of a small JSON body.
// Keepalive is one POST per renewal (the gateway turns it into a one-message gRPC stream), and a
// watch is one long streaming response (see EtcdWatch).
//
// Timeouts: every unary call has the configured request timeout, which async-http-client applies
// until the response head arrives; etcd sends small bodies whole right after. A watch uses the same
// timeout for its head only, then streams for as long as it lives.
//
// Retries: none. Reads are safe for the caller to repeat; a transaction or a put is not, because a
// timeout after sending says nothing about whether etcd applied it. Callers read the outcome back
// (see EtcdTxn). One HTTPClient (a connection pool) per EtcdClient; call shutdown() once at the end.

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A client of one etcd endpoint.
///
/// ```swift
/// let etcd = EtcdClient(configuration: .init(endpoint: "http://127.0.0.1:2379"))
/// let revision = try await etcd.put("/mnemo/x", value: Array("1".utf8))
/// let kv = try await etcd.get("/mnemo/x").first
/// try await etcd.shutdown()
/// ```
public final class EtcdClient: Sendable {
    /// Where etcd is and how long to wait for it.
    public struct Configuration: Sendable {
        /// The client URL, e.g. `http://127.0.0.1:2379`.
        public var endpoint: String
        /// The limit on each unary call (and on a watch's response head).
        public var requestTimeout: Duration
        /// The limit on opening a connection.
        public var connectTimeout: Duration
        /// The most bytes a unary response may have (a range of the whole assignment table fits).
        public var maxResponseBytes: Int
        /// The most bytes one watch message may have.
        public var maxWatchMessageBytes: Int

        /// Creates a configuration.
        public init(endpoint: String, requestTimeout: Duration = .seconds(5),
                    connectTimeout: Duration = .seconds(2), maxResponseBytes: Int = 64 << 20,
                    maxWatchMessageBytes: Int = 16 << 20) {
            self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
            self.requestTimeout = requestTimeout
            self.connectTimeout = connectTimeout
            self.maxResponseBytes = maxResponseBytes
            self.maxWatchMessageBytes = maxWatchMessageBytes
        }
    }

    /// The configuration this client was made with.
    public let configuration: Configuration
    private let http: HTTPClient
    private let logger: Logger

    /// Creates a client with its own connection pool.
    public init(configuration: Configuration, logger: Logger = Logger(label: "mnemo.etcd")) {
        self.configuration = configuration
        self.logger = logger
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout = .init(connect: Self.timeAmount(configuration.connectTimeout))
        // Each open watch holds one HTTP/1.1 connection for its whole life; leave room for many
        // watches plus unary calls, which would otherwise queue behind them.
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(60),
                                                 concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // Redirects would resend a write elsewhere: never follow them.
        httpConfiguration.redirectConfiguration = .disallow
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                               configuration: httpConfiguration)
    }

    /// Closes the connection pool; every later call fails with ``EtcdError/Code/shutdown``.
    public func shutdown() async throws(EtcdError) {
        do {
            try await http.shutdown()
        } catch {
            throw Self.map(error)
        }
    }

    // MARK: Key-value

    /// Reads one key, at `revision` when given (else the latest).
    public func get(_ key: String, revision: Int64? = nil) async throws(EtcdError) -> EtcdRangeResult {
        let request = WireRangeRequest(key: EtcdBytes.encode(key), revision: revision.map(String.init))
        return try await call("/v3/kv/range", request, as: WireRangeResponse.self).decoded()
    }

    /// Reads every key that starts with `prefix`, sorted by key, at `revision` when given.
    public func range(prefix: String, revision: Int64? = nil,
                      limit: Int64? = nil) async throws(EtcdError) -> EtcdRangeResult {
        let request = WireRangeRequest(key: EtcdBytes.encode(prefix),
                                       range_end: EtcdBytes.encode(EtcdBytes.prefixEnd(prefix)),
                                       revision: revision.map(String.init), limit: limit.map(String.init))
        return try await call("/v3/kv/range", request, as: WireRangeResponse.self).decoded()
    }

    /// Writes `value` at `key` (attached to `lease` when non-zero); returns the write's revision.
    ///
    /// Not retried: after a ``EtcdError/Code/timeout`` read the key back to learn the outcome.
    @discardableResult
    public func put(_ key: String, value: [UInt8], lease: Int64 = 0) async throws(EtcdError) -> Int64 {
        let request = WirePutRequest(key: EtcdBytes.encode(key), value: EtcdBytes.encode(value),
                                     lease: lease == 0 ? nil : String(lease))
        let response = try await call("/v3/kv/put", request, as: WirePutResponse.self)
        return EtcdBytes.int64(response.header?.revision)
    }

    /// Deletes one key; returns the revision and how many keys went (0 or 1).
    @discardableResult
    public func delete(_ key: String) async throws(EtcdError) -> (revision: Int64, deleted: Int64) {
        try await deleteRange(WireDeleteRequest(key: EtcdBytes.encode(key)))
    }

    /// Deletes every key under `prefix`; returns the revision and how many keys went.
    @discardableResult
    public func delete(prefix: String) async throws(EtcdError) -> (revision: Int64, deleted: Int64) {
        try await deleteRange(WireDeleteRequest(key: EtcdBytes.encode(prefix),
                                                range_end: EtcdBytes.encode(EtcdBytes.prefixEnd(prefix))))
    }

    private func deleteRange(_ request: WireDeleteRequest) async throws(EtcdError) -> (revision: Int64, deleted: Int64) {
        let response = try await call("/v3/kv/deleterange", request, as: WireDeleteResponse.self)
        return (EtcdBytes.int64(response.header?.revision), EtcdBytes.int64(response.deleted))
    }

    /// Runs a transaction (see ``EtcdTxn``). Never retried: on ``EtcdError/Code/timeout`` or
    /// ``EtcdError/Code/unavailable`` the outcome is unknown until the written keys are read back.
    public func txn(_ txn: EtcdTxn) async throws(EtcdError) -> EtcdTxnResult {
        let request = WireTxnRequest(compare: txn.compare.map(WireCompare.init),
                                     success: txn.success.map(WireRequestOp.init),
                                     failure: txn.failure.map(WireRequestOp.init))
        return try await call("/v3/kv/txn", request, as: WireTxnResponse.self).decoded()
    }

    /// Discards history before `revision` (later reads or watches of older revisions fail with
    /// ``EtcdError/Code/compacted``). etcd also compacts on its own (`--auto-compaction-*`).
    public func compact(revision: Int64) async throws(EtcdError) {
        _ = try await call("/v3/kv/compaction", WireCompactionRequest(revision: String(revision), physical: false),
                           as: WireEmpty.self)
    }

    // MARK: Leases

    /// Grants a lease of `ttl` seconds (etcd may raise it to its minimum).
    public func grantLease(ttl: Int64) async throws(EtcdError) -> EtcdLease {
        let response = try await call("/v3/lease/grant", WireLeaseGrantRequest(TTL: String(ttl), ID: "0"),
                                      as: WireLeaseGrantResponse.self)
        if let error = response.error, !error.isEmpty {
            throw EtcdError(.server, error)
        }
        let id = EtcdBytes.int64(response.ID)
        guard id != 0 else { throw EtcdError(.badResponse, "lease grant returned no id") }
        return EtcdLease(id: id, ttl: EtcdBytes.int64(response.TTL))
    }

    /// Renews a lease once (one POST); returns the TTL it was renewed to.
    /// Throws ``EtcdError/Code/leaseNotFound`` when it already expired or was revoked.
    @discardableResult
    public func keepAlive(lease: Int64) async throws(EtcdError) -> Int64 {
        let response = try await call("/v3/lease/keepalive", WireLeaseID(ID: String(lease)),
                                      as: WireLeaseKeepAliveResponse.self)
        // etcd answers an unknown lease with TTL 0 (left out of the JSON), not an error.
        let ttl = EtcdBytes.int64(response.result?.TTL)
        guard ttl > 0 else { throw EtcdError(.leaseNotFound, "lease \(lease) expired or was revoked") }
        return ttl
    }

    /// Revokes a lease: every key attached to it is deleted at once.
    public func revokeLease(_ lease: Int64) async throws(EtcdError) {
        _ = try await call("/v3/lease/revoke", WireLeaseID(ID: String(lease)), as: WireEmpty.self)
    }

    // MARK: Watch

    /// Watches one key, or every key under it when `prefix` is true, from `fromRevision` (inclusive;
    /// nil: from now). The watch starts at once; iterate it to receive batches.
    public func watch(_ key: String, prefix: Bool = false, fromRevision: Int64? = nil,
                      prevKV: Bool = false) -> EtcdWatch {
        let create = WireWatchCreate(create_request: .init(
            key: EtcdBytes.encode(key),
            range_end: prefix ? EtcdBytes.encode(EtcdBytes.prefixEnd(key)) : nil,
            start_revision: fromRevision.map(String.init), prev_kv: prevKV ? true : nil,
            progress_notify: nil))
        let (stream, continuation) = AsyncThrowingStream<EtcdWatch.Batch, any Error>.makeStream()
        let watch = EtcdWatch(stream: stream)
        let producer = Task { [self] in
            do {
                try await runWatch(create, into: continuation)
                continuation.finish()
            } catch where Task.isCancelled {
                // Cancelled by the caller (at any step): the sequence just ends.
                continuation.finish()
            } catch let error as EtcdError {
                continuation.finish(throwing: error)
            } catch {
                continuation.finish(throwing: Self.map(error))
            }
        }
        // The consumer going away (its task cancelled, the iterator dropped) ends the request too.
        continuation.onTermination = { _ in producer.cancel() }
        watch.attach(producer)
        return watch
    }

    /// Streams the watch response into `continuation`; returns normally only when cancelled.
    private func runWatch(_ create: WireWatchCreate,
                          into continuation: AsyncThrowingStream<EtcdWatch.Batch, any Error>.Continuation) async throws {
        let response = try await send("/v3/watch", create)
        guard response.status == .ok else {
            throw try await Self.statusError(response, limit: configuration.maxResponseBytes)
        }
        var buffer: [UInt8] = []
        var start = 0
        let decoder = JSONDecoder()
        do {
            for try await chunk in response.body {
                buffer.append(contentsOf: chunk.readableBytesView)
                while let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = buffer[start..<newline]
                    start = newline + 1
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
                    let message: WireWatchLine
                    do {
                        message = try decoder.decode(WireWatchLine.self, from: Data(line))
                    } catch {
                        throw EtcdError(.badResponse, "undecodable watch message: \(error)")
                    }
                    if let batch = try Self.batch(from: message) {
                        continuation.yield(batch)
                    }
                }
                // Drop consumed lines; keep a partial one for the next chunk.
                if start > 0 {
                    buffer.removeFirst(start)
                    start = 0
                }
                if buffer.count > configuration.maxWatchMessageBytes {
                    throw EtcdError(.badResponse, "watch message over \(configuration.maxWatchMessageBytes) bytes")
                }
            }
        } catch {
            if Task.isCancelled { return }
            throw error
        }
        if Task.isCancelled { return }
        throw EtcdError(.unavailable, "watch stream closed by etcd")
    }

    /// One watch line as a batch: nil for "created" and progress messages, a thrown error for a
    /// cancellation.
    static func batch(from message: WireWatchLine) throws(EtcdError) -> EtcdWatch.Batch? {
        if let status = message.error {
            throw EtcdError.fromGRPC(code: status.code ?? 2, message: status.message ?? status.error ?? "watch error")
        }
        guard let result = message.result else { return nil }
        if result.canceled == true {
            let compact = EtcdBytes.int64(result.compact_revision)
            if compact > 0 {
                throw EtcdError(.compacted, "watch start revision was compacted (oldest is \(compact))",
                                compactRevision: compact)
            }
            throw EtcdError(.watchCancelled, result.cancel_reason ?? "watch cancelled by etcd")
        }
        guard let events = result.events, !events.isEmpty else { return nil }
        var out: [EtcdEvent] = []
        out.reserveCapacity(events.count)
        for event in events {
            guard let kv = event.kv else { continue }
            out.append(EtcdEvent(kind: event.type == "DELETE" ? .delete : .put, kv: try kv.decoded(),
                                 prevKV: try event.prev_kv?.decoded()))
        }
        return EtcdWatch.Batch(revision: EtcdBytes.int64(result.header?.revision), events: out)
    }

    // MARK: Transport

    private func call<Request: Encodable, Response: Decodable>(
        _ path: String, _ body: Request, as: Response.Type
    ) async throws(EtcdError) -> Response {
        do {
            let response = try await send(path, body)
            guard response.status == .ok else {
                throw try await Self.statusError(response, limit: configuration.maxResponseBytes)
            }
            let bytes = try await response.body.collect(upTo: configuration.maxResponseBytes)
            do {
                return try JSONDecoder().decode(Response.self, from: Data(bytes.readableBytesView))
            } catch {
                throw EtcdError(.badResponse, "\(path): \(error)")
            }
        } catch let error as EtcdError {
            throw error
        } catch {
            throw Self.map(error)
        }
    }

    private func send<Request: Encodable>(_ path: String, _ body: Request) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: configuration.endpoint + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(body)
        } catch {
            throw EtcdError(.invalidRequest, "cannot encode \(path) request: \(error)")
        }
        request.body = .bytes(ByteBuffer(bytes: encoded))
        return try await http.execute(request, timeout: Self.timeAmount(configuration.requestTimeout),
                                      logger: logger)
    }

    /// The gateway's non-200 answer as an error (its body is a gRPC status).
    private static func statusError(_ response: HTTPClientResponse, limit: Int) async throws -> EtcdError {
        let bytes = try await response.body.collect(upTo: limit)
        if let status = try? JSONDecoder().decode(WireStatus.self, from: Data(bytes.readableBytesView)),
           let code = status.code {
            return EtcdError.fromGRPC(code: code, message: status.message ?? status.error ?? "")
        }
        return EtcdError(.server, "HTTP \(response.status.code)")
    }

    /// Maps a transport error to an EtcdError.
    static func map(_ error: any Error) -> EtcdError {
        if let error = error as? EtcdError { return error }
        if error is CancellationError { return EtcdError(.cancelled, "cancelled") }
        if error is NIOTooManyBytesError { return EtcdError(.badResponse, "etcd's answer is too large") }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return EtcdError(.timeout, "no answer from etcd in time (\(error))")
            case .alreadyShutdown:
                return EtcdError(.shutdown, "the etcd client was shut down")
            case .cancelled:
                return EtcdError(.cancelled, "cancelled")
            case .bodyLengthMismatch:
                return EtcdError(.badResponse, "\(error)")
            default:
                return EtcdError(.unavailable, "\(error)")
            }
        }
        return EtcdError(.unavailable, "\(error)")
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
