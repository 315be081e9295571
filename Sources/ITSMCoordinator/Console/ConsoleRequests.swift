import Foundation
import Hummingbird
import ITSMProtocol

/// The console's requests: the catalogue, a form drawn from each item's schema, the lists that
/// matter to the person (theirs, awaiting their approval, tasks for their groups), and the
/// request page with its approvals and tasks. Every change goes through `HTTPAPI.call`, as the
/// API's do; the service process decides who may do what.
extension HTTPAPI {
    func addRequestRoutes(to routes: Router<APIRequestContext>) {
        routes.get("console/requests") { request, _ in
            await console(request) { page in await requestsPage(page, request) }
        }
        routes.get("console/requests/new/:item") { request, context in
            let item = context.parameters.get("item") ?? ""
            return await console(request) { page in await requestForm(item, page, request) }
        }
        routes.post("console/requests") { request, _ in
            await console(request, form: true) { page in
                let item = page.form["item"] ?? ""
                let back = "/console/requests/new/\(Self.percentEncoded(item))"
                guard case .success(let definition) = await page.call("request_item.get", ["name": .string(item)]) else {
                    return Self.redirect("/console/requests", error: ConsoleStrings.english["notFound"]!)
                }
                var params: [String: JSONValue] = ["item": .string(item)]
                let form = (try? (definition["form"] ?? .object([:])).decode(JSONSchema.self)) ?? .any
                switch Result(catching: { () throws(ResponseError) in try Self.typedFields(page.formValues, schema: form, at: "answers") }) {
                case .success(let answers): params["answers"] = .object(answers)
                case .failure(let error): return Self.redirect(back, error: error.message)
                }
                if let requester = page.form["_requester"]?.trimmingCharacters(in: .whitespaces), !requester.isEmpty {
                    params["requester"] = .string(requester)
                }
                switch await page.call("request.raise", params) {
                case .success(let raised):
                    let number = raised["number"]?.stringValue ?? ""
                    return Self.redirect("/console/requests/\(number)", notice: "\(number): \(ConsoleStrings.english["done"]!)")
                case .failure(let error):
                    return Self.redirect(back, error: error.message)
                }
            }
        }
        routes.get("console/requests/:number") { request, context in
            let number = context.parameters.get("number") ?? ""
            return await console(request) { page in await requestPage(number, page, request) }
        }
        routes.post("console/requests/:number/:action") { request, context in
            let number = context.parameters.get("number") ?? ""
            let action = context.parameters.get("action") ?? ""
            return await console(request, form: true) { page in
                let calls: [String: (method: String, members: [String])] = [
                    "decide": ("request.decide", ["decision", "comment"]), "complete": ("request.complete_task", ["task", "notes"]),
                    "cancel": ("request.cancel", ["reason"]),
                ]
                guard let call = calls[action] else {
                    return Self.page("message", ["title": "404", "message": ConsoleStrings.english["notFound"]!], status: .notFound)
                }
                var params: [String: JSONValue] = ["number": .string(number)]
                for member in call.members { if let value = page.form[member], !value.isEmpty { params[member] = .string(value) } }
                let back = "/console/requests/\(Self.percentEncoded(number))"
                switch await page.call(call.method, params) {
                case .success: return Self.redirect(back, notice: ConsoleStrings.english["done"]!)
                case .failure(let error): return Self.redirect(back, error: error.message)
                }
            }
        }
    }

