import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Requests: raised from an item, decided level by level, fulfilled task by task, measured
/// against the item's target in its business hours.
extension ServiceStore {
    public func raise(_ params: RaiseRequest, by caller: Caller) async throws -> ServiceRequest {
        let requester: String
        switch (params.requester, caller.person) {
        case (let named?, let person?) where named != person:
            guard caller.fulfils else {
                throw ResponseError.invalidParams("requester: you raise requests for yourself (\(person)), not for \(named)")
            }
            requester = try Validation.text(named, "requester", max: 200)
        case (_, let person?):
            requester = person
        case (let named?, nil):
            requester = try Validation.text(named, "requester", max: 200)
        case (nil, nil):
            throw ResponseError.invalidParams("requester: required when a service account raises a request")
        }
        return try await database.withTransaction { tx in
            let at = now()
            let item = try await item(tx, params.item)
            guard item.active, try await tx.query("""
                SELECT 1 FROM service.service WHERE lower(name) = lower(\(item.service)) AND status = 'live'
                """).first != nil else {
                throw ResponseError.invalidParams("item: '\(item.name)' is not offered at the moment")
            }
            let answers = try RequestForm(item.form).check(params.answers)
            if item.approvals.contains(where: { $0.kind == .manager }), try await manager(tx, of: requester) == nil {
                throw ResponseError.invalidParams(
                    "requester: \(requester) has no manager on record, and \(item.name) needs their manager's approval; an administrator sets one with 'itsm user update \(requester) --manager NAME'")
            }
            // The requester's customer may have agreed its own fulfilment time for this service.
            let agreed = try await tx.query("""
                SELECT a.reference, (a.targets->>'fulfilmentMinutes')::int AS minutes, a.calendar
                FROM service.agreement a JOIN service.customer_contact k ON k.customer_id = a.customer_id
                JOIN service.service s ON s.id = a.service_id
                WHERE k.account = \(requester) AND lower(s.name) = lower(\(item.service)) AND a.status = 'active'
                  AND a.targets ? 'fulfilmentMinutes' AND (\(at) AT TIME ZONE 'UTC')::date BETWEEN a.valid_from AND a.valid_to
                """).first
            let snapshot = ItemSnapshot(
                name: item.name, title: item.title, service: item.service, approvals: item.approvals, tasks: item.tasks,
                targetMinutes: try agreed?.decode(Int.self, "minutes") ?? item.targetMinutes,
                calendar: try agreed.map { try $0.decode(PostgresJSON.self, "calendar").decode(CalendarDefinition.self) } ?? item.calendar,
                agreement: try agreed?.decode(String.self, "reference"))
            let status: RequestStatus = item.approvals.isEmpty ? .inFulfilment : .awaitingApproval
            let row = try await tx.query("""
                INSERT INTO service.request (item_id, item, requester, answers, status, created_by, created_at, updated_at, customer_id,
                                             level_started_at)
                SELECT id, \(try PostgresJSON(encoding: snapshot)), \(requester), \(try PostgresJSON(encoding: answers)), \(status.rawValue),
                       \(caller.actor), \(at), \(at), (SELECT customer_id FROM service.customer_contact WHERE account = \(requester)),
                       \(status == .awaitingApproval ? at : nil)
                FROM service.item WHERE name = \(item.name)
                RETURNING id, number
                """).single()
            let id = try row.decode(UUID.self, "id")
            let number = try row.decode(String.self, "number")
            for (position, task) in snapshot.tasks.enumerated() {
                try await tx.query("""
                    INSERT INTO service.task (request_id, position, name, assignment_group, after, status)
                    VALUES (\(id), \(position), \(task.name), \(task.group), \(task.after ?? []), 'waiting')
                    """)
            }
            try await recordHistory(tx, number, actor: caller.actor, at: at, field: "status", old: nil, new: status.rawValue)
            let raised = try await request(tx, id: id)
            try await tx.publish(ServiceEvents.raised, subject: number, data: raised)
            if let first = snapshot.approvals.first {
                try await tx.publish(ServiceEvents.approvalRequested, subject: number, data: ApprovalRequested(
                    number: number, item: item.name, title: item.title, requester: requester, level: 1,
                    approver: try await resolved(tx, first, requester: requester)))
            } else {
                try await publish(try await startFulfilment(tx, id: id, snapshot: snapshot, at: at), tx)
            }
            return try await request(tx, id: id)
        }
    }

