// The etcd client against a real etcd: key-value round trips and historical reads, prefix ranges,
// transactions taking either branch, leases that expire or are kept alive, watches that deliver
// puts and deletes in revision order, the typed `compacted` error for reads and watches of
// compacted history, watch cancellation, and the transport errors.

import MnemoCluster
import Testing

@Suite("EtcdClient", .enabled(if: EtcdServer.enabled, etcdMissing))
struct EtcdClientTests {
    @Test("put, get, historical get, delete")
    func roundTrip() async throws {
        try await EtcdServer.with { etcd in
            let client = etcd.client
            let first = try await client.put("/t/a", value: bytes("one"))
            let second = try await client.put("/t/a", value: bytes("two"))
            #expect(second > first)
            let kv = try #require(try await client.get("/t/a").first)
            #expect(kv.valueString == "two")
            #expect(kv.createRevision == first)
            #expect(kv.modRevision == second)
            #expect(kv.version == 2)
            #expect(try await client.get("/t/a", revision: first).first?.valueString == "one")
            let deleted = try await client.delete("/t/a")
            #expect(deleted.deleted == 1)
            #expect(deleted.revision > second)
            #expect(try await client.get("/t/a").first == nil)
            #expect(try await client.delete("/t/a").deleted == 0)
        }
    }

    @Test("prefix range returns exactly the prefix, sorted; prefix delete removes it")
    func prefixRange() async throws {
        try await EtcdServer.with { etcd in
            let client = etcd.client
            for key in ["/p/b", "/p/a", "/p/c", "/p0", "/q/a", "/p"] {
                try await client.put(key, value: bytes(key))
            }
            let range = try await client.range(prefix: "/p/")
            #expect(range.kvs.map(\.key) == ["/p/a", "/p/b", "/p/c"])
            #expect(range.kvs.map(\.valueString) == ["/p/a", "/p/b", "/p/c"])
            #expect(range.count == 3)
            let limited = try await client.range(prefix: "/p/", limit: 2)
            #expect(limited.kvs.count == 2)
            #expect(limited.more)
            #expect(try await client.delete(prefix: "/p/").deleted == 3)
            #expect(try await client.range(prefix: "/p").kvs.map(\.key) == ["/p", "/p0"])
        }
    }

    @Test("txn: compares on mod_revision, version, create_revision and value pick the branch")
    func transactions() async throws {
        try await EtcdServer.with { etcd in
            let client = etcd.client
            let revision = try await client.put("/k", value: bytes("v1"))
            let won = try await client.txn(EtcdTxn(
                compare: [.modRevision("/k", .equal, revision), .version("/k", .equal, 1),
                          .value("/k", .equal, bytes("v1")), .createRevision("/absent", .equal, 0)],
                success: [.put("/k", value: bytes("v2")), .get("/k")],
                failure: [.get("/k")]))
            #expect(won.succeeded)
            #expect(won.revision > revision)
            #expect(won.responses.count == 2)
            #expect(won.responses.first == .put(revision: won.revision))
            #expect(won.kvs(at: 1).first?.valueString == "v2")

            // The same compare again is stale: the failure branch runs and shows the current value.
            let lost = try await client.txn(EtcdTxn(
                compare: [.modRevision("/k", .equal, revision)],
                success: [.put("/k", value: bytes("v3"))],
                failure: [.get("/k")]))
            #expect(!lost.succeeded)
            let current = try #require(lost.kvs(at: 0).first)
            #expect(current.valueString == "v2")
            #expect(current.modRevision == won.revision)
            #expect(try await client.get("/k").first?.valueString == "v2")

            let greater = try await client.txn(EtcdTxn(
                compare: [.modRevision("/k", .greater, revision)], success: [.delete("/k")]))
            #expect(greater.succeeded)
            #expect(greater.responses == [.delete(deleted: 1)])
            #expect(try await client.get("/k").first == nil)
        }
    }

    @Test("a lease that is not kept alive expires and takes its keys along")
    func leaseExpiry() async throws {
        try await EtcdServer.with { etcd in
            let client = etcd.client
            let lease = try await client.grantLease(ttl: 2)
            #expect(lease.ttl >= 2)
            try await client.put("/lease/a", value: bytes("x"), lease: lease.id)
            #expect(try await client.get("/lease/a").first?.lease == lease.id)
            let gone = try await eventually { try await client.get("/lease/a").first == nil }
            #expect(gone)
            do throws(EtcdError) {
                try await client.keepAlive(lease: lease.id)
                Issue.record("an expired lease was renewed")
            } catch {
                #expect(error.code == .leaseNotFound)
            }
        }
    }