    private func requestsPage(_ page: ConsolePage, _ request: Request) async -> Response {
        let strings = ConsoleStrings.english
        guard page.principal.allows("service.read") else { return Self.forbidden(page, "service.read") }
        var context = page.common
        context["title"] = strings["requests"]!
        if case .success(let catalogue) = await page.call("request_item.list", [:]) {
            context["items"] = (catalogue["items"]?.arrayValue ?? []).map { item -> [String: Any] in
                var shown: [String: Any] = ["name": item["name"]?.stringValue ?? "", "title": item["title"]?.stringValue ?? "",
                                            "service": item["service"]?.stringValue ?? ""]
                if let description = item["description"]?.stringValue, !description.isEmpty { shown["description"] = description }
                return shown
            }
        }
        var lists: [(id: String, label: String, params: [String: JSONValue])] = [
            ("awaiting", strings["requestsAwaitingMe"]!, ["awaitingMyApproval": true]),
        ]
        if page.principal.allows("service.fulfil") { lists.append(("tasks", strings["requestsMyTasks"]!, ["myTasks": true])) }
        lists.append(("mine", strings["requestsMine"]!, ["requester": .string(page.principal.name)]))
        if page.principal.allows("service.all.read") { lists.append(("open", strings["requestsOpen"]!, ["status": "in_fulfilment"])) }
        var shown: [[String: Any]] = []
        for list in lists {
            guard case .success(let found) = await page.call("request.list", list.params) else { continue }
            shown.append(["id": list.id, "label": list.label, "rows": (found["items"]?.arrayValue ?? []).map(Self.requestRow)])
        }
        context["lists"] = shown
        // For service level managers: each customer, its agreements, its open review actions and its report.
        if page.principal.allows("service.report.read"), case .success(let customers) = await page.call("customer.list", ["status": "active"]),
           case .success(let agreements) = await page.call("agreement.list", ["status": "active"]),
           case .success(let reviews) = await page.call("service_review.list", ["openActions": true]) {
            let byCustomer = Dictionary(grouping: agreements["items"]?.arrayValue ?? []) { $0["customer"]?.stringValue ?? "" }
            let open = Dictionary(grouping: (reviews["items"]?.arrayValue ?? []).flatMap { review in
                (review["actions"]?.arrayValue ?? []).filter { $0["done"]?.boolValue != true }.map { _ in review["customer"]?.stringValue ?? "" }
            }) { $0 }
            context["serviceLevels"] = ["customers": (customers["items"]?.arrayValue ?? []).prefix(100).map { customer -> [String: Any] in
                let name = customer["name"]?.stringValue ?? ""
                return ["name": name, "path": Self.percentEncoded(name), "openActions": open[name]?.count ?? 0,
                        "agreements": (byCustomer[name] ?? []).map { "\($0["reference"]?.stringValue ?? "") (\($0["service"]?.stringValue ?? ""))" }
                            .joined(separator: ", ")]
            }]
        }
        Self.addMessages(of: request, to: &context)
        return Self.page("requests", context)
    }

    static func requestRow(_ item: JSONValue) -> [String: Any] {
        let status = item["status"]?.stringValue ?? ""
        return ["number": item["number"]?.stringValue ?? "", "title": item["title"]?.stringValue ?? "",
                "requester": item["requester"]?.stringValue ?? "", "status": status, "statusLabel": statusLabel(status),
                "created": shortDate(item["createdAt"]?.stringValue)]
    }

    static func statusLabel(_ status: String) -> String {
        let key = "status" + status.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        return ConsoleStrings.english[key] ?? status
    }

    /// The item's form, one field per property of its schema, in the order listed.
    private func requestForm(_ name: String, _ page: ConsolePage, _ request: Request) async -> Response {
        var context = page.common
        switch await page.call("request_item.get", ["name": .string(name)]) {
        case .failure(let error):
            return Self.page("message", page.common.merging(["title": error.kind ?? "error", "message": error.message]) { $1 },
                             status: HTTPAPI.status(for: error))
        case .success(let item):
            context["title"] = item["title"]?.stringValue ?? name
            var shown: [String: Any] = ["name": name, "title": item["title"]?.stringValue ?? name]
            if let description = item["description"]?.stringValue, !description.isEmpty { shown["description"] = description }
            context["item"] = shown
            // The item's form is a params schema with titles and defaults: drawn as every other form.
            let form = item["form"] ?? .object([:])
            let properties = form["properties"]?.objectValue ?? [:]
            context["fields"] = Self.formFields((try? form.decode(JSONSchema.self)) ?? .any,
                                                titles: properties.compactMapValues { $0["title"]?.stringValue },
                                                defaults: properties.compactMapValues { $0["default"] })
            context["forOthers"] = page.principal.allows("service.fulfil")
        }
        Self.addMessages(of: request, to: &context)
        return Self.page("request-new", context)
    }