    public func get(_ key: RequestKey, by caller: Caller) async throws -> ServiceRequest {
        try await database.withTransaction { tx in
            var request = try await request(tx, id: try await visibleId(tx, key.number, caller: caller, lock: false))
            if key.history == true { request.history = try await history(tx, request.number) }
            return request
        }
    }

    public func list(_ params: ListRequests, by caller: Caller) async throws -> RequestList {
        let limit = params.limit ?? 50
        guard (1...500).contains(limit) else { throw ResponseError.invalidParams("limit: 1 to 500") }
        let offset = params.offset ?? 0
        guard offset >= 0 else { throw ResponseError.invalidParams("offset: 0 or more") }
        let after = try NewestFirstCursor.parse(params.after, offset: params.offset)
        let status = params.status?.rawValue
        var query: PostgresQuery = """
            SELECT r.id, r.created_at, r.number FROM service.request r
            WHERE (\(status)::text IS NULL OR r.status = \(status)) AND (\(params.requester)::text IS NULL OR r.requester = \(params.requester))
              AND (\(params.item)::text IS NULL OR r.item->>'name' = \(params.item))
            """
        query.append(caller.visibility)
        if params.awaitingMyApproval == true {
            if caller.person == nil { throw ResponseError.invalidParams("awaitingMyApproval: for people; a service account decides nothing") }
            query.append(caller.awaitingDecision(or: false))
        }
        if params.myTasks == true {
            guard let person = caller.person else { throw ResponseError.invalidParams("myTasks: for people; a service account has no tasks") }
            query.append("""
                 AND EXISTS (SELECT 1 FROM service.task t WHERE t.request_id = r.id AND t.status = 'ready'
                             AND (t.assignee = \(person)
                                  OR t.assignment_group IN (SELECT group_name FROM itsm.group_member WHERE account = \(person))))
                """)
        }
        var periods = params.recordPeriods
        for index in periods.indices { periods[index].column = "r." + periods[index].column }
        try query.appendPeriods(periods)
        if let after { query.append(after.condition(createdAt: "r.created_at", number: "r.number")) }
        query.append(" ORDER BY r.created_at DESC, r.number DESC LIMIT \(limit + 1) OFFSET \(offset)")
        return try await database.withTransaction { tx in
            let (page, cursor) = try ListPaging.page(try await tx.query(query), limit: limit) { row in
                NewestFirstCursor(createdAt: try row.decode(Date.self, "created_at"), number: try row.decode(String.self, "number")).text
            }
            return RequestList(items: try await requests(tx, ids: try page.map { try $0.decode(UUID.self, "id") }), more: cursor != nil,
                               nextCursor: cursor)
        }
    }

    /// The decision of the level the request waits on, by someone that level names. The
    /// requester never decides on their own request.
    public func decide(_ params: DecideRequest, by caller: Caller) async throws -> ServiceRequest {
        let comment = try Self.longText(params.comment ?? "", "comment")
        if params.decision == .reject && comment.isEmpty {
            throw ResponseError.invalidParams("comment: required to reject, so the requester knows why")
        }
        return try await database.withTransaction { tx in
            let at = now()
            let id = try await visibleId(tx, params.number, caller: caller, lock: true)
            let current = try await request(tx, id: id)
            guard current.status == .awaitingApproval, let step = current.approvals.first(where: { $0.state == .pending }) else {
                throw ResponseError.business(kind: "request.invalid_transition",
                                             message: "\(current.number) is \(current.status.rawValue.replacingOccurrences(of: "_", with: " ")), not awaiting approval")
            }
            try await checkMayDecide(tx, step, of: current, caller: caller)
            return try await apply(params.decision, comment: comment, to: current, id: id, at: step, actor: caller.actor, time: at, in: tx)
        }
    }

