import Foundation

/// The thread one connection's libpq calls run on, and a task executor on that thread.
///
/// libpq blocks, so its calls cannot run on Swift's cooperative pool. Sending each statement
/// to another thread and resuming the caller afterwards costs two thread switches a statement,
/// which a profile of creates found to be most of the plugin's time (docs/benchmarks.md). While
/// a connection is lent out, its borrower's code runs on this thread as a task executor
/// preference (`PostgresPool.withConnection`, `PostgresConnection.withTransaction`), so each
/// statement is a plain blocking call: the borrower has the connection, and its thread, to itself.
final class ConnectionThread: TaskExecutor, @unchecked Sendable {
    private enum Item {
        case job(UnownedJob)
        case work(() -> Void)
    }

    // `items`, `next` and `stopping` are guarded by `condition`; `threadID` is set once,
    // before `init` returns.
    private let condition = NSCondition()
    private var items: [Item] = []
    private var next = 0
    private var stopping = false
    private var threadID: pthread_t?

    init(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
        condition.lock()
        while threadID == nil { condition.wait() }
        condition.unlock()
    }

    /// Whether the caller runs on this thread.
    var isCurrent: Bool {
        pthread_equal(threadID!, pthread_self()) != 0
    }

    func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// Runs `work` on the thread after what is already queued.
    func async(_ work: @escaping () -> Void) {
        submit(.work(work))
    }

    /// Ends the thread once what is queued has run.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func submit(_ item: Item) {
        condition.lock()
        items.append(item)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        condition.lock()
        threadID = pthread_self()
        condition.broadcast()
        while true {
            while next == items.count && !stopping { condition.wait() }
            if next == items.count { break }
            let item = items[next]
            next += 1
            if next == items.count {
                items.removeAll(keepingCapacity: true)
                next = 0
            }
            condition.unlock()
            switch item {
            case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            case .work(let work): work()
            }
            condition.lock()
        }
        condition.unlock()
    }
}
