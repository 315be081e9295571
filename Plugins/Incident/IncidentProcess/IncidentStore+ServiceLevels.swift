import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Service levels: definitions, each record's clocks, and the scan that publishes warnings
/// and breaches exactly once.
extension IncidentStore {
    /// Creates or replaces the definition for (service, priority). Open clocks it now governs
    /// follow it in the same transaction: new target, calendar and deadlines, with a history
    /// entry on each record. Stopped clocks keep the verdict they were given.
    public func defineServiceLevel(_ definition: ServiceLevelDefinition, actor: String = "system",
                                   now: Date = Date()) async throws -> ServiceLevelDefinition {
        try definition.validate()
        let calendar = try PostgresJSON(encoding: definition.calendar)
        try await database.withTransaction { tx in
            try await tx.query("""
                INSERT INTO incident.sla_definition (service, priority, response_minutes, resolution_minutes, warning_percent, calendar)
                VALUES (\(definition.service), \(definition.priority.rawValue), \(definition.responseMinutes),
                        \(definition.resolutionMinutes), \(definition.warningPercent ?? 75), \(calendar))
                ON CONFLICT (coalesce(agreement, ''), coalesce(service, ''), priority) DO UPDATE SET
                    response_minutes = EXCLUDED.response_minutes, resolution_minutes = EXCLUDED.resolution_minutes,
                    warning_percent = EXCLUDED.warning_percent, calendar = EXCLUDED.calendar, updated_at = now()
                """)
            // Every record with a running clock this definition may now govern; refreshClocks
            // picks the matching definition for each (a service's own one wins over the default).
            let governed = try await tx.query("""
                SELECT \(unsafeSQL: Incident.columns) FROM incident.incident i
                WHERE priority = \(definition.priority.rawValue) AND (\(definition.service)::text IS NULL OR service = \(definition.service))
                  AND EXISTS (SELECT 1 FROM incident.sla_clock c WHERE c.incident_id = i.id AND c.stopped_at IS NULL)
                ORDER BY id FOR UPDATE
                """).map(Incident.init(row:))
            for incident in governed {
                try await refreshClocks(tx, for: incident, actor: actor, now: now)
            }
        }
        return definition
    }

    public func serviceLevels() async throws -> [ServiceLevelDefinition] {
        try await database.query("""
            SELECT service, priority, response_minutes, resolution_minutes, warning_percent, calendar
            FROM incident.sla_definition WHERE agreement IS NULL ORDER BY service NULLS FIRST, priority
            """).map { row in
            ServiceLevelDefinition(
                service: try row.decode(String?.self, "service"),
                priority: Priority(rawValue: try row.decode(Int.self, "priority"))!,
                responseMinutes: try row.decode(Int.self, "response_minutes"),
                resolutionMinutes: try row.decode(Int.self, "resolution_minutes"),
                warningPercent: try row.decode(Int.self, "warning_percent"),
                calendar: try row.decode(PostgresJSON.self, "calendar").decode(CalendarDefinition.self))
        }
    }

    /// The SLA definition that applies to `incident` at `now`: its customer's agreement first,
    /// then its service's, then the general one for its priority (`refreshClocks`).
    static func applicableDefinition(for incident: Incident, now: Date) -> PostgresQuery {
        """
        SELECT id, response_minutes, resolution_minutes, warning_percent, calendar FROM incident.sla_definition
        WHERE priority = \(incident.priority.rawValue) AND (service = \(incident.service) OR service IS NULL) AND active
          AND (customer IS NULL
               OR (customer = \(incident.customer) AND (\(now) AT TIME ZONE 'UTC')::date BETWEEN valid_from AND valid_to))
        ORDER BY customer NULLS LAST, service NULLS LAST LIMIT 1
        """
    }

