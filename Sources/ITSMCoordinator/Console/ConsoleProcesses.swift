import Foundation
import Hummingbird
import ITSMProtocol

/// Pages for every kind of record a process keeps, drawn from the schemas its manifest
/// declares: for each method namespace with a `list` (`change`, `customer`, `knownerror`…), a
/// list (with a filter for each member that takes one of a few values), a record page from its
/// `get`, a form from its `create` (or `set`, `record`, `plan`, `raise`), and a form for each of
/// its other changes to one record. A custom process, in any language, gets them without a page
/// written for it; the built-in ones get them beside their own.
extension HTTPAPI {
    func addProcessRoutes(to routes: Router<APIRequestContext>) {
        routes.get("console/processes") { request, _ in
            await console(request) { page in processesPage(page, request) }
        }
        routes.get("console/admin/processes") { request, _ in
            await console(request) { page in await processStatesPage(page, request) }
        }
        routes.post("console/admin/processes/reload") { request, _ in
            await console(request, form: true) { page in
                guard page.principal.allows("plugins.write") else { return Self.forbidden(page, "plugins.write") }
                switch await reloadPlugins(by: page.principal) {
                case .success: return Self.redirect("/console/admin/processes", notice: ConsoleStrings.english["done"]!)
                case .failure(let error): return Self.redirect("/console/admin/processes", error: error.message)
                }
            }
        }
        routes.post("console/admin/processes/:name/restart") { request, context in
            let name = context.parameters.get("name") ?? ""
            return await console(request, form: true) { page in
                guard page.principal.allows("plugins.write") else { return Self.forbidden(page, "plugins.write") }
                switch await restartPlugin(name, by: page.principal) {
                case .success: return Self.redirect("/console/admin/processes", notice: "\(name): \(ConsoleStrings.english["done"]!)")
                case .failure(let error): return Self.redirect("/console/admin/processes", error: error.message)
                }
            }
        }
        for (verb, enabled) in [("enable", true), ("disable", false)] {
            routes.post("console/admin/processes/:name/\(verb)") { request, context in
                let name = context.parameters.get("name") ?? ""
                return await console(request, form: true) { page in
                    guard page.principal.allows("plugins.write") else { return Self.forbidden(page, "plugins.write") }
                    switch await switchPlugin(name, enabled: enabled, by: page.principal) {
                    case .success: return Self.redirect("/console/admin/processes", notice: "\(name): \(ConsoleStrings.english["done"]!)")
                    case .failure(let error): return Self.redirect("/console/admin/processes", error: error.message)
                    }
                }
            }
        }
        routes.get("console/p/:process") { request, context in
            let process = context.parameters.get("process") ?? ""
            return await console(request) { page in await processList(process, page, request) }
        }
        routes.get("console/p/:process/new") { request, context in
            let process = context.parameters.get("process") ?? ""
            return await console(request) { page in processForm(process, page, request) }
        }
        routes.post("console/p/:process") { request, context in
            let process = context.parameters.get("process") ?? ""
            return await console(request, form: true) { page in
                let back = "/console/p/\(Self.percentEncoded(process))"
                guard let create = creation(process, for: page) else { return Self.redirect("/console/processes", error: ConsoleStrings.english["notFound"]!) }
                let params: [String: JSONValue]
                switch Result(catching: { () throws(ResponseError) in try Self.typedFields(page.formValues, schema: create.params ?? .any, at: "params") }) {
                case .success(let typed): params = typed
                case .failure(let error): return Self.redirect(back + "/new", error: error.message)
                }
                switch await page.call(create.name, params) {
                case .success(let created):
                    guard let key = Self.recordKey(created) ?? Self.recordKey(created[process] ?? .null), method(process, "get", for: page) != nil else {
                        return Self.redirect(back, notice: ConsoleStrings.english["done"]!)
                    }
                    return Self.redirect(back + "/records/" + Self.percentEncoded(key), notice: "\(key): \(ConsoleStrings.english["done"]!)")
                case .failure(let error):
                    return Self.redirect(back + "/new", error: error.message)
                }
            }
        }
        routes.post("console/p/:process/records/:key/:verb") { request, context in
            let (process, key, verb) = (context.parameters.get("process") ?? "", context.parameters.get("key") ?? "", context.parameters.get("verb") ?? "")
            return await console(request, form: true) { page in
                let back = "/console/p/\(Self.percentEncoded(process))/records/\(Self.percentEncoded(key))"
                guard let get = method(process, "get", for: page), let member = Self.keyMember(of: get),
                      let action = recordActions(process, keyMember: member, for: page).first(where: { $0.name == "\(process).\(verb)" }) else {
                    return Self.redirect(back, error: ConsoleStrings.english["notFound"]!)
                }
                var params: [String: JSONValue]
                switch Result(catching: { () throws(ResponseError) in try Self.typedFields(page.formValues, schema: action.params ?? .any, at: "params") }) {
                case .success(let typed): params = typed
                case .failure(let error): return Self.redirect(back, error: error.message)
                }
                params[member] = .string(key)
                switch await page.call(action.name, params) {
                case .success: return Self.redirect(back, notice: ConsoleStrings.english["done"]!)
                case .failure(let error): return Self.redirect(back, error: error.message)
                }
            }
        }
        routes.get("console/p/:process/records/:key") { request, context in
            let (process, key) = (context.parameters.get("process") ?? "", context.parameters.get("key") ?? "")
            return await console(request) { page in await processRecord(process, key, page, request) }
        }
    }

