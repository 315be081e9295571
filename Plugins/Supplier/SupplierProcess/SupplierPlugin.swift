import Foundation
import IncidentProtocol
import ITSMCalendar
import ITSMPluginKit
import ITSMProtocol
import SupplierProtocol

/// The supplier management process: its methods, events and schema.
public enum SupplierPlugin {
    public static let version = "0.1.0"

    public static func make() -> Plugin {
        var plugin = Plugin(name: "supplier", version: version, schema: SupplierSchema.name, migrations: SupplierSchema.migrations)
        // Whether incident data exists at all, asked as the supplier process itself.
        plugin.calls = ["incident.list"]
        plugin.publishes(SupplierEvents.created)
        plugin.publishes(SupplierEvents.updated)
        plugin.publishes(SupplierEvents.contractAdded)
        plugin.publishes(SupplierEvents.contractExpiring)
        plugin.publishes(SupplierEvents.contractExpired)
        plugin.publishes(SupplierEvents.targetMissed)
        plugin.method(SupplierMethods.create, permission: "supplier.write",
                      description: "Record a supplier: name, kind (external, internal, customer), contacts, services, owner",
                      routes: [HTTPRoute("POST", "suppliers")]) {
            (params: CreateSupplier, context) in try await store(context).create(params, actor: context.actor)
        }
        plugin.method(SupplierMethods.get, permission: "supplier.read", idempotent: true,
                      description: "A supplier with its contracts and targets, reviews, disputes and actions",
                      routes: [HTTPRoute("GET", "suppliers/{supplier}")]) {
            (params: SupplierKey, context) in try await store(context).get(params)
        }
        plugin.method(SupplierMethods.list, permission: "supplier.read", idempotent: true, description: "Suppliers by name",
                                                                                      routes: [HTTPRoute("GET", "suppliers")]) {
            (params: ListSuppliers, context) in try await store(context).list(params)
        }
        plugin.method(SupplierMethods.update, permission: "supplier.write", description: "Change a supplier's fields or status") {
            (params: UpdateSupplier, context) in try await store(context).update(params, actor: context.actor)
        }
        plugin.method(SupplierMethods.addContract, permission: "supplier.write",
                      description: "Add a contract with its dates, notice period, value and documented targets") {
            (params: AddContract, context) in try await store(context).addContract(params, actor: context.actor)
        }
        plugin.method(SupplierMethods.updateContract, permission: "supplier.write",
                      description: "Renew, re-price or terminate a contract") {
            (params: UpdateContract, context) in try await store(context).updateContract(params, actor: context.actor)
        }
        plugin.method(SupplierMethods.scorecard, permission: "supplier.read", idempotent: true,
                      description: "Per supplier for a period: volume, % within target, mean and p90 times, breaches",
                      routes: [HTTPRoute("GET", "suppliers/{supplier}/scorecard")]) {
            (params: ScorecardParams, context) in
            let cards = try await store(context).scorecards(params)
            let to = params.to ?? Date()
            let (availability, note) = await incidentDataAvailability(context)
            return ScorecardReport(from: params.from ?? to.addingTimeInterval(-30 * 24 * 3600), to: to, incidentData: availability,
                                   note: note, scorecards: cards)
        }
        plugin.method(SupplierMethods.milestones, permission: "supplier.read", idempotent: true,
                      description: "Active contracts whose notice deadline is within the days asked (default 180) or passed while they run, soonest first") {
            (params: MilestonesParams, context) in try await store(context).milestones(params)
        }
        plugin.method(SupplierMethods.recordReview, permission: "supplier.write",
                      description: "Record a supplier review meeting: date, attendees, findings, actions") {
            (params: RecordReview, context) in try await store(context).recordReview(params, actor: context.actor)
        }
        plugin.method(SupplierMethods.openDispute, permission: "supplier.write", description: "Record a dispute with a supplier") {
            (params: OpenDispute, context) in try await store(context).openDispute(params, actor: context.actor)
        }
        plugin.method(SupplierMethods.resolveDispute, permission: "supplier.write", description: "Record how a dispute was settled") {
            (params: ResolveDispute, context) in try await store(context).resolveDispute(params, actor: context.actor)
        }
        plugin.method(SupplierMethods.addAction, permission: "supplier.write", description: "An agreed action with owner and due date") {
            (params: AddAction, context) in try await store(context).addAction(params, actor: context.actor)
        }
        plugin.method(SupplierMethods.completeAction, permission: "supplier.write", description: "Mark an action done") {
            (params: ActionKey, context) in try await store(context).completeAction(params, actor: context.actor)
        }
        plugin.method(SupplierMethods.stats, permission: "supplier.read", idempotent: true,
                      description: "Figures for a period: hand-offs, % within target, misses, contracts ending, disputes, overdue actions") {
            (params: SupplierStatsParams, context) in try await store(context).stats(params)
        }

        for type in IncidentEvents.carryingTheRecord {
            plugin.subscribe(type) { event, context in
                try await SupplierStore(database: context.database, settings: try SupplierSettings(config: context.config))
                    .observe(context.transaction, incident: try IncidentEvents.record(from: event), sequence: event.sequence)
            }
        }
        plugin.every(.seconds(milestoneScanSeconds), name: "contract-milestones") { context in
            try await SupplierStore(database: context.database, settings: try SupplierSettings(config: context.config))
                .announceMilestones()
        }
        return plugin
    }