    /// Recomputes a record's clocks from its current state: the definition for its service and
    /// priority, when it first responded, its pausing holds, whether it is resolved. Called in
    /// the transaction of every change (and of every definition change), so the stored
    /// deadlines are always current.
    ///
    /// The rules: a clock starts when a definition first applies to the record (at creation, or
    /// later when its priority or service gains one), never before; imported records run none.
    /// A running clock is measured against the definition that governs it now, and judged
    /// against that target: a warning or breach mark whose new deadline lies ahead is cleared,
    /// so lists and stats stop counting it and the scan publishes the new deadline's crossing.
    /// A stopped clock keeps its target, calendar and verdict.
    /// A record being created (`isNew`) has no clocks or holds yet, so they are not looked for.
    /// `definitions`: what `applicableDefinition` found, when the caller asked already.
    func refreshClocks(_ tx: PluginTransaction, for incident: Incident, actor: String, now: Date, isNew: Bool = false,
                       definitions found: PostgresRows? = nil) async throws {
        guard incident.importedAt == nil else { return }
        let definitions = if let found { found } else { try await tx.query(Self.applicableDefinition(for: incident, now: now)) }
        guard let definition = definitions.first else {
            if !isNew { try await tx.query("DELETE FROM incident.sla_clock WHERE incident_id = \(incident.id) AND stopped_at IS NULL") }
            return
        }
        let definitionID = try definition.decode(Int.self, "id")
        let calendarJSON = try definition.decode(PostgresJSON.self, "calendar")
        let calendar = try CalendarDefinition.calendar(storedJSON: calendarJSON.text)
        let warningPercent = try definition.decode(Int.self, "warning_percent")
        let (pauses, _) = isNew ? ([], false) : try await pausingHolds(tx.connection, incident: incident.id)
        // Locked, so a scanner running now either finished first (and we see its marks) or waits.
        var stored: [ClockKind: StoredClock] = [:]
        let storedRows = isNew ? [] : Array(try await tx.query("""
            SELECT kind, definition_id, target_minutes, calendar, started_at, stopped_at, warning_at, due_at, warned_at, breached_at
            FROM incident.sla_clock WHERE incident_id = \(incident.id) FOR UPDATE
            """))
        for row in storedRows {
            guard let kind = ClockKind(rawValue: try row.decode(String.self, "kind")) else { continue }
            stored[kind] = StoredClock(
                definitionID: try row.decode(Int.self, "definition_id"), targetMinutes: try row.decode(Int.self, "target_minutes"),
                calendar: try row.decode(PostgresJSON.self, "calendar"), startedAt: try row.decode(Date.self, "started_at"),
                stoppedAt: try row.decode(Date?.self, "stopped_at"), warningAt: try row.decode(Date?.self, "warning_at"),
                dueAt: try row.decode(Date?.self, "due_at"), warned: try row.decode(Date?.self, "warned_at") != nil,
                breached: try row.decode(Date?.self, "breached_at") != nil)
        }

        let finished = incident.status == .closed || incident.status == .cancelled
        let responded = stored[.response]?.stoppedAt ?? (incident.status == .new || incident.status == .assigned ? nil : now)
        let resolved = incident.resolvedAt ?? (finished ? now : nil)
        // Holds pause only the resolution clock; a paused clock has no deadlines until it resumes.
        let clocks: [(ClockKind, Int, Date?, [DateInterval])] = [
            (.response, try definition.decode(Int.self, "response_minutes"), responded, []),
            (.resolution, try definition.decode(Int.self, "resolution_minutes"), resolved, pauses),
        ]
        for (kind, target, stoppedAt, clockPauses) in clocks {
            let previous = stored[kind]
            if previous?.stoppedAt != nil, stoppedAt != nil { continue } // stopped before: its verdict stands
            let startedAt = previous?.startedAt ?? now
            let policy = ClockPolicy(calendar: calendar, targetMinutes: target, warningPercent: warningPercent)
            let deadlines = stoppedAt == nil ? policy.deadlines(startedAt: startedAt, pauses: clockPauses) : (nil, nil)
            let met = stoppedAt.map { stopped in
                policy.standing(startedAt: startedAt, stoppedAt: stopped, pauses: clockPauses, pausedNow: false, now: stopped)
                    .state == .met
            }
            // Stopped past a deadline the scanner has not reached yet: publish now, once. A clock
            // stopped exactly at its deadline stopped in time.
            if let stoppedAt, let previous, previous.stoppedAt == nil {
                let crossings = [("warned_at", previous.warningAt, previous.warned, IncidentEvents.slaWarning),
                                 ("breached_at", previous.dueAt, previous.breached, IncidentEvents.slaBreached)]
                for (mark, deadline, done, event) in crossings {
                    guard let deadline, deadline < stoppedAt, !done else { continue }
                    try await tx.query("""
                        UPDATE incident.sla_clock SET \(unsafeSQL: mark) = \(deadline)
                        WHERE incident_id = \(incident.id) AND kind = \(kind.rawValue)
                        """)
                    try await tx.publish(event, subject: incident.id.uuidString.lowercased(), data: ServiceLevelCrossing(
                        incident: incident, clock: kind, targetMinutes: target, dueAt: previous.dueAt))
                }
            }
            if let previous, previous.definitionID != definitionID || previous.targetMinutes != target
                || previous.calendar != calendarJSON {
                try await tx.query("""
                    INSERT INTO incident.history (incident_id, at, actor, field, old_value, new_value)
                    VALUES (\(incident.id), \(now), \(actor), \("sla.\(kind.rawValue)"),
                            \(Self.clockSummary(previous.targetMinutes, previous.dueAt)), \(Self.clockSummary(target, deadlines.1)))
                    """)
            }
            // A running clock's marks stand only while their new deadline has passed.
            try await tx.query("""
                INSERT INTO incident.sla_clock (incident_id, kind, definition_id, target_minutes, warning_percent, calendar,
                    started_at, stopped_at, warning_at, due_at, met)
                VALUES (\(incident.id), \(kind.rawValue), \(definitionID), \(target), \(warningPercent), \(calendarJSON),
                    \(startedAt), \(stoppedAt), \(deadlines.0), \(deadlines.1), \(met))
                ON CONFLICT (incident_id, kind) DO UPDATE SET definition_id = EXCLUDED.definition_id,
                    target_minutes = EXCLUDED.target_minutes, warning_percent = EXCLUDED.warning_percent,
                    calendar = EXCLUDED.calendar, stopped_at = EXCLUDED.stopped_at,
                    warning_at = EXCLUDED.warning_at, due_at = EXCLUDED.due_at, met = EXCLUDED.met,
                    warned_at = CASE WHEN EXCLUDED.stopped_at IS NULL AND EXCLUDED.warning_at > \(now) THEN NULL
                                     ELSE incident.sla_clock.warned_at END,
                    breached_at = CASE WHEN EXCLUDED.stopped_at IS NULL AND EXCLUDED.due_at > \(now) THEN NULL
                                       ELSE incident.sla_clock.breached_at END
                """)
        }
    }

