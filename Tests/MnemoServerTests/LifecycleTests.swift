// LifecycleTests: the server answers /healthz while the database is still being opened (the
// open is held by the test, standing in for a long recovery: nothing waits on an event loop),
// /readyz and /v1 answer 503 with Retry-After until it is open; the unknown-route and
// unauthenticated answers are JSON errors; the OpenAPI document is served.
import Foundation
import Mnemo
import MnemoServer
import Synchronization
import Testing

/// A gate the test opens: `wait()` suspends until `open()`.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

@Suite("Server lifecycle")
struct LifecycleTests {
    @Test("health answers while the database open is held; /v1 is 503 until ready")
    func healthDuringRecovery() async throws {
        let gate = Gate()
        let opening = Gate()
        try await ServerHarness.run(openDatabase: { @Sendable () async throws -> Database in
            opening.open()
            await gate.wait()
            return try Database(options: DatabaseOptions(workers: 1, pinWorkers: false))
        }, waitReady: false) { server in
            // The open has begun and is held: the slow operation is in progress now.
            await opening.wait()
            defer { gate.open() }
            let health = try await server.call(.get, "/healthz")
            #expect(health.status == .ok)
            let ready = try await server.call(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            let v1 = try await server.call(.get, "/v1/spaces")
            #expect(v1.status == .serviceUnavailable)
            #expect(v1.headers[.retryAfter] == "1")
            #expect(ServerHarness.error(v1.json).code == "notReady")
            let write = try await server.call(.post, "/v1/spaces", json: ["name": "x", "dimension": 2])
            #expect(write.status == .serviceUnavailable)
            gate.open()
            try await server.waitUntilReady()
            #expect(try await server.call(.get, "/v1/spaces").status == .ok)
            // The write refused while recovering changed nothing.
            #expect(try await server.call(.get, "/v1/spaces/x").status == .notFound)
        }
    }

    @Test("unknown routes and methods answer JSON errors; the document is served")
    func errorsAndDocument() async throws {
        try await ServerHarness.run { server in
            let unknown = try await server.call(.get, "/v1/nothing")
            #expect(unknown.status == .notFound)
            #expect(ServerHarness.error(unknown.json).code != nil)
            let document = try await server.call(.get, "/openapi.json")
            #expect(document.status == .ok)
            #expect(document.json["openapi"] as? String == "3.1.0")
            let paths = document.json["paths"] as? [String: Any] ?? [:]
            for path in ["/v1/spaces", "/v1/spaces/{space}/memories/{id}", "/v1/spaces/{space}/search",
                         "/v1/spaces/{space}/export", "/v1/spaces/{space}/import", "/healthz", "/readyz"] {
                #expect(paths[path] != nil, "\(path) is documented")
            }
        }
    }

    @Test("without --dev every /v1 route needs the admin key")
    func adminKey() async throws {
        try await ServerHarness.run(configure: { $0.dev = false; $0.adminKey = "sekrit-admin-key-0123456789" }) { server in
            #expect(try await server.call(.get, "/healthz").status == .ok)
            let none = try await server.call(.get, "/v1/spaces")
            #expect(none.status == .unauthorized)
            let wrong = try await server.call(.get, "/v1/spaces", headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized)
            let right = try await server.call(.get, "/v1/spaces", headers: [.authorization: "Bearer sekrit-admin-key-0123456789"])
            #expect(right.status == .ok)
        }
    }
}
