import Foundation

/// Runs the C core's blocking calls on threads of its own, never on Swift's cooperative pool.
///
/// Opening a database (recovery), loading a lazy space, the `fsync`s of a create or a drop, a
/// sync, a checkpoint, closing, export and import can each take milliseconds to seconds. A
/// cooperative thread blocked that long stalls every task scheduled on it (the pool has about
/// one thread per core), so every such call goes through ``run(_:)``: the calling task
/// suspends, a thread of this executor makes the call and resumes the task with its result.
///
/// A thread is started whenever a call arrives and no thread is idle, so every call in flight
/// has its own thread (a long checkpoint never queues a space open behind it). An idle thread
/// waits ``idleSeconds`` for the next call, then exits: a burst of calls reuses threads instead
/// of paying a thread start each.
final class BlockingExecutor: @unchecked Sendable {
    // @unchecked: every mutable field below is read and written only with `condition` locked.

    /// The one executor of the module.
    static let shared = BlockingExecutor()

    /// How long an idle thread waits for work before it exits.
    static let idleSeconds: TimeInterval = 10

    private let condition = NSCondition()
    /// Calls waiting for a thread, oldest first.
    private var jobs: [@Sendable () -> Void] = []
    /// Threads waiting for a call.
    private var idle = 0

    /// Runs `body` on a thread of the shared executor and returns (or throws) what it did.
    ///
    /// ```swift
    /// let handle = try await BlockingExecutor.run { try CCore.openSpace(engine, name: name) }
    /// ```
    ///
    /// Everything `body` captured is released on the executor's thread BEFORE the task resumes,
    /// so a task that held the last other reference (to an engine, say) is its last owner again
    /// when `run` returns: dropping it then destroys the engine at once, on the task's side,
    /// and a reopen of the same directory cannot find it still locked.
    static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let call = PendingCall(body)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
            shared.submit { continuation.resume(returning: call.run()) }
        }
        return try result.get()
    }

    /// Starts `body` on a thread of the shared executor without waiting for it: for a call
    /// whose progress the caller follows another way (a streaming export or import, whose C
    /// callbacks hand bytes through a pipe).
    static func detach(_ body: @escaping @Sendable () -> Void) {
        shared.submit(body)
    }

    /// Queues `job` and wakes an idle thread for it, or starts one when every thread is taken.
    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        // Each queued job needs an idle thread of its own; signalled threads stay counted as
        // idle until they wake, so this never counts one thread for two jobs.
        let start = jobs.count > idle
        if !start { condition.signal() }
        condition.unlock()
        if start {
            let thread = Thread { [self] in work() }
            thread.name = "mnemo-blocking"
            thread.start()
        }
    }

    /// A thread's loop: take the oldest job, run it unlocked, and exit after an idle wait.
    private func work() {
        condition.lock()
        while true {
            if jobs.isEmpty {
                idle += 1
                let woken = condition.wait(until: Date(timeIntervalSinceNow: Self.idleSeconds))
                idle -= 1
                if !woken && jobs.isEmpty {
                    condition.unlock()
                    return
                }
                continue
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
            condition.lock()
        }
    }
}

/// One call handed to the executor, which forgets its closure as soon as it has run.
private final class PendingCall<T: Sendable, E: Error>: @unchecked Sendable {
    // @unchecked: `body` is set at creation and taken once, by the one thread that runs it.
    private var body: (@Sendable () throws(E) -> T)?

    init(_ body: @escaping @Sendable () throws(E) -> T) { self.body = body }

    /// Runs the closure once and drops it (and what it captured) before returning its result.
    func run() -> Result<T, E> {
        guard let body else { preconditionFailure("a blocking call ran twice") }
        self.body = nil
        return Result { () throws(E) -> T in try body() }
    }
}