    /// How often contract milestones are checked: `ITSM_SUPPLIER_MILESTONE_SCAN_SECONDS`, default 300.
    static var milestoneScanSeconds: Int {
        ProcessInfo.processInfo.environment["ITSM_SUPPLIER_MILESTONE_SCAN_SECONDS"].flatMap(Int.init).map { max(1, $0) } ?? 300
    }

    static func store(_ context: MethodContext) throws -> SupplierStore {
        SupplierStore(database: context.database, settings: try SupplierSettings(config: context.config))
    }

    /// Asks the coordinator whether the incident process answers, so a scorecard without data
    /// says why instead of showing zeros.
    static func incidentDataAvailability(_ context: MethodContext) async -> (String, String?) {
        do {
            _ = try await context.callAsPlugin(IncidentMethods.list, ListIncidents(limit: 1))
            return ("available", nil)
        } catch {
            if error.kind == "plugin.disabled" {
                return ("none", "The incident process is not enabled, so no incident data is available: supplier performance cannot be measured. Enable it with 'itsm plugins enable incident'.")
            }
            return ("unavailable", "The incident process did not answer (\(error.message)); figures cover the hand-offs recorded so far.")
        }
    }
}

/// The supplier process's `config:` in itsm.yaml.
///
/// ```yaml
/// - name: supplier
///   config:
///     expiryWarningDays: 30
///     calendar: {timeZone: Europe/Berlin, hours: {monday: ["08:00-18:00"], ...}, holidays: ["2026-12-25"]}
/// ```
public struct SupplierSettings: Sendable, Hashable {
    /// `supplier.contract_expiring` is published this many days before a contract's notice deadline.
    public var expiryWarningDays = 30
    /// Support hours of contracts that do not give their own.
    public var calendar = CalendarDefinition(timeZone: "UTC", hours: [
        "monday": ["09:00-17:00"], "tuesday": ["09:00-17:00"], "wednesday": ["09:00-17:00"], "thursday": ["09:00-17:00"],
        "friday": ["09:00-17:00"],
    ])

    public init() {}

    public init(config: JSONValue) throws {
        if let days = config["expiryWarningDays"] {
            guard let value = days.intValue, value >= 0 else { throw ResponseError.invalidParams("config.expiryWarningDays: 0 or more") }
            expiryWarningDays = Int(value)
        }
        if let calendar = config["calendar"] {
            guard let definition = try? calendar.decode(CalendarDefinition.self) else {
                throw ResponseError.invalidParams("config.calendar: {timeZone, hours: {monday: [\"09:00-17:00\"]}, holidays}")
            }
            _ = try definition.make()
            self.calendar = definition
        }
    }
}