    /// How a clock's target reads in history: `480 min, due 2026-03-02T16:00:00Z`.
    private static func clockSummary(_ targetMinutes: Int, _ dueAt: Date?) -> String {
        "\(targetMinutes) min, " + (dueAt.map { "due \($0.formatted(.iso8601))" } ?? "paused")
    }

    /// The stored clocks `condition` picks (`WHERE incident_id ...`), for `clocks(_:of:)`.
    static func clockRows(_ condition: PostgresQuery) -> PostgresQuery {
        var query: PostgresQuery = """
            SELECT kind, target_minutes, warning_percent, calendar, started_at, stopped_at, warning_at, due_at
            FROM incident.sla_clock
            """
        query.append(condition)
        query.append(" ORDER BY kind DESC")
        return query
    }

    /// A record's clocks as they stand at `now`.
    public func clocks(of incident: UUID, now: Date = Date()) async throws -> [ServiceLevelClock] {
        try await clocks(database.query(Self.clockRows(" WHERE incident_id = \(incident)")), of: incident, now: now)
    }

    /// A record's clocks as they stand at `now`, from its stored rows (`clockRows`).
    func clocks(_ rows: PostgresRows, of incident: UUID, now: Date = Date()) async throws -> [ServiceLevelClock] {
        guard !rows.isEmpty else { return [] }
        let (pauses, pausedNow) = try await database.pool.withConnection { try await pausingHolds($0, incident: incident) }
        return try rows.map { row in
            let kind = ClockKind(rawValue: try row.decode(String.self, "kind")) ?? .resolution
            let policy = ClockPolicy(
                calendar: try CalendarDefinition.calendar(storedJSON: row.decode(PostgresJSON.self, "calendar").text),
                targetMinutes: try row.decode(Int.self, "target_minutes"), warningPercent: try row.decode(Int.self, "warning_percent"))
            let startedAt = try row.decode(Date.self, "started_at")
            let stoppedAt = try row.decode(Date?.self, "stopped_at")
            let standing = policy.standing(startedAt: startedAt, stoppedAt: stoppedAt, pauses: kind == .resolution ? pauses : [],
                                           pausedNow: kind == .resolution && pausedNow, now: now)
            // Deadlines mean nothing while the clock stands still.
            let running = stoppedAt == nil && standing.state != .paused
            return ServiceLevelClock(
                kind: kind, targetMinutes: policy.targetMinutes, startedAt: startedAt, stoppedAt: stoppedAt,
                warningAt: running ? try row.decode(Date?.self, "warning_at") : nil,
                dueAt: running ? try row.decode(Date?.self, "due_at") : nil,
                elapsedMinutes: standing.elapsedMinutes, state: standing.state)
        }
    }