    /// Records a decision on the level `step` and moves the request on: to the next level, to
    /// fulfilment, or to its end.
    private func apply(_ decision: DecideRequest.Decision, comment: String, to current: ServiceRequest, id: UUID, at step: ApprovalStep,
                       actor: String, time at: Date, in tx: PluginTransaction) async throws -> ServiceRequest {
        try await tx.query("""
            INSERT INTO service.approval (request_id, level, decision, decided_by, comment, decided_at)
            VALUES (\(id), \(step.level - 1), \(decision == .approve ? "approved" : "rejected"), \(actor), \(comment), \(at))
            """)
        try await recordHistory(tx, current.number, actor: actor, at: at, field: "approval \(step.level)",
                                old: "pending", new: decision == .approve ? "approved" : "rejected")
        let snapshot = try await snapshot(tx, id)
        if decision == .reject {
            try await end(tx, id: id, number: current.number, as: .rejected, actor: actor, at: at)
            let rejected = try await request(tx, id: id)
            try await tx.publish(ServiceEvents.rejected, subject: current.number, data: rejected)
            return rejected
        }
        if step.level < snapshot.approvals.count {
            try await tx.query("""
                UPDATE service.request SET approval_level = \(step.level), level_started_at = \(at), updated_at = \(at) WHERE id = \(id)
                """)
            try await tx.publish(ServiceEvents.approvalRequested, subject: current.number, data: ApprovalRequested(
                number: current.number, item: snapshot.name, title: snapshot.title, requester: current.requester, level: step.level + 1,
                approver: try await resolved(tx, snapshot.approvals[step.level], requester: current.requester)))
            return try await request(tx, id: id)
        }
        try await tx.query("UPDATE service.request SET status = 'in_fulfilment', updated_at = \(at) WHERE id = \(id)")
        try await recordHistory(tx, current.number, actor: actor, at: at, field: "status", old: "awaiting_approval", new: "in_fulfilment")
        let ready = try await startFulfilment(tx, id: id, snapshot: snapshot, at: at)
        let approved = try await request(tx, id: id)
        try await tx.publish(ServiceEvents.approved, subject: current.number, data: approved)
        try await publish(ready, tx)
        return approved
    }

    /// Reminds the approvers of a level that waited `remindAfterMinutes` (once per level), and
    /// applies a level's timeout rule once it waited `timeoutMinutes`. Returns how many requests
    /// it moved or reminded about.
    public func enforceApprovalDeadlines(actor: String = "plugin:service") async throws -> Int {
        let at = now()
        let waiting = try await database.query("""
            SELECT id FROM service.request WHERE status = 'awaiting_approval' ORDER BY level_started_at LIMIT 500
            """).map { try $0.decode(UUID.self, "id") }
        var acted = 0
        for id in waiting {
            acted += try await database.withTransaction { tx in
                // Another instance, or an approver, may be at it: take it only if it is free and still waits.
                guard let row = try await tx.query("""
                    SELECT level_started_at, reminded_level FROM service.request
                    WHERE id = \(id) AND status = 'awaiting_approval' FOR UPDATE SKIP LOCKED
                    """).first, let started = try row.decode(Date?.self, "level_started_at") else { return 0 }
                let current = try await request(tx, id: id)
                guard let step = current.approvals.first(where: { $0.state == .pending }) else { return 0 }
                let waited = at.timeIntervalSince(started) / 60
                if let timeout = step.approver.timeoutMinutes, waited >= Double(timeout) {
                    let rule = step.approver.onTimeout ?? .reject
                    let comment = "no decision within \(timeout) minutes: \(rule == .approve ? "approved" : "rejected") by the item's rule"
                    _ = try await apply(rule == .approve ? .approve : .reject, comment: comment, to: current, id: id, at: step, actor: actor,
                                        time: at, in: tx)
                    return 1
                }
                if let remind = step.approver.remindAfterMinutes, waited >= Double(remind),
                   try row.decode(Int?.self, "reminded_level") != step.level {
                    try await tx.query("UPDATE service.request SET reminded_level = \(step.level) WHERE id = \(id)")
                    let snapshot = try await snapshot(tx, id)
                    try await tx.publish(ServiceEvents.approvalReminder, subject: current.number, data: ApprovalRequested(
                        number: current.number, item: snapshot.name, title: snapshot.title, requester: current.requester, level: step.level,
                        approver: try await resolved(tx, step.approver, requester: current.requester)))
                    return 1
                }
                return 0
            }
        }
        return acted
    }