    /// `<process>.<verb>` when the process declares it and the person may call it.
    private func method(_ process: String, _ verb: String, for page: ConsolePage) -> MethodDescriptor? {
        guard let descriptor = router.route(for: "\(process).\(verb)")?.descriptor, page.principal.allows(descriptor.permission) else { return nil }
        return descriptor
    }

    /// The verbs that make a new record, in the order they are looked for.
    static let creationVerbs = ["create", "set", "record", "plan", "raise", "define"]

    /// The method that makes a new record of this kind, when there is one the person may call.
    private func creation(_ namespace: String, for page: ConsolePage) -> MethodDescriptor? {
        Self.creationVerbs.lazy.compactMap { method(namespace, $0, for: page) }.first
    }

    /// The changes to one record: the namespace's other methods that are not reads, take the
    /// member its get method is keyed by, and that the person may call.
    private func recordActions(_ process: String, keyMember: String, for page: ConsolePage) -> [MethodDescriptor] {
        let making = creation(process, for: page)?.name
        return router.routes.map(\.descriptor).filter { method in
            method.name.hasPrefix(process + ".") && !method.idempotent && method.name != making
                && !method.name.dropFirst(process.count + 1).contains(".")
                && method.params?.properties?[keyMember] != nil && page.principal.allows(method.permission)
        }
    }

    /// The member a get method finds a record by: its one required member, else the first of
    /// number, name, reference and id it takes (`incident.get` takes a number or an id).
    static func keyMember(of get: MethodDescriptor) -> String? {
        if let required = get.params?.required?.first { return required }
        return ["number", "name", "reference", "id"].first { get.params?.properties?[$0] != nil }
    }

    /// What names a record: its number, else its name, reference or id.
    static func recordKey(_ record: JSONValue) -> String? {
        for member in ["number", "name", "reference", "id"] {
            if let text = record[member]?.stringValue ?? record[member]?.intValue.map(String.init) { return text }
        }
        return nil
    }

    /// What runs: each process's instances with their state, restarts and last error, for the
    /// operator; restarting one and reloading itsm.yaml for those who may.
    private func processStatesPage(_ page: ConsolePage, _ request: Request) async -> Response {
        guard page.principal.allows("plugins.read") else { return Self.forbidden(page, "plugins.read") }
        var context = page.common
        context["title"] = ConsoleStrings.english["processStates"]!
        let canWrite = page.principal.allows("plugins.write")
        context["canWrite"] = canWrite
        context["instances"] = await pluginStatuses().map { status -> [String: Any] in
            ["name": status.name, "instance": status.instance ?? "", "state": status.state.rawValue, "pid": status.pid.map(String.init) ?? "",
             "restarts": status.restarts, "version": status.version ?? "", "lastError": status.lastError ?? "",
             "canRestart": canWrite && status.state != .disabled && status.remoteAddress == nil,
             "canEnable": canWrite && status.state == .disabled, "canDisable": canWrite && status.state != .disabled]
        }
        Self.addMessages(of: request, to: &context)
        return Self.page("process-states", context)
    }

