import CapacityProtocol
import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMProtocol

/// The capacity management process: resources and metrics, ingestion, thresholds, forecasts and
/// the capacity plan.
public enum CapacityPlugin {
    public static let version = "0.1.0"

    public static func make() -> Plugin {
        var plugin = Plugin(name: "capacity", version: version, schema: CapacitySchema.name, migrations: CapacitySchema.migrations)
        plugin.publishes(CapacityEvents.thresholdBreached)
        plugin.publishes(CapacityEvents.thresholdCleared)
        plugin.publishes(CapacityEvents.exhaustionForecast)
        // A breach opens or raises an incident as the capacity process itself (granted incident.write).
        plugin.calls = [IncidentMethods.create.name, IncidentMethods.update.name]

        plugin.method(CapacityMethods.define, permission: "capacity.write",
                      description: "Define (or redefine) a resource and its metrics: unit, limit, warning and critical thresholds") {
            params, context in try await store(context).define(params, actor: context.actor)
        }
        plugin.method(CapacityMethods.metrics, permission: "capacity.read", idempotent: true,
                      description: "Every metric with its state and newest value, optionally for one service") {
            params, context in try await store(context).metrics(service: params.service)
        }
        plugin.method(CapacityMethods.ingest, permission: "capacity.write", idempotent: true,
                      description: "Samples in bulk: [{resource, metric, at, value}]; bad rows are reported, good ones kept",
                      routes: [HTTPRoute("POST", "capacity/samples")]) {
            params, context in
            let store = try store(context)
            let result = try await store.ingest(params.samples)
            try await openIncidents(store, context)
            return result
        }
        plugin.method(CapacityMethods.ingestPrometheus, permission: "capacity.write", idempotent: true,
                      description: "A Prometheus text exposition body for one resource",
                      routes: [HTTPRoute("POST", "capacity/samples", bodyType: "text/plain", bodyParam: "body")]) {
            params, context in
            let store = try store(context)
            let result = try await store.ingestPrometheus(resource: params.resource, body: params.body)
            try await openIncidents(store, context)
            return result
        }
        plugin.method(CapacityMethods.forecast, permission: "capacity.read", idempotent: true,
                      description: "A metric's forecast: model, and when it reaches warning, critical and its limit") {
            params, context in try await store(context).forecast(resource: params.resource, metric: params.metric)
        }
        plugin.method(CapacityMethods.plan, permission: "capacity.read", idempotent: true,
                      description: "The capacity plan for a service (or all): utilization, peak, trend, exhaustion, headroom, actions, charts",
                      routes: [HTTPRoute("GET", "capacity/plan", defaults: ["format": "json"], documents: ["markdown": "text/markdown; charset=utf-8"])]) {
            params, context in
            let plan = try await store(context).plan(service: params.service)
            switch params.format ?? .json {
            case .json: return try JSONValue(encoding: plan)
            case .markdown:
                // The charts come along, so a report can be written from one answer.
                let charts = Dictionary(plan.items.map { ("\($0.metric.resource)/\($0.metric.name)", JSONValue.string($0.chart)) }) { $1 }
                return ["format": "markdown", "document": .string(plan.markdown), "charts": .object(charts)]
            }
        }
        plugin.method(CapacityMethods.stats, permission: "capacity.read", idempotent: true,
                      description: "Metrics by state and exhaustion forecasts within the horizon") { _, context in
            let store = try store(context)
            let metrics = try await store.metrics()
            let states = Dictionary(grouping: metrics, by: \.state).mapValues(\.count)
            let forecasts = try await store.database.query("SELECT count(*) AS n FROM capacity.forecast_notice WHERE expected >= current_date")
                .single().decode(Int.self, "n")
            return CapacityStats(metrics: metrics.count, byState: states, exhaustionForecasts: forecasts)
        }

        for type in IncidentEvents.carryingTheRecord {
            plugin.subscribe(type) { event, context in
                try await CapacityStore(database: context.database, settings: try CapacitySettings(config: context.config))
                    .observe(context.transaction, incident: try IncidentEvents.record(from: event), sequence: event.sequence)
            }
        }
        // Several instances may run this at once: forecasts are announced once per date, and an
        // incident is opened with an idempotency key per breach.
        plugin.every(.seconds(jobSeconds), name: "capacity-maintenance") { context in
            let store = CapacityStore(database: context.database, settings: try CapacitySettings(config: context.config))
            for line in await store.scrape() { context.logger.info("scrape", metadata: ["itsm.result": "\(line)"]) }
            try await store.sampleWorkload()
            try await store.openIncidentsForBreaches(.init(
                create: { params, key throws(ResponseError) in try await context.call(IncidentMethods.create, params, idempotencyKey: key) },
                update: { params throws(ResponseError) in try await context.call(IncidentMethods.update, params) }))
            try await store.prune()
            for line in try await store.announceExhaustion() {
                context.logger.notice("exhaustion forecast", metadata: ["itsm.metric": "\(line)"])
            }
        }
        return plugin
    }

    /// How often forecasts, scrapes, workload and retention run: `ITSM_CAPACITY_JOB_SECONDS`, default 300.
    static var jobSeconds: Int {
        ProcessInfo.processInfo.environment["ITSM_CAPACITY_JOB_SECONDS"].flatMap(Int.init).map { max(1, $0) } ?? 300
    }

    static func store(_ context: MethodContext) throws -> CapacityStore {
        CapacityStore(database: context.database, settings: try CapacitySettings(config: context.config))
    }

    static func openIncidents(_ store: CapacityStore, _ context: MethodContext) async throws {
        // The process's own reaction to a breach, whoever pushed the samples.
        try await store.openIncidentsForBreaches(.init(
            create: { params, key throws(ResponseError) in try await context.callAsPlugin(IncidentMethods.create, params, idempotencyKey: key) },
            update: { params throws(ResponseError) in try await context.callAsPlugin(IncidentMethods.update, params) }))
    }
}