    /// Publishes `incident.sla_warning` and `incident.sla_breached` for clocks past their
    /// deadlines. Each is published once: the first transaction to mark the clock wins, so
    /// any number of plugin instances may scan at the same time. Returns how many it published.
    @discardableResult
    public func scanServiceLevels(now: Date = Date(), batch: Int = 200) async throws -> Int {
        var published = 0
        let checks = [("warned_at", "warning_at", IncidentEvents.slaWarning), ("breached_at", "due_at", IncidentEvents.slaBreached)]
        for (mark, deadline, event) in checks {
            let due = try await database.query("""
                SELECT incident_id, kind FROM incident.sla_clock
                WHERE stopped_at IS NULL AND \(unsafeSQL: mark) IS NULL AND \(unsafeSQL: deadline) <= \(now)
                ORDER BY \(unsafeSQL: deadline) LIMIT \(batch)
                """)
            for candidate in due {
                let incidentID = try candidate.decode(UUID.self, "incident_id")
                let kind = try candidate.decode(String.self, "kind")
                let emitted = try await database.withTransaction { tx -> Bool in
                    // The record first, then its clock, in the order a change locks them: marking
                    // the clock updates the record's standing (migration 15's trigger), and an
                    // escalation changes the record.
                    let incident = try Incident(row: try await tx.query(
                        "SELECT \(unsafeSQL: Incident.columns) FROM incident.incident WHERE id = \(incidentID) FOR UPDATE").single())
                    let claimed = try await tx.query("""
                        UPDATE incident.sla_clock SET \(unsafeSQL: mark) = \(now)
                        WHERE incident_id = \(incidentID) AND kind = \(kind) AND stopped_at IS NULL
                          AND \(unsafeSQL: mark) IS NULL AND \(unsafeSQL: deadline) <= \(now)
                        RETURNING target_minutes, due_at
                        """)
                    guard let clock = claimed.first else { return false }
                    try await tx.publish(event, subject: incidentID.uuidString.lowercased(), data: ServiceLevelCrossing(
                        incident: incident, clock: ClockKind(rawValue: kind) ?? .resolution,
                        targetMinutes: try clock.decode(Int.self, "target_minutes"), dueAt: try clock.decode(Date?.self, "due_at")))
                    // Automatic escalation on warning, when configured, commits with the warning.
                    if mark == "warned_at", let escalation = escalationOnWarning,
                       escalation == .hierarchical || escalationGroup != nil {
                        _ = try await escalate(tx, EscalateIncident(
                            id: incidentID, kind: escalation, toGroup: escalationGroup,
                            reason: "\(kind) SLA warning"), actor: "system:sla", now: now)
                    }
                    return true
                }
                if emitted { published += 1 }
            }
        }
        return published
    }

    /// Hold periods that pause the resolution clock (open ones run to the end of time), and
    /// whether one is open now.
    private func pausingHolds(_ connection: PostgresConnection, incident: UUID) async throws -> ([DateInterval], Bool) {
        let pausing = HoldReason.allCases.filter(\.pausesClock).map(\.rawValue)
        let rows = try await connection.query("""
            SELECT started_at, ended_at FROM incident.hold_period WHERE incident_id = \(incident) AND reason = ANY(\(pausing))
            """)
        var open = false
        let intervals = try rows.map { row -> DateInterval in
            let start = try row.decode(Date.self, "started_at")
            guard let end = try row.decode(Date?.self, "ended_at") else {
                open = true
                return DateInterval(start: start, end: .distantFuture)
            }
            return DateInterval(start: start, end: max(start, end))
        }
        return (intervals, open)
    }
}

/// What is stored of a clock before a change recomputes it.
private struct StoredClock {
    var definitionID: Int
    var targetMinutes: Int
    var calendar: PostgresJSON
    var startedAt: Date
    var stoppedAt: Date?
    var warningAt: Date?
    var dueAt: Date?
    var warned: Bool
    var breached: Bool
}

/// The payload of `incident.sla_warning` and `incident.sla_breached`.