    private func processesPage(_ page: ConsolePage, _ request: Request) -> Response {
        var context = page.common
        context["title"] = ConsoleStrings.english["processes"]!
        // Every kind of record with a list, each under the process that declares it: `change`
        // from change.list, and `incident.sla` from incident.sla.list.
        let namespaces = Set(router.routes.map(\.descriptor.name).filter { $0.hasSuffix(".list") }.map { String($0.dropLast(".list".count)) })
        context["processes"] = namespaces.sorted().compactMap { namespace -> [String: Any]? in
            guard let list = method(namespace, "list", for: page), let owner = router.route(for: list.name)?.plugin else { return nil }
            return ["name": namespace, "process": owner, "description": list.description ?? "", "canCreate": creation(namespace, for: page) != nil]
        }
        Self.addMessages(of: request, to: &context)
        return Self.page("processes", context)
    }

    private func processList(_ process: String, _ page: ConsolePage, _ request: Request) async -> Response {
        let strings = ConsoleStrings.english
        guard let list = method(process, "list", for: page) else {
            return Self.page("message", page.common.merging(["title": "404", "message": strings["notFound"]!]) { $1 }, status: .notFound)
        }
        let query = Self.query(request)
        let properties = list.params?.properties ?? [:]
        var params: [String: JSONValue] = [:]
        let pageSize = 25
        if properties["limit"] != nil { params["limit"] = .int(Int64(pageSize)) }
        // By cursor when the list takes one (the same cost at any depth), else by offset.
        let byCursor = properties["after"] != nil
        let after = byCursor ? query["after"].flatMap { $0.isEmpty ? nil : $0 } : nil
        let offset = max(0, query["offset"].flatMap { Int($0) } ?? 0)
        if let after { params["after"] = .string(after) } else if !byCursor, properties["offset"] != nil, offset > 0 { params["offset"] = .int(Int64(offset)) }
        // A filter for each member that takes one of a few values.
        var filters: [[String: Any]] = []
        for (name, schema) in properties.sorted(by: { $0.key < $1.key }) {
            guard let values = schema.enum else { continue }
            let chosen = query[name].flatMap { values.contains($0) ? $0 : nil }
            if let chosen { params[name] = .string(chosen) }
            filters.append(["name": name, "choices": values.map { ["value": $0, "selected": $0 == chosen] }])
        }
        var context = page.common
        context["title"] = process
        context["process"] = process
        context["filters"] = filters
        context["hasFilters"] = !filters.isEmpty
        context["canCreate"] = creation(process, for: page) != nil
        switch await page.call(list.name, params) {
        case .failure(let error):
            context["error"] = error.message
        case .success(let result):
            let items = result["items"]?.arrayValue ?? result.arrayValue ?? []
            let columns = JSONValue.tableColumns(of: items)
            let linked = method(process, "get", for: page) != nil
            context["columns"] = columns.map(Self.label)
            context["rows"] = items.map { item -> [String: Any] in
                let key = Self.recordKey(item)
                return ["key": key.map(Self.percentEncoded) ?? "", "linked": linked && key != nil,
                        "first": columns.first.flatMap { item[$0]?.plainText } ?? "",
                        "cells": columns.dropFirst().map { Self.shown(item[$0]?.plainText ?? "") }]
            }
            // Page links keep the filters chosen.
            let filtered = params.compactMap { name, value in
                properties[name]?.enum != nil ? value.stringValue.map { "\(name)=\(Self.percentEncoded($0))&" } : nil
            }.sorted().joined()
            if byCursor {
                if after != nil { context["first"] = "?\(filtered)" }
                if let next = result["nextCursor"]?.stringValue { context["next"] = "?\(filtered)after=\(Self.percentEncoded(next))" }
            } else if properties["offset"] != nil {
                if offset > 0 { context["previous"] = "?\(filtered)offset=\(max(0, offset - pageSize))" }
                if items.count == pageSize { context["next"] = "?\(filtered)offset=\(offset + pageSize)" }
            }
        }
        Self.addMessages(of: request, to: &context)
        return Self.page("process-list", context)
    }