    public func completeTask(_ params: CompleteTask, by caller: Caller) async throws -> ServiceRequest {
        let notes = try Self.longText(params.notes ?? "", "notes")
        return try await database.withTransaction { tx in
            let at = now()
            let id = try await visibleId(tx, params.number, caller: caller, lock: true)
            let current = try await request(tx, id: id)
            let task = try Self.task(params.task, of: current)
            try await checkMayWork(tx, on: task, caller: caller)
            guard current.status == .inFulfilment else {
                let waiting = current.status == .awaitingApproval ? "; its tasks start once it is approved" : ""
                throw ResponseError.business(kind: "request.task_invalid_transition",
                                             message: "\(current.number) is \(current.status.rawValue.replacingOccurrences(of: "_", with: " "))\(waiting)")
            }
            switch task.state {
            case .ready: break
            case .waiting:
                let open = task.after.filter { name in current.tasks.first { $0.name == name }?.state != .done }
                throw ResponseError.business(kind: "request.task_invalid_transition",
                                             message: "task '\(task.name)' waits for \(open.map { "'\($0)'" }.joined(separator: " and "))")
            case .done, .cancelled:
                throw ResponseError.business(kind: "request.task_invalid_transition", message: "task '\(task.name)' is \(task.state.rawValue) already")
            }
            try await tx.query("""
                UPDATE service.task SET status = 'done', done_at = \(at), done_by = \(caller.actor), notes = \(notes)
                WHERE request_id = \(id) AND name = \(task.name)
                """)
            try await tx.query("UPDATE service.request SET updated_at = \(at) WHERE id = \(id)")
            try await recordHistory(tx, current.number, actor: caller.actor, at: at, field: "task \(task.name)", old: "ready", new: "done")
            let snapshot = try await snapshot(tx, id)
            try await publish(try await readyTasks(tx, id: id, snapshot: snapshot, number: current.number, requester: current.requester, at: at), tx)
            if try await tx.query("SELECT 1 FROM service.task WHERE request_id = \(id) AND status <> 'done' LIMIT 1").first != nil {
                return try await request(tx, id: id)
            }
            try await end(tx, id: id, number: current.number, as: .fulfilled, actor: caller.actor, at: at)
            let fulfilled = try await request(tx, id: id)
            try await tx.publish(ServiceEvents.fulfilled, subject: current.number, data: fulfilled)
            return fulfilled
        }
    }

    public func assignTask(_ params: AssignTask, by caller: Caller) async throws -> ServiceRequest {
        let assignee = try Validation.text(params.assignee, "assignee", max: 200)
        return try await database.withTransaction { tx in
            let at = now()
            let id = try await visibleId(tx, params.number, caller: caller, lock: true)
            let current = try await request(tx, id: id)
            guard current.status.isOpen else {
                throw ResponseError.business(kind: "request.invalid_transition", message: "\(current.number) is \(current.status.rawValue)")
            }
            let task = try Self.task(params.task, of: current)
            try await checkMayWork(tx, on: task, caller: caller)
            if let group = task.group, try await tx.query("SELECT 1 FROM itsm.assignment_group WHERE name = \(group)").first != nil,
               try await tx.query("SELECT 1 FROM itsm.group_member WHERE group_name = \(group) AND account = \(assignee)").first == nil {
                throw ResponseError.invalidParams("assignee: \(assignee) is not a member of \(group), which carries out '\(task.name)'")
            }
            guard task.assignee != assignee else { return current }
            try await tx.query("UPDATE service.task SET assignee = \(assignee) WHERE request_id = \(id) AND name = \(task.name)")
            try await tx.query("UPDATE service.request SET updated_at = \(at) WHERE id = \(id)")
            try await recordHistory(tx, current.number, actor: caller.actor, at: at, field: "task \(task.name) assignee", old: task.assignee, new: assignee)
            return try await request(tx, id: id)
        }
    }

