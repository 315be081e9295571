import ITSMProtocol
import Logging

/// The set of running plugins. `apply` brings it in line with a (re)loaded configuration:
/// new processes start, removed or disabled ones stop after finishing their requests, changed
/// ones restart, and the others are not touched, so their callers notice nothing. Each plugin
/// runs `spec.localInstances` local instances; remote instances attach through the listener.
public actor PluginFleet {
    /// What a reload did, for the operator.
    public struct Changes: Sendable, Codable, Equatable {
        public var started: [String] = []
        public var stopped: [String] = []
        public var restarted: [String] = []
        public var unchanged: [String] = []
        /// Settings that changed in the file but take effect only when the coordinator restarts.
        public var restartRequired: [String] = []
    }

    private let router: MethodRouter
    private let makeSupervisor: @Sendable (PluginSpec, String) -> PluginSupervisor
    private let logger: Logger
    private var specs: [String: PluginSpec] = [:]
    private let launches = AsyncStream<PluginSupervisor>.makeStream()
    private var isStopping = false

    public init(router: MethodRouter, logger: Logger, makeSupervisor: @escaping @Sendable (PluginSpec, String) -> PluginSupervisor) {
        self.router = router
        self.logger = logger
        self.makeSupervisor = makeSupervisor
    }

    /// Runs every launched supervisor until `stopAll()`.
    public nonisolated func run() async {
        await withDiscardingTaskGroup { group in
            for await supervisor in launches.stream {
                group.addTask { await supervisor.run() }
            }
        }
    }

    /// Starts, stops and restarts plugins to match `configuration`.
    @discardableResult
    public func apply(_ configuration: Configuration) async -> Changes {
        guard !isStopping else { return Changes() }
        var changes = Changes()
        let wanted = Dictionary(uniqueKeysWithValues: configuration.enabledPlugins.map { ($0.name, $0) })
        var stopping: [any PluginInstance] = []
        var failed: [String] = []
        for (name, spec) in specs.sorted(by: { $0.key < $1.key }) {
            if let next = wanted[name], next == spec {
                // A failed process is started again by a reload, as an operator expects.
                if await hasFailedInstance(name) { failed.append(name) } else { changes.unchanged.append(name) }
                continue
            }
            stopping += router.remove(plugin: name)
            specs[name] = nil
            if wanted[name] != nil { changes.restarted.append(name) } else { changes.stopped.append(name) }
        }
        router.markDisabled(configuration.disabledPlugins)
        // Stopped side by side: each finishes the requests it has, then exits.
        await withDiscardingTaskGroup { group in
            for instance in stopping { group.addTask { await instance.stop() } }
        }
        for (name, spec) in wanted.sorted(by: { $0.key < $1.key }) where specs[name] == nil {
            specs[name] = spec
            router.enable(plugin: name, grants: spec.effectiveGrants, required: spec.required)
            for number in 0..<spec.localInstances {
                let supervisor = makeSupervisor(spec, "local-\(number + 1)")
                router.add(supervisor)
                launches.continuation.yield(supervisor)
            }
            if !changes.restarted.contains(name) { changes.started.append(name) }
        }
        for name in failed where await restart(plugin: name) != nil { changes.restarted.append(name) }
        if !(changes.started + changes.stopped + changes.restarted).isEmpty {
            logger.notice("plugins changed", metadata: [
                "itsm.started": "\(changes.started)", "itsm.stopped": "\(changes.stopped)", "itsm.restarted": "\(changes.restarted)",
            ])
        }
        return changes
    }

    /// Stops the local instances of `name` and starts fresh ones, whatever state they were in
    /// (a `failed` process comes back without a coordinator restart). Remote instances are
    /// their hosts' to restart. Returns how many were restarted; nil for a plugin not enabled.
    public func restart(plugin name: String) async -> Int? {
        guard !isStopping, let spec = specs[name] else { return nil }
        let local = router.instances(of: name).compactMap { $0 as? PluginSupervisor }
        for supervisor in local { router.removeInstance(supervisor) }
        await withDiscardingTaskGroup { group in
            for supervisor in local { group.addTask { await supervisor.stop() } }
        }
        for number in 0..<spec.localInstances {
            let supervisor = makeSupervisor(spec, "local-\(number + 1)")
            router.add(supervisor)
            launches.continuation.yield(supervisor)
        }
        logger.notice("plugin restarted", metadata: ["itsm.plugin": "\(name)", "itsm.instances": "\(spec.localInstances)"])
        return spec.localInstances
    }

    /// The running configuration of an enabled plugin, for a remote instance attaching to it.
    public func spec(named name: String) -> PluginSpec? { isStopping ? nil : specs[name] }

    private func hasFailedInstance(_ name: String) async -> Bool {
        for instance in router.instances(of: name) where await instance.snapshot.state == .failed { return true }
        return false
    }

    /// Stops every plugin and ends `run()`.
    public func stopAll() async {
        isStopping = true
        let instances = router.allInstances
        await withDiscardingTaskGroup { group in
            for instance in instances { group.addTask { await instance.stop() } }
        }
        launches.continuation.finish()
    }
}
