import Foundation
import Hummingbird
import ITSMProtocol

/// The web console: server-rendered pages on the same calls, permissions and record visibility
/// as the API (every change goes through `HTTPAPI.call`, so it is checked and audited alike).
/// Every page works without JavaScript; forms post and redirect back (POST, then GET).
extension HTTPAPI {
    func addConsoleRoutes(to routes: Router<APIRequestContext>) {
        routes.get("/") { _, _ in Self.redirect("/console/") }
        routes.get("console/style.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.style)))
        }
        routes.get("console/login") { request, _ in
            var context: [String: Any] = ["title": ConsoleStrings.english["signIn"]!]
            Self.addMessages(of: request, to: &context)
            return Self.page("login", context)
        }
        routes.post("console/login") { request, _ in
            let form = await Self.form(request).compactMapValues(\.first)
            let name = form["name"] ?? ""
            switch await signIn(name: name, password: form["password"] ?? "") {
            case .success(let (_, opened)):
                var response = Self.redirect("/console/")
                response.headers[.setCookie] = SessionStore.cookie(opened)
                return response
            case .failure(let refusal):
                let message = refusal.kind == "auth.login_failed" ? ConsoleStrings.english["signInFailed"]! : refusal.message
                return Self.page("login", ["title": ConsoleStrings.english["signIn"]!, "error": message, "name": name], status: .unauthorized)
            }
        }
        routes.post("console/logout") { request, _ in
            await console(request, form: true) { page in
                try await sessions.close(secret: page.secret)
                await record("session.logout", by: page.principal, target: page.principal.name, .success(.null))
                var response = Self.redirect("/console/login")
                response.headers[.setCookie] = SessionStore.clearedCookie
                return response
            }
        }
        routes.get("console") { request, _ in
            await console(request) { page in await home(page, request) }
        }
        routes.get("console/search") { request, _ in
            await console(request) { page in await search(page, request) }
        }
        routes.get("console/admin/users") { request, _ in
            await console(request) { page in try await usersPage(page, request) }
        }
        routes.post("console/admin/users") { request, _ in
            await console(request, form: true) { page in
                var changes = AccountStore.Changes()
                let name = page.form["name"] ?? ""
                if let display = page.form["displayName"], !display.isEmpty { changes.displayName = display }
                if let email = page.form["email"], !email.isEmpty { changes.email = .some(email) }
                if let password = page.form["password"], !password.isEmpty { changes.password = password }
                changes.roles = page.formValues["role"] ?? []
                return await consoleAdminChange(page, action: "account.create", target: name,
                                                details: ["roles": .array((changes.roles ?? []).map(JSONValue.string))]) { () throws(AccountError) in
                    _ = try await accounts.create(name: name, changes, grantor: page.principal)
                }
            }
        }
        routes.post("console/admin/users/:name/:toggle") { request, context in
            let name = context.parameters.get("name") ?? ""
            let toggle = context.parameters.get("toggle") ?? ""
            return await console(request, form: true) { page in
                guard ["disable", "enable"].contains(toggle) else { return Self.redirect("/console/admin/users") }
                var changes = AccountStore.Changes()
                changes.disabled = toggle == "disable"
                return await consoleAdminChange(page, action: "account.update", target: name, details: ["disabled": .bool(toggle == "disable")]) {
                    () throws(AccountError) in
                    _ = try await accounts.update(name: name, changes, grantor: page.principal)
                }
            }
        }
        routes.get("console/admin/groups") { request, _ in
            await console(request) { page in
                var context = page.common
                context["title"] = ConsoleStrings.english["groups"]!
                context["canWrite"] = page.principal.allows("users.write")
                context["groups"] = try await accounts.groups().map { group in
                    ["name": group.name, "members": group.members.joined(separator: ", "), "leads": group.leads.joined(separator: ", "),
                     "description": group.description]
                }
                Self.addMessages(of: request, to: &context)
                return Self.page("groups", context)
            }
        }
        routes.post("console/admin/groups") { request, _ in
            await console(request, form: true) { page in
                let names = { (field: String) in
                    (page.form[field] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                }
                let leads = names("leads")
                let group = AccountStore.Group(name: page.form["name"] ?? "", description: page.form["description"] ?? "",
                                               members: Array(Set(names("members") + leads)).sorted(), leads: leads)
                guard page.principal.allows("users.write") else { return Self.redirect("/console/admin/groups", error: "you lack users.write") }
                return await consoleAdminChange(page, action: "group.put", target: group.name,
                                                details: ["members": .array(group.members.map(JSONValue.string)), "leads": .array(leads.map(JSONValue.string))],
                                                back: "/console/admin/groups", notice: ConsoleStrings.english["done"]!) { () throws(AccountError) in
                    _ = try await accounts.putGroup(group)
                }
            }
        }
        routes.get("console/audit") { request, _ in
            await console(request) { page in try await auditPage(page, request) }
        }
        routes.get("console/notifications") { request, _ in
            await console(request) { page in await notificationsPage(page, request) }
        }
        routes.post("console/notifications/rules") { request, _ in
            await console(request, form: true) { page in
                var params: [String: JSONValue] = ["name": .string(page.form["name"] ?? ""), "event": .string(page.form["event"] ?? "")]
                var recipient: [String: JSONValue] = ["kind": .string(page.form["recipient"] ?? "")]
                if let value = page.form["value"]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { recipient["value"] = .string(value) }
                params["recipients"] = [.object(recipient)]
                let priorities = (page.form["priorities"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
                    .filter { !$0.isEmpty }
                if !priorities.isEmpty { params["filters"] = ["priority": .array(priorities.map(JSONValue.string))] }
                switch await page.call("notification.rule_set", params) {
                case .success: return Self.redirect("/console/notifications", notice: "\(page.form["name"] ?? ""): \(ConsoleStrings.english["done"]!)")
                case .failure(let error): return Self.redirect("/console/notifications", error: error.message)
                }
            }
        }
        routes.post("console/notifications/rules/:name/:toggle") { request, context in
            let (name, toggle) = (context.parameters.get("name") ?? "", context.parameters.get("toggle") ?? "")
            return await console(request, form: true) { page in
                // The rule as it is, with only `enabled` changed: through the same method as the API, so checked and audited alike.
                guard ["enable", "disable"].contains(toggle), case .success(let rule) = await page.call("notification.rule_get", ["name": .string(name)]) else {
                    return Self.redirect("/console/notifications", error: "no rule named \(name)")
                }
                var params: [String: JSONValue] = ["name": .string(name), "enabled": .bool(toggle == "enable")]
                for member in ["event", "filters", "recipients", "template"] { params[member] = rule[member] }
                switch await page.call("notification.rule_set", params) {
                case .success: return Self.redirect("/console/notifications", notice: "\(name): \(ConsoleStrings.english["done"]!)")
                case .failure(let error): return Self.redirect("/console/notifications", error: error.message)
                }
            }
        }
        routes.post("console/notifications/:id/retry") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await console(request, form: true) { page in
                switch await page.call("notification.retry", ["id": .string(id)]) {
                case .success: return Self.redirect("/console/notifications", notice: ConsoleStrings.english["done"]!)
                case .failure(let error): return Self.redirect("/console/notifications", error: error.message)
                }
            }
        }
        addRequestRoutes(to: routes)
        addProcessRoutes(to: routes)
        addCapacityRoutes(to: routes)
        addAdminRoutes(to: routes)
        addServiceLevelRoutes(to: routes)
        addDashboardRoutes(to: routes)
        addObjectiveRoutes(to: routes)
        addSupplierRoutes(to: routes)
        addLiveRoutes(to: routes)
        routes.get("console/incidents/:number") { request, context in
            let number = context.parameters.get("number") ?? ""
            return await console(request) { page in await incident(number, page, request) }
        }
        routes.post("console/incidents") { request, _ in
            await console(request, form: true) { page in
                var params: [String: JSONValue] = [:]
                for member in ["title", "description", "impact", "urgency"] {
                    if let value = page.form[member], !value.isEmpty { params[member] = .string(value) }
                }
                switch await page.call("incident.create", params) {
                case .success(let created):
                    let number = created["number"]?.stringValue ?? ""
                    return Self.redirect("/console/incidents/\(number)", notice: "\(number): \(ConsoleStrings.english["done"]!)")
                case .failure(let error):
                    return Self.redirect("/console/", error: error.message)
                }
            }
        }
        routes.post("console/incidents/:number/:action") { request, context in
            let number = context.parameters.get("number") ?? ""
            let action = context.parameters.get("action") ?? ""
            return await console(request, form: true) { page in
                let members: [String: [String]] = [
                    "comment": ["body", "visibility"], "assign": ["assignmentGroup", "assignee"],
                    "transition": ["to", "resolutionCode", "resolutionNotes", "holdReason"],
                    "escalate": ["kind", "toGroup", "reason"], "declare_major": ["reason"],
                    "link": ["parent", "duplicateOf", "problem", "knownError"], "review": ["summary", "rootCause", "lessonsLearned"],
                    "update": ["title", "impact", "urgency"] + Self.clearableIncidentFields,
                ]
                guard let names = members[action] else { return Self.page("message", ["title": "404", "message": ConsoleStrings.english["notFound"]!], status: .notFound) }
                var params: [String: JSONValue] = ["number": .string(number)]
                // An empty field is one the person left alone.
                for member in names { if let value = page.form[member], !value.isEmpty { params[member] = .string(value) } }
                // Editing the details: only what the person changed from what the page showed
                // (`was-<member>`), so a change someone else made meanwhile stays; emptied, cleared.
                if action == "update" {
                    params = ["number": .string(number)]
                    for member in names {
                        if let value = page.form[member], value != page.form["was-" + member] { params[member] = .string(value) }
                    }
                }
                // A review's actions: one per line.
                if action == "review", let lines = page.form["actions"]?.split(whereSeparator: \.isNewline)
                    .map({ $0.trimmingCharacters(in: .whitespaces) }).filter({ !$0.isEmpty }), !lines.isEmpty {
                    params["actions"] = .array(lines.map(JSONValue.string))
                }
                let back = "/console/incidents/\(number)"
                switch await page.call("incident.\(action)", params) {
                case .success: return Self.redirect(back, notice: ConsoleStrings.english["done"]!)
                case .failure(let error): return Self.redirect(back, error: error.message)
                }
            }
        }
    }

    /// A signed-in person's request to the console.
    struct ConsolePage {
        let principal: Principal
        let secret: String
        let form: [String: String]
        /// Every value of each field, for those sent several times (checkboxes).
        let formValues: [String: [String]]
        let api: HTTPAPI

        /// What every page shows: the person, the sections they may open, the form token, and the strings.
        var common: [String: Any] {
            let user: [String: Any] = [
                "name": principal.name, "roles": principal.roles.joined(separator: ", "), "menus": menus,
                "canSeeRequests": principal.allows("service.read") && api.router.route(for: "request.list") != nil,
            ]
            return ["user": user, "csrf": SessionStore.csrfToken(for: secret), "t": ConsoleStrings.english]
        }

        /// The bar's menus: each link only for whoever may open its page, a menu only with a link.
        var menus: [[String: Any]] {
            let routed = { (method: String) in api.router.route(for: method) != nil }
            let management: [(id: String, href: String, word: String, shown: Bool)] = [
                ("dashboards", "/console/dashboard", "dashboards", api.hasStatsMethods(for: principal)),
                ("capacity", "/console/capacity", "capacityPlan", principal.allows("capacity.read") && routed("capacity.plan")),
                ("objectives", "/console/objectives", "objectives", principal.allows("improvement.read") && routed("objective.trend")),
                ("suppliers", "/console/suppliers", "suppliers", principal.allows("supplier.read") && routed("supplier.milestones")),
            ]
            let administration: [(id: String, href: String, word: String, shown: Bool)] = [
                ("people", "/console/admin/users", "people", principal.allows("users.read")),
                ("groups", "/console/admin/groups", "groups", principal.allows("users.read")),
                ("roles", "/console/admin/roles", "roleList", principal.allows("users.read")),
                ("tokens", "/console/admin/tokens", "tokens", principal.allows("tokens.read")),
                ("audit", "/console/audit", "auditLog", principal.allows("audit.read")),
                ("process-states", "/console/admin/processes", "processStates", principal.allows("plugins.read")),
                ("service-levels", "/console/admin/service-levels", "serviceLevels", principal.allows("incident.admin") && routed("incident.sla.define")),
                ("notifications", "/console/notifications", "notifications", principal.allows("notification.read") && routed("notification.list")),
            ]
            return [("management", management), ("administration", administration)].compactMap { id, links -> [String: Any]? in
                let shown = links.filter(\.shown).map { ["id": $0.id, "href": $0.href, "label": ConsoleStrings.english[$0.word]!] }
                return shown.isEmpty ? nil : ["id": id, "label": ConsoleStrings.english[id]!, "links": shown]
            }
        }

        /// Whether the person works the desk (sees more than their own records).
        var isDesk: Bool { principal.allows("incident.all.read") || principal.allows("incident.group.read") }

        /// Calls a method for the signed-in person, held to the method's permission exactly as the
        /// API holds them (a refused change is audited alike), so no page can do more than the
        /// person's roles allow whatever it offers.
        func call(_ method: String, _ params: [String: JSONValue]) async -> Result<JSONValue, ResponseError> {
            guard let route = api.router.route(for: method) else { return .failure(await api.router.unroutedError(method)) }
            if let refusal = await api.refusal(of: principal, permission: route.descriptor.permission, action: method) {
                return .failure(refusal)
            }
            return await api.call(method, params: .object(params), meta: RequestMeta(actor: principal.actor, requestId: CurrentRequest.id),
                                  principal: principal).map(\.tree)
        }
    }

    /// Runs `body` for the person whose session the request carries; otherwise sends them to
    /// sign in. A form post must carry the session's form token (`_csrf`).
    func console(_ request: Request, form: Bool = false, _ body: (ConsolePage) async throws -> Response) async -> Response {
        guard let secret = SessionStore.secret(inCookieHeader: request.headers[.cookie]) else { return Self.redirect("/console/login") }
        let principal: Principal?
        do { principal = try await sessions.principal(secret: secret) } catch {
            return Self.page("message", ["title": "503", "message": "The database is unavailable; try again in a moment.",
                                         "t": ConsoleStrings.english], status: .serviceUnavailable)
        }
        guard let principal else { return Self.redirect("/console/login", error: ConsoleStrings.english["sessionEnded"]!) }
        var fields: [String: String] = [:]
        var values: [String: [String]] = [:]
        if form {
            values = await Self.form(request)
            fields = values.compactMapValues(\.first)
            guard SessionStore.csrfTokenMatches(fields["_csrf"], secret: secret) else {
                return Self.page("message", ["title": "403", "message": ConsoleStrings.english["forbidden"]!, "t": ConsoleStrings.english],
                                 status: .forbidden)
            }
        }
        do {
            return try await body(ConsolePage(principal: principal, secret: secret, form: fields, formValues: values, api: self))
        } catch {
            logger.error("console page failed", metadata: ["itsm.error": "\(String(reflecting: error))"])
            return Self.page("message", ["title": "500", "message": "Something went wrong; see the coordinator log.", "t": ConsoleStrings.english],
                             status: .internalServerError)
        }
    }

    // MARK: - Pages

    /// The queues: for the desk, assigned to me, new, open with nobody on it, at risk (a
    /// service level's warning raised), breached (open and past a service level), each of my
    /// groups and all; for a requester, their own records (the incident process shows them no
    /// others).
    private func home(_ page: ConsolePage, _ request: Request) async -> Response {
        let query = Self.query(request)
        let strings = ConsoleStrings.english
        let queue = query["queue"] ?? (page.isDesk ? "mine" : "own")
        let after = query["after"]
        var queues: [(id: String, label: String, params: [String: JSONValue])] = []
        if page.isDesk {
            queues.append(("mine", strings["queueMine"]!, ["assignee": .string(page.principal.name)]))
            queues.append(("new", strings["queueNew"]!, ["status": "new"]))
            queues.append(("unassigned", strings["queueUnassigned"]!, ["open": true, "unassigned": true]))
            queues.append(("at-risk", strings["queueAtRisk"]!, ["atRisk": true]))
            queues.append(("breached", strings["queueBreached"]!, ["breached": true, "open": true]))
            for group in (try? await accounts.groupNames(of: page.principal.name)) ?? [] {
                queues.append(("group:\(group)", "\(strings["queueGroup"]!) \(group)", ["assignmentGroup": .string(group)]))
            }
            queues.append(("all", strings["queueAll"]!, [:]))
        } else {
            queues.append(("own", strings["queueOwn"]!, [:]))
        }
        let current = queues.first { $0.id == queue } ?? queues[0]
        var params = current.params
        params["limit"] = 25
        if let after { params["after"] = .string(after) }
        // Narrowed by priority and sorted as asked, within the queue; only values the list takes.
        let sort = query["sort"].flatMap { Self.queueSorts.contains($0) ? $0 : nil } ?? "updated"
        let priority = query["priority"].flatMap { Self.priorities.contains($0) ? $0 : nil }
        // And to one customer, where customers are kept (the service process): a name, not
        // checked against the list, so a customer removed since still finds its records.
        let customers = router.route(for: "customer.list") != nil
        let customer = query["customer"].flatMap { customers && Self.isName($0) ? $0 : nil }
        params["sort"] = .string(sort)
        // Most urgent first is P1 first, and the longest waiting among equals.
        params["order"] = sort == "priority" ? "asc" : "desc"
        if let priority { params["priority"] = .string(priority) }
        if let customer { params["customer"] = .string(customer) }
        var context = page.common
        context["queueId"] = current.id
        context["sorts"] = Self.queueSorts.map { ["value": $0, "label": strings["sort" + $0.prefix(1).uppercased() + $0.dropFirst()] ?? $0, "selected": $0 == sort] }
        context["priorityChoices"] = Self.priorities.map { ["value": $0, "selected": $0 == priority] }
        if customers {
            context["customerFilter"] = ["value": customer ?? ""]
            if case .success(let known) = await page.call("customer.list", ["status": "active"]) {
                context["customerChoices"] = (known["items"]?.arrayValue ?? []).prefix(500).compactMap { $0["name"]?.stringValue }
            }
        }
        context["title"] = current.label
        context["queueTitle"] = current.label
        context["canReport"] = page.principal.allows("incident.write")
        context["queues"] = queues.map { ["label": $0.label, "href": "/console/?queue=\(Self.percentEncoded($0.id))", "current": $0.id == current.id] }
        switch await page.call("incident.list", params) {
        case .success(let result):
            let items = result["items"]?.arrayValue ?? []
            context["rows"] = items.map { item in
                ["number": item["number"]?.stringValue ?? "", "href": "/console/incidents/\(item["number"]?.stringValue ?? "")",
                 "title": item["title"]?.stringValue ?? "", "priority": item["priority"]?.stringValue ?? "",
                 "status": item["status"]?.stringValue ?? "", "group": item["assignmentGroup"]?.stringValue ?? "",
                 "assignee": item["assignee"]?.stringValue ?? "", "updated": Self.shortDate(item["updatedAt"]?.stringValue)]
            }
            context["hasRows"] = !items.isEmpty
            context["total"] = result["total"]?.intValue ?? 0
            if result["totalIsEstimate"]?.boolValue == true { context["totalIsEstimate"] = true }
            context["shown"] = items.count
            // Pages follow the list's cursor, which costs the same at any depth; the way back
            // is the browser's, or the first page.
            let base = "/console/?queue=\(Self.percentEncoded(current.id))&sort=\(sort)" + (priority.map { "&priority=\($0)" } ?? "")
                + (customer.map { "&customer=\(Self.percentEncoded($0))" } ?? "")
            if after != nil { context["firstPageLink"] = base }
            if let next = result["nextCursor"]?.stringValue { context["next"] = "\(base)&after=\(Self.percentEncoded(next))" }
        case .failure(let error):
            context["error"] = error.message
            context["hasRows"] = false
        }
        Self.addMessages(of: request, to: &context)
        if page.isDesk { context["live"] = "queue=1" }
        return Self.page("home", context)
    }

    /// How a queue may be ordered: by last change (the default), newest, or most urgent first.
    static let queueSorts = ["updated", "created", "priority"]
    /// The priorities a form or filter offers, P1 first.
    static let priorities = (1...5).map { "P\($0)" }

    /// One record: its fields, clocks, comments and history, and the forms of what the person may do.
    private func incident(_ number: String, _ page: ConsolePage, _ request: Request) async -> Response {
        let strings = ConsoleStrings.english
        let detail: JSONValue
        switch await page.call("incident.get", ["number": .string(number), "history": true, "comments": true]) {
        case .success(let found): detail = found
        case .failure(let error) where error.kind == "incident.not_found" || error.code == .invalidParams:
            return Self.page("message", page.common.merging(["title": "404", "message": strings["notFound"]!]) { $1 }, status: .notFound)
        case .failure(let error):
            return Self.page("message", page.common.merging(["title": "\(error.kind ?? "error")", "message": error.message]) { $1 },
                             status: Self.status(for: error))
        }
        let record = detail["incident"] ?? .object([:])
        let status = record["status"]?.stringValue ?? ""
        var context = page.common
        context["title"] = "\(record["number"]?.stringValue ?? number) \(record["title"]?.stringValue ?? "")"
        context["base"] = "/console/incidents/\(record["number"]?.stringValue ?? number)"
        var fields: [String: Any] = [:]
        for member in ["number", "title", "status", "priority", "caller", "service", "configurationItem", "category", "subcategory",
                       "impact", "urgency", "assignmentGroup", "assignee"] {
            fields[member] = record[member]?.stringValue ?? ""
        }
        if let description = record["description"]?.stringValue, !description.isEmpty { fields["description"] = description }
        fields["createdAt"] = Self.shortDate(record["createdAt"]?.stringValue)
        if let workaround = detail["workaround"]?["workaround"]?.stringValue { fields["workaround"] = workaround }
        // Only what is set: the template shows a section for any key it is given.
        for member in ["customer", "problem", "knownError", "majorReason", "majorDeclaredBy"] {
            if let value = record[member]?.stringValue, !value.isEmpty { fields[member] = value }
        }
        // The problem and the known error open on their own pages when the person may read them there.
        for (member, namespace) in [("problem", "problem"), ("knownError", "knownerror")] {
            guard let number = fields[member] as? String, let get = router.route(for: "\(namespace).get")?.descriptor,
                  page.principal.allows(get.permission) else { continue }
            fields[member + "Link"] = "/console/p/\(namespace)/records/" + Self.percentEncoded(number)
        }
        let escalation = record["escalationLevel"]?.intValue ?? 0
        if escalation > 0 { fields["escalationLevel"] = escalation }
        let major = record["major"] == .bool(true)
        if major { fields["major"] = true }
        if let review = detail["review"], case .object = review {
            fields["review"] = ["summary": review["summary"]?.stringValue ?? "", "by": review["reviewedBy"]?.stringValue ?? "",
                                "actions": (review["actions"]?.arrayValue ?? []).compactMap(\.stringValue)]
        }
        context["incident"] = fields
        let clocks = (detail["serviceLevels"]?.arrayValue ?? []).map { clock -> [String: Any] in
            // A running clock's due time, exact for the script that counts down to it.
            let due = clock["stoppedAt"]?.stringValue == nil ? clock["dueAt"]?.stringValue : nil
            return ["kind": clock["kind"]?.stringValue ?? "", "state": clock["state"]?.stringValue ?? "",
                    "due": Self.shortDate(due), "dueAt": due ?? ""]
        }
        context["clocks"] = clocks
        context["hasClocks"] = !clocks.isEmpty
        context["comments"] = (detail["comments"]?.arrayValue ?? []).map { comment -> [String: Any] in
            let visibility = comment["visibility"]?.stringValue ?? ""
            return ["author": comment["author"]?.stringValue ?? "", "at": Self.shortDate(comment["at"]?.stringValue),
                    "body": comment["body"]?.stringValue ?? "", "visibility": visibility,
                    "label": visibility == "work_note" ? strings["workNote"]! : strings["customerComment"]!]
        }
        Self.addHistory(detail["history"], to: &context)
        context["edit"] = Self.editableFields(of: record)
        let canWrite = page.principal.allows("incident.write")
        context["canComment"] = canWrite
        context["desk"] = canWrite && page.isDesk
        context["requester"] = canWrite && !page.isDesk
        context["canConfirm"] = status == "resolved"
        let open = ["new", "assigned", "in_progress", "on_hold"].contains(status)
        context["canWithdraw"] = open
        context["targets"] = ["in_progress", "on_hold", "resolved", "closed", "cancelled"].filter { $0 != status }
        context["canEscalate"] = open
        if open && !major { context["canDeclareMajor"] = true }
        if major && (status == "resolved" || status == "closed") && detail["review"]?.objectValue == nil { context["canReview"] = true }
        Self.addMessages(of: request, to: &context)
        context["live"] = "record=" + Self.percentEncoded(number)
        return Self.page("incident", context)
    }

    /// The details a desk edits with `incident.update` where an empty value clears them.
    static let clearableIncidentFields = ["description", "service", "configurationItem", "category", "subcategory"]

    /// The record's editable details as the edit form shows them: each text as it is, impact
    /// and urgency as choices with the current one chosen.
    static func editableFields(of record: JSONValue) -> [String: Any] {
        var fields: [String: Any] = [:]
        for member in ["title"] + clearableIncidentFields { fields[member] = record[member]?.stringValue ?? "" }
        for member in ["impact", "urgency"] {
            let current = record[member]?.stringValue
            fields[member] = ["high", "medium", "low"].map { ["value": $0, "selected": $0 == current] }
        }
        return fields
    }

    /// Full-text search over the records the person may see, the matched words marked, and the
    /// known errors whose symptoms match, when the person may read them.
    private func search(_ page: ConsolePage, _ request: Request) async -> Response {
        let query = Self.query(request)["q"]?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !query.isEmpty else { return Self.redirect("/console/") }
        var context = page.common
        context["title"] = "\(ConsoleStrings.english["searchResults"]!) \(query)"
        context["query"] = query
        switch await page.call("incident.search", ["query": .string(query), "limit": 50]) {
        case .success(let result):
            let hits = (result.arrayValue ?? []).map { hit -> [String: Any] in
                let record = hit["incident"] ?? .object([:])
                let number = record["number"]?.stringValue ?? ""
                return ["number": number, "href": "/console/incidents/\(number)", "title": record["title"]?.stringValue ?? "",
                        "status": record["status"]?.stringValue ?? "", "priority": record["priority"]?.stringValue ?? "",
                        "snippet": Self.markedSnippet(hit["snippet"]?.stringValue ?? "")]
            }
            context["hits"] = hits
            context["hasHits"] = !hits.isEmpty
        case .failure(let error):
            context["error"] = error.message
            context["hasHits"] = false
        }
        // The known errors whose symptoms match, with their workaround: what the desk applies first.
        if let known = router.route(for: "knownerror.search")?.descriptor, page.principal.allows(known.permission),
           case .success(let found) = await page.call(known.name, ["text": .string(query), "limit": 5]) {
            let canOpen = router.route(for: "knownerror.get").map { page.principal.allows($0.descriptor.permission) } ?? false
            let knownErrors = (found["items"]?.arrayValue ?? []).map { item -> [String: Any] in
                let number = item["number"]?.stringValue ?? ""
                var entry: [String: Any] = ["number": number, "title": item["title"]?.stringValue ?? "",
                                            "problem": item["problem"]?.stringValue ?? "", "workaround": item["workaround"]?.stringValue ?? ""]
                if canOpen { entry["href"] = "/console/p/knownerror/records/" + Self.percentEncoded(number) }
                return entry
            }
            context["knownErrors"] = knownErrors
            context["hasKnownErrors"] = !knownErrors.isEmpty
        }
        return Self.page("search", context)
    }

    /// A search snippet as HTML: everything escaped, then the search's own highlight markers
    /// (`<b>`, `</b>`) made `<mark>`, so a record's text cannot add markup.
    static func markedSnippet(_ snippet: String) -> String {
        let escaped = HTMLText.escaped(snippet)
        return escaped.replacingOccurrences(of: "&lt;b&gt;", with: "<mark>").replacingOccurrences(of: "&lt;/b&gt;", with: "</mark>")
    }

    /// Accounts and their roles; a form to create one and buttons to disable or enable, for those with `users.write`.
    private func usersPage(_ page: ConsolePage, _ request: Request) async throws -> Response {
        guard page.principal.allows("users.read") else { return Self.forbidden(page, "users.read") }
        let strings = ConsoleStrings.english
        let canWrite = page.principal.allows("users.write")
        var context = page.common
        context["title"] = strings["people"]!
        context["canWrite"] = canWrite
        context["accounts"] = try await accounts.list().map { account -> [String: Any] in
            ["name": account.name, "displayName": account.displayName, "email": account.email ?? "", "roles": account.roles.joined(separator: ", "),
             "source": account.source, "state": account.disabled ? strings["disabled"]! : account.lockedUntil != nil ? "locked" : strings["active"]!,
             "toggle": account.disabled ? "enable" : "disable", "toggleLabel": account.disabled ? strings["enable"]! : strings["disable"]!,
             "canWrite": canWrite]
        }
        context["roles"] = try await accounts.roles().map { ["name": $0.name, "description": $0.description] }
        Self.addMessages(of: request, to: &context)
        return Self.page("users", context)
    }

    /// Runs a change to accounts or groups for the signed-in administrator, records it in the
    /// audit log, and goes back to `back` with the outcome (by default the account list, the
    /// notice naming `target`).
    func consoleAdminChange(_ page: ConsolePage, action: String, target: String, details: [String: JSONValue],
                                    back: String = "/console/admin/users", notice: String? = nil,
                                    _ change: () async throws(AccountError) -> Void) async -> Response {
        guard page.principal.allows("users.write") else { return Self.forbidden(page, "users.write") }
        let result: Result<JSONValue, ResponseError>
        do throws(AccountError) {
            try await change()
            result = .success(.null)
        } catch {
            result = .failure(error.responseError)
        }
        await record(action, by: page.principal, target: target, result, details: .object(details))
        switch result {
        case .success: return Self.redirect(back, notice: notice ?? "\(target): \(ConsoleStrings.english["done"]!)")
        case .failure(let error): return Self.redirect(back, error: error.message)
        }
    }

    /// The notification rules, each to be enabled or disabled, and the latest notifications
    /// with how they went, a failed one to be sent again: what support looks at when someone
    /// says they were never told.
    private func notificationsPage(_ page: ConsolePage, _ request: Request) async -> Response {
        let strings = ConsoleStrings.english
        guard page.principal.allows("notification.read") else { return Self.forbidden(page, "notification.read") }
        let canWrite = page.principal.allows("notification.write")
        var context = page.common
        context["title"] = strings["notifications"]!
        context["canWrite"] = canWrite
        // What a rule can name: the events the notification process takes, and its kinds of recipient.
        context["events"] = router.eventCatalog.filter { $0.subscribers.contains("notification") }.map(\.type).sorted()
        context["recipientKinds"] = ["assignee", "caller", "requester", "approver", "group", "groupLeads", "role", "address", "webhook"]
        switch await page.call("notification.rule_list", [:]) {
        case .success(let list):
            context["rules"] = (list["items"]?.arrayValue ?? []).map { rule -> [String: Any] in
                let enabled = rule["enabled"]?.boolValue ?? false
                let recipients = (rule["recipients"]?.arrayValue ?? []).map { recipient in
                    (recipient["kind"]?.stringValue ?? "") + (recipient["value"]?.stringValue.map { " \($0)" } ?? "")
                }
                return ["name": rule["name"]?.stringValue ?? "", "event": rule["event"]?.stringValue ?? "",
                        "recipients": recipients.joined(separator: ", "), "state": enabled ? strings["active"]! : strings["disabled"]!,
                        "toggle": enabled ? "disable" : "enable", "toggleLabel": enabled ? strings["disable"]! : strings["enable"]!,
                        "canWrite": canWrite]
            }
        case .failure(let error):
            context["error"] = error.message
        }
        if case .success(let list) = await page.call("notification.list", ["limit": 50]) {
            context["deliveries"] = (list["items"]?.arrayValue ?? []).map { item -> [String: Any] in
                let status = item["status"]?.stringValue ?? ""
                return ["id": item["id"]?.stringValue?.lowercased() ?? "", "at": Self.shortDate(item["createdAt"]?.stringValue ?? ""),
                        "event": item["event"]?.stringValue ?? "", "record": item["subject"]?.stringValue ?? "",
                        "recipient": item["recipient"]?.stringValue ?? "", "status": status,
                        "attempts": item["attempts"]?.intValue ?? 0, "lastError": item["lastError"]?.stringValue ?? "",
                        "canRetry": canWrite && (status == "failed" || status == "skipped")]
            }
        }
        Self.addMessages(of: request, to: &context)
        return Self.page("notifications", context)
    }

    /// The audit log, newest last, filtered by period, actor and action, with the chain's state.
    private func auditPage(_ page: ConsolePage, _ request: Request) async throws -> Response {
        guard page.principal.allows("audit.read") else { return Self.forbidden(page, "audit.read") }
        let query = Self.query(request)
        let text = { (name: String) -> String? in
            query[name].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        }
        var context = page.common
        context["title"] = ConsoleStrings.english["auditLog"]!
        context["canExportEvidence"] = page.principal.allows("evidence.read")
        for name in ["from", "to", "actor", "action"] { context[name] = text(name) ?? "" }
        let from = text("from").flatMap { try? Date($0, strategy: .iso8601) }
        let to = text("to").flatMap { try? Date($0, strategy: .iso8601) }
        if (text("from") != nil && from == nil) || (text("to") != nil && to == nil) {
            context["error"] = "from, to: a date and time like 2026-01-31T00:00:00Z"
        }
        let after = max(0, text("after").flatMap { Int64($0) } ?? 0)
        let entries = try await audit.entries(from: from, to: to, actor: text("actor"), action: text("action"), after: after, limit: 100)
        context["rows"] = entries.map { entry -> [String: Any] in
            ["seq": entry.seq, "at": Self.shortDate(entry.at.formatted(.iso8601)), "actor": entry.actor, "action": entry.action,
             "target": entry.target ?? "", "outcome": entry.outcome, "client": entry.clientAddress ?? ""]
        }
        if entries.count == 100, let last = entries.last {
            var next = "/console/audit?after=\(last.seq)"
            for name in ["from", "to", "actor", "action"] { if let value = text(name) { next += "&\(name)=\(Self.percentEncoded(value))" } }
            context["next"] = next
        }
        let verification = try await audit.verify()
        if let broken = verification.broken {
            context["broken"] = ["seq": broken.seq, "reason": broken.reason]
        } else {
            context["intact"] = ["entries": verification.entries, "head": verification.head ?? "-"]
        }
        return Self.page("audit", context)
    }

    static func forbidden(_ page: ConsolePage, _ permission: String) -> Response {
        Self.page("message", page.common.merging(["title": "403", "message": page.principal.lacking(permission).message]) { $1 },
                  status: .forbidden)
    }

    // MARK: - Helpers

    /// The message a redirect after a form carries (`?notice=` or `?error=`), if any.
    static func addMessages(of request: Request, to context: inout [String: Any]) {
        let query = Self.query(request)
        if let notice = query["notice"] { context["notice"] = notice }
        if let error = query["error"] { context["error"] = error }
    }

    static func page(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var context = context
        if context["t"] == nil { context["t"] = ConsoleStrings.english }
        let html = ConsoleTemplates.library.render(context, withTemplate: template) ?? ""
        return Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8",
            // Only our own styles, no scripts from anywhere, never framed (clickjacking).
            // Images may also be data: URIs (the capacity plan's charts): an SVG shown as an image runs nothing.
            .contentSecurityPolicy: "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
            .init("X-Content-Type-Options")!: "nosniff",
            .init("Referrer-Policy")!: "same-origin",
            .cacheControl: "no-store",
        ], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func redirect(_ location: String, notice: String? = nil, error: String? = nil) -> Response {
        var target = location
        if let notice { target += (target.contains("?") ? "&" : "?") + "notice=" + percentEncoded(notice) }
        if let error { target += (target.contains("?") ? "&" : "?") + "error=" + percentEncoded(error) }
        return Response(status: .seeOther, headers: [.location: target])
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    /// An `application/x-www-form-urlencoded` body (up to 64 KiB): each field's values in order.
    static func form(_ request: Request) async -> [String: [String]] {
        guard let body = try? await request.body.collect(upTo: 64 * 1024),
              let text = body.getString(at: body.readerIndex, length: body.readableBytes) else { return [:] }
        return formDecoded(text)
    }

    /// The query of a page's address as a form sent with GET writes it (a space as `+`), the
    /// first value of each field.
    static func query(_ request: Request) -> [String: String] {
        formDecoded(request.uri.query ?? "").compactMapValues(\.first)
    }

    /// `application/x-www-form-urlencoded` text: every value of each field.
    static func formDecoded(_ text: String) -> [String: [String]] {
        var fields: [String: [String]] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard let name = parts.first.map(decode), !name.isEmpty else { continue }
            // Control characters other than line breaks have no place in a form field (a NUL would cut text short).
            let value = parts.count > 1 ? decode(parts[1]) : ""
            fields[name, default: []].append(String(value.unicodeScalars.filter { $0.value >= 0x20 || $0 == "\n" || $0 == "\r" || $0 == "\t" }))
        }
        return fields
    }

    /// A record's history for the `history` partial.
    static func addHistory(_ history: JSONValue?, to context: inout [String: Any]) {
        let entries = (history?.arrayValue ?? []).map { entry -> [String: Any] in
            ["at": shortDate(entry["at"]?.stringValue), "actor": entry["actor"]?.stringValue ?? "",
             "field": entry["field"]?.stringValue ?? "", "oldValue": entry["oldValue"]?.stringValue ?? "",
             "newValue": entry["newValue"]?.stringValue ?? ""]
        }
        context["history"] = entries
        context["hasHistory"] = !entries.isEmpty
    }

    /// `2026-11-30T12:13:12.653Z` as `2026-11-30 12:13` (UTC).
    static func shortDate(_ iso: String?) -> String {
        guard let iso, iso.count >= 16 else { return iso ?? "" }
        return iso.prefix(16).replacingOccurrences(of: "T", with: " ")
    }
}