    /// Withdrawn by the requester, or by the desk.
    public func cancel(_ params: CancelRequest, by caller: Caller) async throws -> ServiceRequest {
        let reason = try Validation.text(params.reason, "reason", max: 1000)
        return try await database.withTransaction { tx in
            let at = now()
            let id = try await visibleId(tx, params.number, caller: caller, lock: true)
            let current = try await request(tx, id: id)
            guard caller.fulfils || caller.person == current.requester else {
                throw ResponseError(code: .permissionDenied, kind: "auth.forbidden",
                                    message: "\(current.number) is withdrawn by its requester or the service desk")
            }
            guard current.status.isOpen else {
                throw ResponseError.business(kind: "request.invalid_transition", message: "\(current.number) is \(current.status.rawValue) already")
            }
            try await recordHistory(tx, current.number, actor: caller.actor, at: at, field: "reason", old: nil, new: reason)
            try await end(tx, id: id, number: current.number, as: .cancelled, actor: caller.actor, at: at)
            let cancelled = try await request(tx, id: id)
            try await tx.publish(ServiceEvents.cancelled, subject: current.number, data: cancelled)
            return cancelled
        }
    }

    // MARK: - Steps

    /// Starts the clock and readies the tasks that wait for none; returns their events.
    private func startFulfilment(_ tx: PluginTransaction, id: UUID, snapshot: ItemSnapshot, at: Date) async throws -> [TaskReady] {
        let calendar = try snapshot.calendar.make()
        let due = calendar.date(addingBusinessSeconds: Double(snapshot.targetMinutes) * 60, to: at)
        let row = try await tx.query("""
            UPDATE service.request SET fulfilment_started_at = \(at), due_at = \(due), updated_at = \(at) WHERE id = \(id)
            RETURNING number, requester
            """).single()
        return try await readyTasks(tx, id: id, snapshot: snapshot, number: try row.decode(String.self, "number"),
                                    requester: try row.decode(String.self, "requester"), at: at)
    }

    /// Readies every waiting task whose tasks are all done; returns their events, published by
    /// the caller after the change's own.
    private func readyTasks(_ tx: PluginTransaction, id: UUID, snapshot: ItemSnapshot, number: String, requester: String, at: Date) async throws -> [TaskReady] {
        let readied = try await tx.query("""
            UPDATE service.task t SET status = 'ready', ready_at = \(at)
            WHERE t.request_id = \(id) AND t.status = 'waiting'
              AND NOT EXISTS (SELECT 1 FROM service.task d WHERE d.request_id = t.request_id AND d.name = ANY(t.after) AND d.status <> 'done')
            RETURNING t.name, t.assignment_group
            """)
        return try readied.map { row in
            TaskReady(number: number, item: snapshot.name, title: snapshot.title, requester: requester, task: try row.decode(String.self, "name"),
                      group: try row.decode(String?.self, "assignment_group"))
        }
    }

    private func publish(_ ready: [TaskReady], _ tx: PluginTransaction) async throws {
        for event in ready { try await tx.publish(ServiceEvents.taskReady, subject: event.number, data: event) }
    }

    /// Ends a request: stops the clock (measured only when fulfilled) and cancels tasks left.
    private func end(_ tx: PluginTransaction, id: UUID, number: String, as status: RequestStatus, actor: String, at: Date) async throws {
        let row = try await tx.query("""
            SELECT status, fulfilment_started_at, item FROM service.request WHERE id = \(id)
            """).single()
        var minutes: Double?
        var met: Bool?
        if status == .fulfilled, let started = try row.decode(Date?.self, "fulfilment_started_at") {
            let snapshot = try row.decode(PostgresJSON.self, "item").decode(ItemSnapshot.self)
            let measured = try snapshot.calendar.make().businessSeconds(from: started, to: at) / 60
            minutes = (measured * 100).rounded() / 100
            met = measured <= Double(snapshot.targetMinutes)
        }
        try await tx.query("""
            UPDATE service.request SET status = \(status.rawValue), ended_at = \(at), business_minutes = \(minutes), met = \(met),
                   updated_at = \(at)
            WHERE id = \(id)
            """)
        try await tx.query("UPDATE service.task SET status = 'cancelled' WHERE request_id = \(id) AND status IN ('waiting', 'ready')")
        try await recordHistory(tx, number, actor: actor, at: at, field: "status", old: try row.decode(String.self, "status"), new: status.rawValue)
    }