    @Test("keepalives keep a lease's keys past several TTLs; revoke removes them")
    func keepAlive() async throws {
        try await EtcdServer.with { etcd in
            let client = etcd.client
            let lease = try await client.grantLease(ttl: 2)
            try await client.put("/lease/b", value: bytes("x"), lease: lease.id)
            let keeper = EtcdLeaseKeeper(client: client, lease: lease)
            try await Task.sleep(for: .seconds(Double(lease.ttl) * 2.5))
            #expect(!keeper.isLost)
            #expect(try await client.get("/lease/b").first != nil)
            #expect(try await client.keepAlive(lease: lease.id) > 0)
            keeper.stop()
            try await client.revokeLease(lease.id)
            #expect(try await client.get("/lease/b").first == nil)
        }
    }

    @Test("a watch sees puts and deletes in revision order, with previous values")
    func watchOrder() async throws {
        try await EtcdServer.with { etcd in
            let client = etcd.client
            let start = try await client.put("/other", value: bytes("-"))
            let watch = client.watch("/w/", prefix: true, fromRevision: start + 1, prevKV: true)
            try await client.put("/w/a", value: bytes("1"))
            try await client.put("/w/b", value: bytes("2"))
            try await client.put("/outside", value: bytes("no"))
            try await client.delete("/w/a")
            try await client.put("/w/b", value: bytes("3"))
            let events = try await collect(watch, count: 4)
            watch.cancel()
            #expect(events.map(\.kind) == [.put, .put, .delete, .put])
            #expect(events.map(\.kv.key) == ["/w/a", "/w/b", "/w/a", "/w/b"])
            #expect(events.map(\.kv.valueString) == ["1", "2", "", "3"])
            #expect(events[2].prevKV?.valueString == "1")
            #expect(events[3].prevKV?.valueString == "2")
            let revisions = events.map(\.kv.modRevision)
            #expect(revisions == revisions.sorted() && Set(revisions).count == 4)
        }
    }

    @Test("watching or reading compacted history fails with the typed compacted error")
    func compaction() async throws {
        try await EtcdServer.with { etcd in
            let client = etcd.client
            let first = try await client.put("/c", value: bytes("1"))
            try await client.put("/c", value: bytes("2"))
            let last = try await client.put("/c", value: bytes("3"))
            try await client.compact(revision: last)
            do throws(EtcdError) {
                _ = try await client.get("/c", revision: first)
                Issue.record("a read below the compaction revision succeeded")
            } catch {
                #expect(error.code == .compacted)
            }
            let watch = client.watch("/c", fromRevision: first)
            var batches = watch.makeAsyncIterator()
            do throws(EtcdError) {
                _ = try await batches.next()
                Issue.record("a watch from compacted history delivered events")
            } catch {
                #expect(error.code == .compacted)
                #expect(error.compactRevision == last)
            }
            // The documented recovery: re-read, then watch from the read's revision + 1.
            let fresh = try await client.get("/c")
            #expect(fresh.first?.valueString == "3")
            let again = client.watch("/c", fromRevision: fresh.revision + 1)
            try await client.put("/c", value: bytes("4"))
            #expect(try await collect(again, count: 1).map(\.kv.valueString) == ["4"])
            again.cancel()
        }
    }

    @Test("a cancelled watch ends without an error")
    func watchCancel() async throws {
        try await EtcdServer.with { etcd in
            let watch = etcd.client.watch("/idle")
            let iterate = Task { () async throws -> Int in
                var batches = watch.makeAsyncIterator()
                var count = 0
                while try await batches.next() != nil { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(200))
            watch.cancel()
            #expect(try await iterate.value == 0)
            // The client is still usable afterwards.
            try await etcd.client.put("/idle", value: bytes("x"))
        }
    }

    @Test("many open watches do not hold up other calls, and each sees the change")
    func manyWatches() async throws {
        try await EtcdServer.with { etcd in
            let start = try await etcd.client.put("/m/seed", value: bytes("0"))
            let watches = (0..<12).map { _ in etcd.client.watch("/m/key", fromRevision: start + 1) }
            try await etcd.client.put("/m/key", value: bytes("1"))
            #expect(try await etcd.client.get("/m/key").first?.valueString == "1")
            for watch in watches {
                #expect(try await collect(watch, count: 1).map(\.kv.valueString) == ["1"])
                watch.cancel()
            }
        }
    }

    @Test("transport errors are typed: unreachable, unknown lease, shut down")
    func errors() async throws {
        try await EtcdServer.with { etcd in
            do throws(EtcdError) {
                try await etcd.client.revokeLease(12345)
                Issue.record("revoking an unknown lease succeeded")
            } catch {
                #expect(error.code == .leaseNotFound)
            }
            let other = etcd.makeClient()
            try await other.shutdown()
            do throws(EtcdError) {
                _ = try await other.get("/x")
                Issue.record("a shut-down client answered")
            } catch {
                #expect(error.code == .shutdown)
            }
        }
        // Nothing listens on port 1.
        let nowhere = EtcdClient(configuration: .init(endpoint: "http://127.0.0.1:1"))
        do throws(EtcdError) {
            _ = try await nowhere.get("/x")
            Issue.record("an unreachable etcd answered")
        } catch {
            #expect(error.code == .unavailable)
        }
        try await nowhere.shutdown()
    }
}