    private func processForm(_ process: String, _ page: ConsolePage, _ request: Request) -> Response {
        guard let create = creation(process, for: page) else {
            return Self.page("message", page.common.merging(["title": "404", "message": ConsoleStrings.english["notFound"]!]) { $1 }, status: .notFound)
        }
        var context = page.common
        context["title"] = create.description ?? create.name
        context["process"] = process
        context["fields"] = Self.formFields(create.params ?? .any)
        Self.addMessages(of: request, to: &context)
        return Self.page("process-new", context)
    }

    /// One field per member of a params schema, in name order, drawn as its type asks: with
    /// its title as label and its default chosen or filled in, when a form gives them.
    static func formFields(_ schema: JSONSchema, titles: [String: String] = [:], defaults: [String: JSONValue] = [:]) -> [[String: Any]] {
        let required = Set(schema.required ?? [])
        return (schema.properties ?? [:]).sorted { $0.key < $1.key }.map { name, member -> [String: Any] in
            let value = defaults[name].map { $0.stringValue ?? String(decoding: $0.serialized(), as: UTF8.self) } ?? ""
            var field: [String: Any] = ["name": name, "label": titles[name] ?? name, "required": required.contains(name), "value": value]
            // Mustache shows a section for an empty string: leave out what is not there.
            if let help = member.description, !help.isEmpty { field["help"] = help }
            switch member.type {
            case .string? where member.enum != nil:
                field["options"] = true
                field["blank"] = !required.contains(name) && value.isEmpty
                field["choices"] = (member.enum ?? []).map { ["value": $0, "selected": $0 == value] }
            case .boolean?:
                field["checkbox"] = true
                field["checked"] = defaults[name]?.boolValue == true
            case .integer?, .number?:
                field["input"] = true
                field["inputType"] = "number"
                if member.type == .number { field["step"] = "any" }
            case .string?:
                field["input"] = true
                field["inputType"] = member.format == "date-time" ? "datetime-local" : "text"
            case .array? where member.items?.schema.type == .string:
                field["input"] = true
                field["inputType"] = "text"
                field["help"] = ((field["help"] as? String).map { $0 + " " } ?? "") + ConsoleStrings.english["commaSeparated"]!
            default:
                field["json"] = true
            }
            return field
        }
    }

    /// The posted fields typed as `schema`'s members say: numbers, yes or no, date-times (a
    /// `datetime-local` field, in UTC), comma-separated lists of text, and JSON for the rest.
    /// An empty field is left out; an unchecked box is `false`.
    static func typedFields(_ posted: [String: [String]], schema: JSONSchema, at path: String) throws(ResponseError) -> [String: JSONValue] {
        var typed: [String: JSONValue] = [:]
        for (name, member) in schema.properties ?? [:] {
            let text = posted[name]?.first?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            switch member.type {
            case .boolean?:
                typed[name] = .bool(text == "true")
            case let kind? where kind == .integer || kind == .number:
                guard !text.isEmpty else { continue }
                guard let value = kind.value(fromText: text) else {
                    throw .invalidParams("\(path).\(name): '\(text.prefix(40))' is not a \(kind == .integer ? "whole number" : "number")")
                }
                typed[name] = value
            case .string? where member.format == "date-time":
                guard !text.isEmpty else { continue }
                typed[name] = .string(text.count == 16 ? text + ":00Z" : text)
            case .string?:
                guard !text.isEmpty else { continue }
                typed[name] = .string(text)
            case .array? where member.items?.schema.type == .string:
                let values = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if !values.isEmpty { typed[name] = .array(values.map(JSONValue.string)) }
            default:
                guard !text.isEmpty else { continue }
                guard let value = try? JSONValue.parse(Array(text.utf8)) else { throw .invalidParams("\(path).\(name): not valid JSON") }
                typed[name] = value
            }
        }
        return typed
    }

