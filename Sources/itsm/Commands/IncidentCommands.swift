import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMProtocol

/// `itsm incident ...`: the service desk's everyday commands, over the HTTP API.
struct IncidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident",
        abstract: "Work with incidents and service requests.",
        subcommands: [Create.self, List.self, Show.self, Update.self, Search.self, Assign.self, Transition.self, Resolve.self, Comment.self,
                      Escalate.self, Stats.self, Import.self])

    static func key(_ text: String) -> [String: JSONValue?] {
        UUID(uuidString: text) != nil ? ["id": .string(text)] : ["number": .string(text)]
    }

    static func describe(_ record: JSONValue) -> String {
        func field(_ name: String) -> String { record[name]?.stringValue ?? "-" }
        var lines = [
            "\(field("number"))  \(field("priority"))  \(field("status"))\(record["holdReason"]?.stringValue.map { " (\($0))" } ?? "")",
            field("title"),
        ]
        let details: [(String, String)] = [
            ("Type", "type"), ("Caller", "caller"), ("Service", "service"), ("Configuration item", "configurationItem"),
            ("Category", "category"), ("Impact", "impact"), ("Urgency", "urgency"), ("Group", "assignmentGroup"),
            ("Assignee", "assignee"), ("Supplier", "supplier"), ("Resolution", "resolutionCode"),
            ("Resolution notes", "resolutionNotes"), ("Problem", "problem"), ("Known error", "knownError"), ("Created", "createdAt"), ("Resolved", "resolvedAt"), ("Closed", "closedAt"),
        ]
        for (label, name) in details where record[name] != nil && record[name] != .null {
            lines.append("  \(label.padding(toLength: 19, withPad: " ", startingAt: 0)) \(field(name))")
        }
        return lines.joined(separator: "\n")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record an incident or a service request.")
        @OptionGroup var connection: APIConnection
        @Option(help: "What is wrong, in a line.") var title: String
        @Option(help: "More detail.") var description: String?
        @Option(help: "incident (default) or request.") var type: String?
        @Option(help: "high, medium (default) or low.") var impact: String?
        @Option(help: "high, medium (default) or low.") var urgency: String?
        @Option(help: "The affected service.") var service: String?
        @Option(help: "The affected configuration item.") var ci: String?
        @Option(help: "Category.") var category: String?
        @Option(help: "Who reported it.") var caller: String?
        @Option(help: "Assignment group.") var group: String?
        @Option(help: "Assignee.") var assignee: String?

        func run() async throws {
            let record = try await connection.call("incident.create", [
                "title": .string(title), "description": description.map(JSONValue.string), "type": type.map(JSONValue.string),
                "impact": impact.map(JSONValue.string), "urgency": urgency.map(JSONValue.string),
                "service": service.map(JSONValue.string), "configurationItem": ci.map(JSONValue.string),
                "category": category.map(JSONValue.string), "caller": caller.map(JSONValue.string),
                "assignmentGroup": group.map(JSONValue.string), "assignee": assignee.map(JSONValue.string),
            ])
            connection.show(record)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List records, newest first.")
        @OptionGroup var connection: APIConnection
        @Option(help: "new, assigned, in_progress, on_hold, resolved, closed or cancelled.") var status: String?
        @Option(help: "P1 ... P5.") var priority: String?
        @Option var assignee: String?
        @Option var group: String?
        @Option var service: String?
        @Option(help: "At most this many (1-500).") var limit: Int = 50
        @Option(help: "The page after this one: the cursor a previous page printed.") var after: String?
        @Option(help: "Skip this many records (costs as many rows as it skips; prefer --after).") var offset: Int?

        func run() async throws {
            let page = try await connection.call("incident.list", [
                "status": status.map(JSONValue.string), "priority": priority.map(JSONValue.string),
                "assignee": assignee.map(JSONValue.string), "assignmentGroup": group.map(JSONValue.string),
                "service": service.map(JSONValue.string), "limit": .int(Int64(limit)), "offset": offset.map { .int(Int64($0)) },
                "after": after.map(JSONValue.string),
            ])
            guard !connection.client.json else { return print(compact(page)) }
            var rows = [["NUMBER", "PRI", "STATUS", "ASSIGNEE", "SERVICE", "TITLE"]]
            for item in page["items"]?.arrayValue ?? [] {
                rows.append([item["number"]?.stringValue ?? "", item["priority"]?.stringValue ?? "", item["status"]?.stringValue ?? "",
                             item["assignee"]?.stringValue ?? "-", item["service"]?.stringValue ?? "-", item["title"]?.stringValue ?? ""])
            }
            print(table(rows))
            let total = page["total"]?.intValue ?? 0
            let about = page["totalIsEstimate"]?.boolValue == true ? "about " : ""
            print("\(rows.count - 1) of \(about)\(total)" + (page["nextCursor"]?.stringValue.map { "; next page: --after \($0)" } ?? ""))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a record with its service levels, comments and history.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "The number (INC-000001) or id.") var record: String

        func run() async throws {
            var params = IncidentCommand.key(record)
            params["history"] = .bool(true)
            params["comments"] = .bool(true)
            let detail = try await connection.call("incident.get", params)
            guard !connection.client.json, let incident = detail["incident"] else { return print(compact(detail)) }
            print(IncidentCommand.describe(incident))
            if let workaround = detail["workaround"], workaround != .null {
                print("\nWorkaround (\(workaround["knownError"]?.stringValue ?? ""), \(workaround["problem"]?.stringValue ?? ""))")
                print("  \(workaround["workaround"]?.stringValue ?? "")")
            }
            let clocks = detail["serviceLevels"]?.arrayValue ?? []
            if !clocks.isEmpty {
                print("\nService levels")
                for clock in clocks {
                    let when = clock["stoppedAt"]?.stringValue.map { "stopped \($0)" }
                        ?? clock["dueAt"]?.stringValue.map { "due \($0)" } ?? "paused, no due time"
                    print("  \(clock["kind"]?.stringValue ?? "")  \(clock["state"]?.stringValue ?? "")  \(when)  "
                          + "elapsed \(clock["elapsedMinutes"].map(compact) ?? "0") of \(clock["targetMinutes"].map(compact) ?? "?") min")
                }
            }
            let comments = detail["comments"]?.arrayValue ?? []
            if !comments.isEmpty {
                print("\nComments")
                for comment in comments {
                    print("  \(comment["at"]?.stringValue ?? "")  \(comment["author"]?.stringValue ?? "")  [\(comment["visibility"]?.stringValue ?? "")]  \(comment["body"]?.stringValue ?? "")")
                }
            }
            print("\nHistory")
            for entry in detail["history"]?.arrayValue ?? [] {
                let change = "\(entry["oldValue"]?.stringValue ?? "-") → \(entry["newValue"]?.stringValue ?? "-")"
                print("  \(entry["at"]?.stringValue ?? "")  \(entry["actor"]?.stringValue ?? "")  \(entry["field"]?.stringValue ?? ""): \(change)")
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a record's fields; --supplier hands it to a supplier (an empty value takes it back).")
        @OptionGroup var connection: APIConnection
        @Argument var record: String
        @Option var title: String?
        @Option var description: String?
        @Option(help: "high, medium or low.") var impact: String?
        @Option(help: "high, medium or low.") var urgency: String?
        @Option var service: String?
        @Option var ci: String?
        @Option var category: String?
        @Option var caller: String?
        @Option(help: "The supplier working on it, by name or number.") var supplier: String?

        func run() async throws {
            var params = IncidentCommand.key(record)
            let fields: [(String, String?)] = [
                ("title", title), ("description", description), ("impact", impact), ("urgency", urgency), ("service", service),
                ("configurationItem", ci), ("category", category), ("caller", caller), ("supplier", supplier),
            ]
            for (name, value) in fields { params[name] = value.map(JSONValue.string) }
            connection.show(try await connection.call("incident.update", params))
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign to a group and/or an agent.")
        @OptionGroup var connection: APIConnection
        @Argument var record: String
        @Option var group: String?
        @Option var assignee: String?

        func run() async throws {
            var params = IncidentCommand.key(record)
            params["assignmentGroup"] = group.map(JSONValue.string)
            params["assignee"] = assignee.map(JSONValue.string)
            connection.show(try await connection.call("incident.assign", params))
        }
    }

    struct Transition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a record: in_progress, on_hold (--reason), resolved, closed, cancelled; in_progress from resolved reopens.")
        @OptionGroup var connection: APIConnection
        @Argument var record: String
        @Argument(help: "The target status.") var to: String
        @Option(help: "For on_hold: awaiting_caller, awaiting_supplier or awaiting_change.") var reason: String?

        func run() async throws {
            var params = IncidentCommand.key(record)
            params["to"] = .string(to)
            params["holdReason"] = reason.map(JSONValue.string)
            connection.show(try await connection.call("incident.transition", params))
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve with a resolution code and notes.")
        @OptionGroup var connection: APIConnection
        @Argument var record: String
        @Option(help: "e.g. fixed, workaround, no_fault_found.") var code: String
        @Option(help: "What was done.") var notes: String

        func run() async throws {
            var params = IncidentCommand.key(record)
            params["to"] = "resolved"
            params["resolutionCode"] = .string(code)
            params["resolutionNotes"] = .string(notes)
            connection.show(try await connection.call("incident.transition", params))
        }
    }

    struct Comment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a work note, or with --customer a comment the caller sees.")
        @OptionGroup var connection: APIConnection
        @Argument var record: String
        @Argument(help: "The text.") var body: String
        @Flag(help: "Visible to the caller.") var customer = false

        func run() async throws {
            var params = IncidentCommand.key(record)
            params["body"] = .string(body)
            params["visibility"] = .string(customer ? "customer" : "work_note")
            let comment = try await connection.call("incident.comment", params)
            print(connection.client.json ? compact(comment) : "comment added")
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Full-text search over titles, descriptions, resolutions and comments.",
            discussion: #"Words, "a phrase", -excluded, or: itsm incident search '"mail relay" -test'"#)
        @OptionGroup var connection: APIConnection
        @Argument var query: String
        @Flag(help: "Open records only.") var open = false
        @Option var limit: Int = 20

        func run() async throws {
            let hits = try await connection.call("incident.search", [
                "query": .string(query), "open": .bool(open), "limit": .int(Int64(limit)),
            ])
            guard !connection.client.json else { return print(compact(hits)) }
            var rows = [["NUMBER", "PRI", "STATUS", "RANK", "MATCH"]]
            for hit in hits.arrayValue ?? [] {
                let snippet = (hit["snippet"]?.stringValue ?? "").replacingOccurrences(of: "<b>", with: "*")
                    .replacingOccurrences(of: "</b>", with: "*").replacingOccurrences(of: "\n", with: " ")
                rows.append([hit["incident"]?["number"]?.stringValue ?? "", hit["incident"]?["priority"]?.stringValue ?? "",
                             hit["incident"]?["status"]?.stringValue ?? "", hit["rank"].map(compact) ?? "", snippet])
            }
            print(rows.count == 1 ? "no matches" : table(rows))
        }
    }

    struct Escalate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Escalate: --to-group GROUP (functional) or --hierarchical (up the management line).")
        @OptionGroup var connection: APIConnection
        @Argument var record: String
        @Option(help: "The group to escalate to (functional).") var toGroup: String?
        @Flag(help: "Escalate to management instead.") var hierarchical = false
        @Option(help: "Why.") var reason: String?

        func validate() throws {
            guard hierarchical != (toGroup != nil) else { throw ValidationError("give either --to-group or --hierarchical") }
        }

        func run() async throws {
            var params = IncidentCommand.key(record)
            params["kind"] = .string(hierarchical ? "hierarchical" : "functional")
            params["toGroup"] = toGroup.map(JSONValue.string)
            params["reason"] = reason.map(JSONValue.string)
            connection.show(try await connection.call("incident.escalate", params))
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open work, breaches, MTTR and SLA compliance for a period.")
        @OptionGroup var connection: APIConnection
        @Option(help: "Start of the period, ISO 8601 (default: 30 days ago).") var from: String?
        @Option(help: "End of the period, ISO 8601 (default: now).") var to: String?

        func run() async throws {
            let stats = try await connection.call("incident.stats", ["from": from.map(JSONValue.string), "to": to.map(JSONValue.string)])
            guard !connection.client.json else { return print(compact(stats)) }
            func count(_ value: JSONValue?) -> String { value?.intValue.map(String.init) ?? "0" }
            print("Period \(stats["from"]?.stringValue ?? "") to \(stats["to"]?.stringValue ?? "")")
            print("Created \(count(stats["createdInPeriod"])), resolved \(count(stats["resolvedInPeriod"])); "
                  + "open now with a breached service level: \(count(stats["openBreached"]))\n")
            var rows = [["PRIORITY", "OPEN", "RESOLVED", "MTTR (min)", "WITHIN SLA"]]
            for priority in ["P1", "P2", "P3", "P4", "P5"] {
                let figures = stats["byPriority"]?[priority]
                let measured = figures?["measured"]?.intValue ?? 0
                let within = figures?["withinTarget"]?.intValue ?? 0
                rows.append([priority, count(stats["openByPriority"]?[priority]), count(figures?["resolved"]),
                             figures?["meanMinutesToResolve"].map(compact) ?? "-",
                             measured == 0 ? "-" : "\(within)/\(measured) (\(within * 100 / measured) %)"])
            }
            print(table(rows))
        }
    }
}

extension APIConnection {
    /// Prints a record for people (or JSON for scripts).
    func show(_ record: JSONValue) {
        guard !client.json else { return print(compact(record)) }
        print(IncidentCommand.describe(record))
    }
}