    private func requestPage(_ number: String, _ page: ConsolePage, _ request: Request) async -> Response {
        let strings = ConsoleStrings.english
        let found: JSONValue
        switch await page.call("request.get", ["number": .string(number), "history": true]) {
        case .success(let value): found = value
        case .failure(let error):
            return Self.page("message", page.common.merging(["title": error.kind ?? "error", "message": error.message]) { $1 },
                             status: HTTPAPI.status(for: error))
        }
        var context = page.common
        let status = found["status"]?.stringValue ?? ""
        context["title"] = "\(number) · \(found["title"]?.stringValue ?? "")"
        context["base"] = "/console/requests/\(Self.percentEncoded(number))"
        let clock = found["clock"] ?? .object([:])
        let target = clock["targetMinutes"]?.intValue.map(String.init) ?? ""
        let clockText: String
        if let minutes = clock["businessMinutes"]?.doubleValue ?? clock["businessMinutes"]?.intValue.map(Double.init) {
            let spent = minutes.figure(fractionDigits: 1)
            clockText = (clock["met"]?.boolValue == true ? strings["clockMet"]! : strings["clockMissed"]!)
                .replacingOccurrences(of: "%1", with: spent).replacingOccurrences(of: "%2", with: target)
        } else if let due = clock["dueAt"]?.stringValue {
            clockText = strings["clockRunning"]!.replacingOccurrences(of: "%1", with: target).replacingOccurrences(of: "%2", with: Self.shortDate(due))
        } else {
            clockText = strings["clockWaiting"]!.replacingOccurrences(of: "%1", with: target)
        }
        context["request"] = [
            "number": number, "title": found["title"]?.stringValue ?? "", "statusLabel": Self.statusLabel(status),
            "requester": found["requester"]?.stringValue ?? "", "service": found["service"]?.stringValue ?? "",
            "created": Self.shortDate(found["createdAt"]?.stringValue), "clock": clockText,
            "answers": (found["answers"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { name, value in
                ["name": name, "value": value.stringValue ?? String(decoding: value.serialized(), as: UTF8.self)]
            },
        ]
        let approvals = found["approvals"]?.arrayValue ?? []
        context["approvals"] = approvals.map { step -> [String: Any] in
            let approver = step["approver"] ?? .object([:])
            return ["level": step["level"]?.intValue ?? 0, "approver": "\(approver["kind"]?.stringValue ?? "") \(approver["name"]?.stringValue ?? "")",
                    "state": step["state"]?.stringValue ?? "", "decidedBy": step["decidedBy"]?.stringValue ?? "",
                    "comment": step["comment"]?.stringValue ?? ""]
        }
        // Offered to anyone but the requester while a level waits; the service process decides who that level names.
        context["canDecide"] = status == "awaiting_approval" && found["requester"]?.stringValue != page.principal.name
            && page.principal.allows("service.request")
        let fulfils = page.principal.allows("service.fulfil")
        context["tasks"] = (found["tasks"]?.arrayValue ?? []).enumerated().map { index, task -> [String: Any] in
            ["id": index + 1, "name": task["name"]?.stringValue ?? "", "group": task["group"]?.stringValue ?? "",
             "state": task["state"]?.stringValue ?? "", "assignee": task["assignee"]?.stringValue ?? "",
             "doneBy": task["doneBy"]?.stringValue ?? "", "notes": task["notes"]?.stringValue ?? "",
             "canComplete": fulfils && task["state"]?.stringValue == "ready" && status == "in_fulfilment"]
        }
        context["canCancel"] = (status == "awaiting_approval" || status == "in_fulfilment")
            && (fulfils || found["requester"]?.stringValue == page.principal.name)
        Self.addHistory(found["history"], to: &context)
        Self.addMessages(of: request, to: &context)
        context["live"] = "record=" + Self.percentEncoded(number)
        return Self.page("request", context)
    }
}
