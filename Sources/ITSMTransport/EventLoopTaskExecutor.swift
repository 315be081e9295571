import NIOCore

/// A task executor on a channel's event loop.
///
/// A connection's reading loop runs here: each line then goes from the socket to its decoding
/// and, for `$/ping` and responses, to its answer or waiting caller without crossing to Swift's
/// thread pool and back, two thread switches a message (docs/benchmarks.md). Request handlers
/// still run on the pool: they may do long work that must not hold up the event loop's other
/// channels.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