    private func processRecord(_ process: String, _ key: String, _ page: ConsolePage, _ request: Request) async -> Response {
        guard let get = method(process, "get", for: page), let member = Self.keyMember(of: get) else {
            return Self.page("message", page.common.merging(["title": "404", "message": ConsoleStrings.english["notFound"]!]) { $1 }, status: .notFound)
        }
        var context = page.common
        context["process"] = process
        context["title"] = "\(process) \(key)"
        switch await page.call(get.name, [member: .string(key)]) {
        case .failure(let error):
            return Self.page("message", page.common.merging(["title": error.kind ?? "error", "message": error.message]) { $1 },
                             status: HTTPAPI.status(for: error))
        case .success(let record):
            let members = record.objectValue ?? [:]
            context["key"] = key
            context["path"] = Self.percentEncoded(key)
            context["fields"] = Self.scalarFields(members)
            context["actions"] = recordActions(process, keyMember: member, for: page).map { action -> [String: Any] in
                var params = action.params ?? .any
                params.properties?[member] = nil
                params.required = params.required?.filter { $0 != member }
                let verb = String(action.name.dropFirst(process.count + 1))
                return ["verb": verb, "label": verb.replacingOccurrences(of: "_", with: " "), "description": action.description ?? "",
                        "fields": Self.formFields(params).map { field in field.merging(["id": "\(verb)-\(field["name"] ?? "")"]) { $1 } }]
            }
            // A record nested in the answer (`{supplier: {…}, contracts: […]}`) first, then what
            // else the answer holds about it, its lists last.
            let order = { (name: String, value: JSONValue) -> Int in
                name == process || value[member]?.stringValue == key ? 0 : value.objectValue != nil ? 1 : 2
            }
            let ordered = members.sorted { (order($0.key, $0.value), $0.key) < (order($1.key, $1.value), $1.key) }
            context["sections"] = ordered.compactMap { name, value -> [String: Any]? in
                switch value {
                case .object(let inner):
                    return ["title": Self.label(name), "fields": Self.scalarFields(inner, groups: true), "isRecord": true]
                case .array(let items) where items.first?.objectValue != nil:
                    let columns = JSONValue.tableColumns(of: items)
                    return ["title": Self.label(name), "columns": columns.map(Self.label), "isTable": true,
                            "rows": items.map { item in ["cells": columns.map { Self.shown(item[$0]?.plainText ?? "") }] }]
                default:
                    return nil
                }
            }
        }
        Self.addMessages(of: request, to: &context)
        return Self.page("process-record", context)
    }

    /// A record's plain members as label and value, in name order; lists of text joined; with
    /// `groups`, a member that groups plain values (`rootCause: {method, findings}`) as
    /// `rootCause.method`… (at the top of an answer such a member is a section of its own).
    static func scalarFields(_ members: [String: JSONValue], groups: Bool = false, prefix: String = "") -> [[String: String]] {
        members.sorted { $0.key < $1.key }.flatMap { name, value -> [[String: String]] in
            if let text = value.plainText { return text.isEmpty ? [] : [["name": label(prefix + name), "value": shown(text)]] }
            if let list = value.arrayValue, !list.isEmpty, list.allSatisfy({ $0.stringValue != nil }) {
                return [["name": label(prefix + name), "value": list.compactMap(\.stringValue).joined(separator: ", ")]]
            }
            if groups, prefix.isEmpty, let inner = value.objectValue { return scalarFields(inner, prefix: name + ".") }
            return []
        }
    }

    /// A member's name as a label: `configurationItems` as "Configuration items",
    /// `rootCause.method` as "Root cause: method".
    static func label(_ member: String) -> String {
        let words = member.split(separator: ".").map { part in
            part.reduce(into: "") { text, character in
                text += character.isUppercase ? " " + character.lowercased() : String(character)
            }
        }.joined(separator: ": ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    /// A value as a person reads it: a time to the minute (UTC), the rest as it is.
    static func shown(_ text: String) -> String {
        text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})/) != nil ? shortDate(text) : text
    }
}
