import ArgumentParser
import Foundation
import ITSMCoordinator
import IncidentProtocol
import ITSMProtocol

/// `itsm incident ...`: the service desk's everyday commands, over the HTTP API.
struct IncidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident",
        abstract: "Work with incidents and service requests.",
        subcommands: [Create.self, List.self, Show.self, Update.self, Search.self, Assign.self, Transition.self, Resolve.self, Comment.self,
                      Escalate.self, Stats.self, Import.self])

    /// A record named on the command line: its id (a UUID) or its number (`INC-000001`).
    static func key(_ text: String) -> (id: UUID?, number: String?) {
        UUID(uuidString: text).map { ($0, nil) } ?? (nil, text)
    }

    static func describe(_ record: Incident) -> String {
        var lines = ["\(record.number)  \(record.priority)  \(record.status.rawValue)\(record.holdReason.map { " (\($0.rawValue))" } ?? "")", record.title]
        let details: [(String, String?)] = [
            ("Type", record.type.rawValue), ("Caller", record.caller), ("Customer", record.customer), ("Service", record.service),
            ("Configuration item", record.configurationItem), ("Category", record.category), ("Impact", record.impact.description),
            ("Urgency", record.urgency.description), ("Group", record.assignmentGroup), ("Assignee", record.assignee),
            ("Supplier", record.supplier), ("Resolution", record.resolutionCode), ("Resolution notes", record.resolutionNotes),
            ("Problem", record.problem), ("Known error", record.knownError), ("Created", JSONCoding.string(from: record.createdAt)),
            ("Resolved", record.resolvedAt.map(JSONCoding.string(from:))), ("Closed", record.closedAt.map(JSONCoding.string(from:))),
        ]
        for case let (label, value?) in details {
            lines.append("  \(label.padding(toLength: 19, withPad: " ", startingAt: 0)) \(value)")
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
            var params = CreateIncident(title: title, type: try type.map { try choice(RecordType.self, $0, "--type") },
                                        impact: try impact.map { try decoded(Level.self, $0, "--impact") },
                                        urgency: try urgency.map { try decoded(Level.self, $0, "--urgency") })
            params.description = description
            params.service = service
            params.configurationItem = ci
            params.category = category
            params.caller = caller
            params.assignmentGroup = group
            params.assignee = assignee
            connection.show(try await connection.call(IncidentMethods.create, params), IncidentCommand.describe)
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
        @Option(help: "Only this customer's records.") var customer: String?
        @Option(help: "At most this many (1-500).") var limit: Int = 50
        @Option(help: "The page after this one: the cursor a previous page printed.") var after: String?
        @Option(help: "Skip this many records (costs as many rows as it skips; prefer --after).") var offset: Int?

        func run() async throws {
            var params = ListIncidents(status: try status.map { try choice(IncidentStatus.self, $0, "--status") },
                                       priority: try priority.map { try decoded(Priority.self, $0, "--priority") },
                                       assignee: assignee, assignmentGroup: group, service: service, limit: limit, offset: offset)
            params.after = after
            params.customer = customer
            connection.show(try await connection.call(IncidentMethods.list, params)) { page in
                let rows = page.items.map { item in
                    [item.number, item.priority.description, item.status.rawValue, item.assignee ?? "-", item.service ?? "-", item.title]
                }
                return pageTable(["NUMBER", "PRI", "STATUS", "ASSIGNEE", "SERVICE", "TITLE"], rows, total: page.total,
                                 estimated: page.totalIsEstimate, nextCursor: page.nextCursor)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a record with its service levels, comments and history.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "The number (INC-000001) or id.") var record: String

        func run() async throws {
            let (id, number) = IncidentCommand.key(record)
            let params = GetIncident(id: id, number: number, history: true, comments: true)
            connection.show(try await connection.call(IncidentMethods.get, params)) { detail in
                var lines = [IncidentCommand.describe(detail.incident)]
                if let workaround = detail.workaround {
                    lines += ["", "Workaround (\(workaround.knownError), \(workaround.problem))", "  \(workaround.workaround)"]
                }
                if !detail.serviceLevels.isEmpty {
                    lines += ["", "Service levels"] + detail.serviceLevels.map { clock in
                        let when = clock.stoppedAt.map { "stopped \(JSONCoding.string(from: $0))" }
                            ?? clock.dueAt.map { "due \(JSONCoding.string(from: $0))" } ?? "paused, no due time"
                        return "  \(clock.kind.rawValue)  \(clock.state.rawValue)  \(when)  "
                            + "elapsed \(decimal(clock.elapsedMinutes)) of \(clock.targetMinutes) min"
                    }
                }
                if let comments = detail.comments, !comments.isEmpty {
                    lines += ["", "Comments"] + comments.map { comment in
                        "  \(JSONCoding.string(from: comment.at))  \(comment.author)  [\(comment.visibility.rawValue)]  \(comment.body)"
                    }
                }
                return (lines + ["", "History"] + (detail.history ?? []).map(historyLine)).joined(separator: "\n")
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
            let (id, number) = IncidentCommand.key(record)
            var params = UpdateIncident(id: id, number: number)
            params.title = title
            params.description = description
            params.impact = try impact.map { try decoded(Level.self, $0, "--impact") }
            params.urgency = try urgency.map { try decoded(Level.self, $0, "--urgency") }
            params.service = service
            params.configurationItem = ci
            params.category = category
            params.caller = caller
            params.supplier = supplier
            connection.show(try await connection.call(IncidentMethods.update, params), IncidentCommand.describe)
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign to a group and/or an agent.")
        @OptionGroup var connection: APIConnection
        @Argument var record: String
        @Option var group: String?
        @Option var assignee: String?

        func run() async throws {
            let (id, number) = IncidentCommand.key(record)
            let params = AssignIncident(id: id, number: number, assignmentGroup: group, assignee: assignee)
            connection.show(try await connection.call(IncidentMethods.assign, params), IncidentCommand.describe)
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
            let (id, number) = IncidentCommand.key(record)
            let params = TransitionIncident(id: id, number: number, to: try choice(IncidentStatus.self, to, "to"),
                                            holdReason: try reason.map { try choice(HoldReason.self, $0, "--reason") })
            connection.show(try await connection.call(IncidentMethods.transition, params), IncidentCommand.describe)
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve with a resolution code and notes.")
        @OptionGroup var connection: APIConnection
        @Argument var record: String
        @Option(help: "e.g. fixed, workaround, no_fault_found.") var code: String
        @Option(help: "What was done.") var notes: String

        func run() async throws {
            let (id, number) = IncidentCommand.key(record)
            let params = TransitionIncident(id: id, number: number, to: .resolved, resolutionCode: code, resolutionNotes: notes)
            connection.show(try await connection.call(IncidentMethods.transition, params), IncidentCommand.describe)
        }
    }

    struct Comment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a work note, or with --customer a comment the caller sees.")
        @OptionGroup var connection: APIConnection
        @Argument var record: String
        @Argument(help: "The text.") var body: String
        @Flag(help: "Visible to the caller.") var customer = false

        func run() async throws {
            let (id, number) = IncidentCommand.key(record)
            let params = CommentOnIncident(id: id, number: number, body: body, visibility: customer ? .customer : .workNote)
            connection.show(try await connection.call(IncidentMethods.comment, params)) { _ in "comment added" }
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
            connection.show(try await connection.call(IncidentMethods.search, SearchIncidents(query: query, open: open, limit: limit))) { hits in
                guard !hits.isEmpty else { return "no matches" }
                return table([["NUMBER", "PRI", "STATUS", "RANK", "MATCH"]] + hits.map { hit in
                    let snippet = hit.snippet.replacingOccurrences(of: "<b>", with: "*").replacingOccurrences(of: "</b>", with: "*")
                        .replacingOccurrences(of: "\n", with: " ")
                    return [hit.incident.number, hit.incident.priority.description, hit.incident.status.rawValue, decimal(hit.rank), snippet]
                })
            }
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
            let (id, number) = IncidentCommand.key(record)
            let params = EscalateIncident(id: id, number: number, kind: hierarchical ? .hierarchical : .functional, toGroup: toGroup, reason: reason)
            connection.show(try await connection.call(IncidentMethods.escalate, params), IncidentCommand.describe)
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open work, breaches, MTTR and SLA compliance for a period.")
        @OptionGroup var connection: APIConnection
        @Option(help: "Start of the period, ISO 8601 (default: 30 days ago).") var from: String?
        @Option(help: "End of the period, ISO 8601 (default: now).") var to: String?

        func run() async throws {
            let params = IncidentStatsParams(from: try instant(from, "--from"), to: try instant(to, "--to"))
            connection.show(try await connection.call(IncidentMethods.stats, params)) { stats in
                let rows = ["P1", "P2", "P3", "P4", "P5"].map { priority in
                    let figures = stats.byPriority[priority]
                    let (measured, within) = (figures?.measured ?? 0, figures?.withinTarget ?? 0)
                    return [priority, "\(stats.openByPriority[priority] ?? 0)", "\(figures?.resolved ?? 0)",
                            figures?.meanMinutesToResolve.map(decimal) ?? "-",
                            measured == 0 ? "-" : "\(within)/\(measured) (\(within * 100 / measured) %)"]
                }
                return """
                    Period \(JSONCoding.string(from: stats.from)) to \(JSONCoding.string(from: stats.to))
                    Created \(stats.createdInPeriod), resolved \(stats.resolvedInPeriod); open now with a breached service level: \(stats.openBreached)

                    """ + table([["PRIORITY", "OPEN", "RESOLVED", "MTTR (min)", "WITHIN SLA"]] + rows)
            }
        }
    }
}