    private func checkMayDecide(_ tx: PluginTransaction, _ step: ApprovalStep, of request: ServiceRequest, caller: Caller) async throws {
        if let person = caller.person, person == request.requester {
            throw ResponseError(code: .permissionDenied, kind: "auth.forbidden",
                                message: "\(request.number): a requester does not approve their own request")
        }
        if caller.approvesAny { return }
        let named: Bool
        switch (step.approver.kind, caller.person) {
        case (_, nil): named = false
        case (.user, let person?): named = person == step.approver.name
        case (.role, _): named = caller.roles.contains(step.approver.name ?? "")
        case (.group, let person?):
            named = try await tx.query("""
                SELECT 1 FROM itsm.group_member WHERE group_name = \(step.approver.name ?? "") AND account = \(person)
                """).first != nil
        case (.manager, let person?): named = try await manager(tx, of: request.requester) == person
        }
        guard named else {
            throw ResponseError(code: .permissionDenied, kind: "auth.forbidden",
                                message: "\(request.number): level \(step.level) is decided by \(step.approver.description)")
        }
    }

    /// A person works on a task assigned to them or to a group they are in (when the group is
    /// defined), unless they keep the catalogue; seeing every request is not enough.
    private func checkMayWork(_ tx: PluginTransaction, on task: RequestTask, caller: Caller) async throws {
        guard caller.fulfils else {
            throw ResponseError(code: .permissionDenied, kind: "auth.forbidden", message: "fulfilment tasks are the service desk's (service.fulfil)")
        }
        guard let person = caller.person, !caller.manages, task.assignee != person, let group = task.group,
              try await tx.query("SELECT 1 FROM itsm.assignment_group WHERE name = \(group)").first != nil else { return }
        guard try await tx.query("SELECT 1 FROM itsm.group_member WHERE group_name = \(group) AND account = \(person)").first != nil else {
            throw ResponseError(code: .permissionDenied, kind: "auth.forbidden", message: "task '\(task.name)' is carried out by \(group)")
        }
    }

    /// Whom `requester` reports to, as their account says.
    private func manager(_ tx: PluginTransaction, of requester: String) async throws -> String? {
        try await tx.query("SELECT manager FROM itsm.account WHERE name = \(requester)").first?.decode(String?.self, "manager")
    }

    /// The approver as the event names them: the requester's manager becomes that person, so
    /// those who are told need not know the requester.
    private func resolved(_ tx: PluginTransaction, _ approver: Approver, requester: String) async throws -> Approver {
        guard approver.kind == .manager, let manager = try await manager(tx, of: requester) else { return approver }
        var named = approver
        named.kind = .user
        named.name = manager
        return named
    }

    static func task(_ name: String, of request: ServiceRequest) throws(ResponseError) -> RequestTask {
        guard let task = request.tasks.first(where: { $0.name == name }) else {
            throw .invalidParams("task: \(request.number) has no task '\(name.prefix(100))'; its tasks: \(request.tasks.map(\.name).joined(separator: ", "))")
        }
        return task
    }

    // MARK: - Reading

    /// The request's id, when the caller may see it; someone else's request is as absent as one
    /// that does not exist.
    private func visibleId(_ tx: PluginTransaction, _ number: String, caller: Caller, lock: Bool) async throws -> UUID {
        var query: PostgresQuery = "SELECT r.id FROM service.request r WHERE r.number = \(number)"
        query.append(caller.visibility)
        if lock { query.append(" FOR UPDATE OF r") }
        guard let id = try await tx.query(query).first?.decode(UUID.self, "id") else {
            throw ResponseError.business(kind: "request.not_found", message: "no request \(number.prefix(100))")
        }
        return id
    }

    private func snapshot(_ tx: PluginTransaction, _ id: UUID) async throws -> ItemSnapshot {
        try await tx.query("SELECT item FROM service.request WHERE id = \(id)").single().decode(PostgresJSON.self, "item").decode(ItemSnapshot.self)
    }

    func request(_ tx: PluginTransaction, id: UUID) async throws -> ServiceRequest {
        guard let request = try await requests(tx, ids: [id]).first else {
            throw PostgresError(code: .decodingFailed, message: "expected one row, got 0")
        }
        return request
    }

    /// The requests with these ids, in the order given: three statements for any number of
    /// them (a list's page), not three each.
    func requests(_ tx: PluginTransaction, ids: [UUID]) async throws -> [ServiceRequest] {
        guard !ids.isEmpty else { return [] }
        var decisions: [UUID: [Int: (String, String, String, Date)]] = [:]
        for row in try await tx.query("""
            SELECT request_id, level, decision, decided_by, comment, decided_at FROM service.approval WHERE request_id = ANY(\(ids))
            """) {
            decisions[try row.decode(UUID.self, "request_id"), default: [:]][try row.decode(Int.self, "level")] =
                (try row.decode(String.self, "decision"), try row.decode(String.self, "decided_by"),
                 try row.decode(String.self, "comment"), try row.decode(Date.self, "decided_at"))
        }
        var tasks: [UUID: [RequestTask]] = [:]
        for row in try await tx.query("""
            SELECT request_id, name, assignment_group, after, status, assignee, ready_at, done_at, done_by, notes
            FROM service.task WHERE request_id = ANY(\(ids)) ORDER BY request_id, position
            """) {
            tasks[try row.decode(UUID.self, "request_id"), default: []].append(RequestTask(
                name: try row.decode(String.self, "name"), group: try row.decode(String?.self, "assignment_group"),
                after: try row.decode([String].self, "after"),
                state: RequestTask.State(rawValue: try row.decode(String.self, "status")) ?? .cancelled,
                assignee: try row.decode(String?.self, "assignee"), readyAt: try row.decode(Date?.self, "ready_at"),
                doneAt: try row.decode(Date?.self, "done_at"), doneBy: try row.decode(String?.self, "done_by"),
                notes: try row.decode(String.self, "notes")))
        }
        var found: [UUID: ServiceRequest] = [:]
        for row in try await tx.query("""
            SELECT id, number, item, requester, answers, status, approval_level, fulfilment_started_at, due_at, ended_at,
                   business_minutes::float8 AS business_minutes, met, created_by, created_at, updated_at
            FROM service.request WHERE id = ANY(\(ids))
            """) {
            let id = try row.decode(UUID.self, "id")
            let snapshot = try row.decode(PostgresJSON.self, "item").decode(ItemSnapshot.self)
            let status = RequestStatus(rawValue: try row.decode(String.self, "status")) ?? .cancelled
            let level = try row.decode(Int.self, "approval_level")
            let decided = decisions[id] ?? [:]
            let approvals = snapshot.approvals.enumerated().map { index, approver in
                if let (decision, by, comment, at) = decided[index] {
                    return ApprovalStep(level: index + 1, approver: approver, state: decision == "approved" ? .approved : .rejected,
                                        decidedBy: by, comment: comment.isEmpty ? nil : comment, decidedAt: at)
                }
                let state: ApprovalStep.State = status != .awaitingApproval ? .skipped : index == level ? .pending : .waiting
                return ApprovalStep(level: index + 1, approver: approver, state: state)
            }
            found[id] = ServiceRequest(
                number: try row.decode(String.self, "number"), item: snapshot.name, title: snapshot.title, service: snapshot.service,
                requester: try row.decode(String.self, "requester"), answers: try row.decode(PostgresJSON.self, "answers").decode(JSONValue.self),
                status: status, approvals: approvals, tasks: tasks[id] ?? [],
                clock: FulfilmentClock(targetMinutes: snapshot.targetMinutes, agreement: snapshot.agreement, startedAt: try row.decode(Date?.self, "fulfilment_started_at"),
                                       dueAt: try row.decode(Date?.self, "due_at"), endedAt: status == .fulfilled ? try row.decode(Date?.self, "ended_at") : nil,
                                       businessMinutes: try row.decode(Double?.self, "business_minutes"), met: try row.decode(Bool?.self, "met")),
                createdBy: try row.decode(String.self, "created_by"), createdAt: try row.decode(Date.self, "created_at"),
                updatedAt: try row.decode(Date.self, "updated_at"))
        }
        return ids.compactMap { found[$0] }
    }
}
