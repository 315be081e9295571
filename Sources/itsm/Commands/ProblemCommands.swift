import ArgumentParser
import Foundation
import ITSMProtocol

/// `itsm problem ...`: problem management over the HTTP API.
struct ProblemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "problem",
        abstract: "Work with problems: root causes, linked incidents, proposals from recurring incidents.",
        subcommands: [Create.self, List.self, Show.self, Update.self, Transition.self, RootCause.self, Link.self, Unlink.self,
                      Review.self, Detect.self, Stats.self])

    static func describe(_ problem: JSONValue) -> String {
        func field(_ name: String) -> String { problem[name]?.stringValue ?? "-" }
        func list(_ name: String) -> String? {
            let names = problem[name]?.arrayValue?.compactMap(\.stringValue) ?? []
            return names.isEmpty ? nil : names.joined(separator: ", ")
        }
        var lines = ["\(field("number"))  \(field("priority"))  \(field("status"))\(problem["major"]?.boolValue == true ? "  MAJOR" : "")",
                     field("title")]
        let details: [(String, String?)] = [
            ("Services", list("services")), ("Configuration items", list("configurationItems")), ("Category", problem["category"]?.stringValue),
            ("Owner", problem["owner"]?.stringValue), ("Root cause method", problem["rootCause"]?["method"]?.stringValue),
            ("Root cause", problem["rootCause"]?["findings"]?.stringValue), ("Fix", problem["fix"]?.stringValue),
            ("Resolution", problem["resolution"]?.stringValue), ("Found by", problem["detectionRule"]?.stringValue),
            ("Created", problem["createdAt"]?.stringValue), ("Resolved", problem["resolvedAt"]?.stringValue),
        ]
        for case let (label, value?) in details {
            lines.append("  \(label.padding(toLength: 20, withPad: " ", startingAt: 0)) \(value)")
        }
        return lines.joined(separator: "\n")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a problem.")
        @OptionGroup var connection: APIConnection
        @Option(help: "The problem, in a line.") var title: String
        @Option var description: String?
        @Option(help: "An affected service (repeat for several).") var service: [String] = []
        @Option(help: "An affected configuration item (repeat for several).") var ci: [String] = []
        @Option var category: String?
        @Option(help: "1 (high), 2 (default) or 3 (low).") var impact: Int?
        @Option(help: "1 (high), 2 (default) or 3 (low).") var urgency: Int?
        @Option var owner: String?

        func run() async throws {
            let problem = try await connection.call("problem.create", [
                "title": .string(title), "description": description.map(JSONValue.string),
                "services": .array(service.map(JSONValue.string)), "configurationItems": .array(ci.map(JSONValue.string)),
                "category": category.map(JSONValue.string), "impact": impact.map { .int(Int64($0)) },
                "urgency": urgency.map { .int(Int64($0)) }, "owner": owner.map(JSONValue.string),
            ])
            connection.client.json ? print(compact(problem)) : print(ProblemCommand.describe(problem))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List problems, newest first.")
        @OptionGroup var connection: APIConnection
        @Option(help: "proposed, new, under_investigation, known_error, resolved or closed.") var status: String?
        @Option var owner: String?
        @Flag(help: "Only major problems.") var major = false
        @Option var limit: Int = 50
        @Option var offset: Int?

        func run() async throws {
            let page = try await connection.call("problem.list", [
                "status": status.map(JSONValue.string), "owner": owner.map(JSONValue.string), "major": major ? .bool(true) : nil,
                "limit": .int(Int64(limit)), "offset": offset.map { .int(Int64($0)) },
            ])
            guard !connection.client.json else { return print(compact(page)) }
            var rows = [["NUMBER", "PRI", "STATUS", "MAJOR", "OWNER", "TITLE"]]
            for item in page["items"]?.arrayValue ?? [] {
                rows.append([item["number"]?.stringValue ?? "", item["priority"]?.stringValue ?? "", item["status"]?.stringValue ?? "",
                             item["major"]?.boolValue == true ? "yes" : "-", item["owner"]?.stringValue ?? "-",
                             item["title"]?.stringValue ?? ""])
            }
            print(table(rows))
            print("\(rows.count - 1) of \(page["total"]?.intValue ?? 0)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A problem with its incidents, impact, known error and history.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "The number, e.g. PRB-000001.") var number: String

        func run() async throws {
            let detail = try await connection.call("problem.get", ["number": .string(number), "history": .bool(true)])
            guard !connection.client.json, let problem = detail["problem"] else { return print(compact(detail)) }
            print(ProblemCommand.describe(problem))
            if let impact = detail["impact"] {
                print("\nBusiness impact: \(impact["incidents"].map(compact) ?? "0") incidents (\(impact["open"].map(compact) ?? "0") open), "
                      + "\(impact["downtimeHours"].map(compact) ?? "0") hours of disruption, by priority \(impact["byPriority"].map(compact) ?? "{}")")
            }
            let incidents = detail["incidents"]?.arrayValue ?? []
            if !incidents.isEmpty {
                var rows = [["INCIDENT", "PRI", "STATUS", "HOW", "TITLE"]]
                for incident in incidents {
                    rows.append([incident["number"]?.stringValue ?? "", incident["priority"]?.stringValue ?? "-",
                                 incident["status"]?.stringValue ?? "", incident["how"]?.stringValue ?? "", incident["title"]?.stringValue ?? ""])
                }
                print("\n" + table(rows))
            }
            if let knownError = detail["knownError"], knownError != .null {
                print("\nKnown error \(knownError["number"]?.stringValue ?? "")\n  Symptoms:   \(knownError["symptoms"]?.stringValue ?? "")"
                      + "\n  Workaround: \(knownError["workaround"]?.stringValue ?? "")")
            }
            if let recurrence = detail["recurrence"], recurrence != .null {
                let since = recurrence["incidents"]?.arrayValue?.compactMap(\.stringValue) ?? []
                print("\nAfter the fix: " + (since.isEmpty ? "no recurrence" : "recurred: \(since.joined(separator: ", "))"))
            }
            print("\nHistory")
            for entry in detail["history"]?.arrayValue ?? [] {
                let change = "\(entry["oldValue"]?.stringValue ?? "-") → \(entry["newValue"]?.stringValue ?? "-")"
                print("  \(entry["at"]?.stringValue ?? "")  \(entry["actor"]?.stringValue ?? "")  \(entry["field"]?.stringValue ?? ""): \(change)")
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a problem's fields; --fix names the change that fixes it.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option var title: String?
        @Option var description: String?
        @Option var category: String?
        @Option var owner: String?
        @Option(help: "The change that fixes it, e.g. CHG-000042.") var fix: String?
        @Option var impact: Int?
        @Option var urgency: Int?

        func run() async throws {
            connection.showProblem(try await connection.call("problem.update", [
                "number": .string(number), "title": title.map(JSONValue.string), "description": description.map(JSONValue.string),
                "category": category.map(JSONValue.string), "owner": owner.map(JSONValue.string), "fix": fix.map(JSONValue.string),
                "impact": impact.map { .int(Int64($0)) }, "urgency": urgency.map { .int(Int64($0)) },
            ]))
        }
    }

    struct Transition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a problem to another status.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Argument(help: "new, under_investigation, known_error, resolved or closed.") var to: String
        @Option(help: "Why (required to close a problem that was not resolved).") var note: String?

        func run() async throws {
            connection.showProblem(try await connection.call("problem.transition", [
                "number": .string(number), "to": .string(to), "note": note.map(JSONValue.string),
            ]))
        }
    }

    struct RootCause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rca", abstract: "Record the root cause analysis.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option(help: "5-whys, fishbone, fault-tree, ...") var method: String
        @Option var findings: String
        @Option(help: "software, hardware, process, people, supplier, capacity, ...") var category: String?

        func run() async throws {
            connection.showProblem(try await connection.call("problem.rca", [
                "number": .string(number), "method": .string(method), "findings": .string(findings),
                "category": category.map(JSONValue.string),
            ]))
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Link an incident to a problem.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Argument(help: "The incident, e.g. INC-000042.") var incident: String

        func run() async throws {
            let detail = try await connection.call("problem.link", ["number": .string(number), "incident": .string(incident)])
            guard !connection.client.json else { return print(compact(detail)) }
            print("\(incident) linked to \(number); \(detail["impact"]?["incidents"].map(compact) ?? "?") incidents linked")
        }
    }

    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unlink an incident from a problem.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Argument var incident: String

        func run() async throws {
            let detail = try await connection.call("problem.unlink", ["number": .string(number), "incident": .string(incident)])
            connection.client.json ? print(compact(detail)) : print("\(incident) unlinked from \(number)")
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a problem review (required before a major problem closes).")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option var summary: String
        @Option var lessons: String?
        @Option(help: "An agreed action (repeat for several).") var action: [String] = []

        func run() async throws {
            let review = try await connection.call("problem.review", [
                "number": .string(number), "summary": .string(summary), "lessons": lessons.map(JSONValue.string),
                "actions": .array(action.map(JSONValue.string)),
            ])
            connection.client.json ? print(compact(review)) : print("review of \(number) recorded")
        }
    }

    struct Detect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Look for recurring incidents within the detection window now.")
        @OptionGroup var connection: APIConnection

        func run() async throws {
            let result = try await connection.call("problem.detect", [:])
            guard !connection.client.json else { return print(compact(result)) }
            let findings = result["findings"]?.arrayValue ?? []
            if findings.isEmpty { print("no new recurring incidents") }
            for finding in findings {
                print("\(finding["problem"]?.stringValue ?? "")  \(finding["action"]?.stringValue ?? "")  by \(finding["rule"]?.stringValue ?? "")  "
                      + (finding["incidents"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? ""))
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Figures for a period (default: the last 30 days).")
        @OptionGroup var connection: APIConnection
        @Option(help: "ISO 8601 start, e.g. 2026-11-01T00:00:00Z.") var from: String?
        @Option(help: "ISO 8601 end.") var to: String?

        func run() async throws {
            print(compact(try await connection.call("problem.stats", ["from": from.map(JSONValue.string), "to": to.map(JSONValue.string)])))
        }
    }
}

/// `itsm knownerror ...`: the known error database.
struct KnownErrorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knownerror",
        abstract: "Search and publish known errors: symptoms, root cause and workaround.",
        subcommands: [Search.self, Show.self, Publish.self])

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Known errors matching a description of symptoms, most relevant first.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "What the user sees, in their words.") var text: [String]
        @Option var limit: Int = 10

        func run() async throws {
            let result = try await connection.call("knownerror.search", ["text": .string(text.joined(separator: " ")), "limit": .int(Int64(limit))])
            guard !connection.client.json else { return print(compact(result)) }
            let items = result["items"]?.arrayValue ?? []
            if items.isEmpty { print("no known error matches") }
            for item in items {
                print("\(item["number"]?.stringValue ?? "")  \(item["problem"]?.stringValue ?? "")  score \(item["score"].map(compact) ?? "-")  "
                      + (item["title"]?.stringValue ?? ""))
                print("  Workaround: \(item["workaround"]?.stringValue ?? "")")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One known error.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "e.g. KE-000001.") var number: String

        func run() async throws {
            let item = try await connection.call("knownerror.get", ["number": .string(number)])
            guard !connection.client.json else { return print(compact(item)) }
            print("""
                \(item["number"]?.stringValue ?? "")  (\(item["problem"]?.stringValue ?? ""))  \(item["title"]?.stringValue ?? "")
                  Symptoms:   \(item["symptoms"]?.stringValue ?? "")
                  Root cause: \(item["rootCause"]?.stringValue ?? "")
                  Workaround: \(item["workaround"]?.stringValue ?? "")
                """)
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a problem's known error; matching open incidents get the workaround.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "The problem, e.g. PRB-000001.") var problem: String
        @Option var symptoms: String
        @Option var workaround: String
        @Option(help: "Default: the problem's title.") var title: String?
        @Option(help: "Default: the problem's root cause findings.") var rootCause: String?

        func run() async throws {
            let item = try await connection.call("knownerror.publish", [
                "problem": .string(problem), "symptoms": .string(symptoms), "workaround": .string(workaround),
                "title": title.map(JSONValue.string), "rootCause": rootCause.map(JSONValue.string),
            ])
            connection.client.json ? print(compact(item)) : print("\(item["number"]?.stringValue ?? "") published for \(problem)")
        }
    }
}

extension APIConnection {
    func showProblem(_ problem: JSONValue) {
        client.json ? print(compact(problem)) : print(ProblemCommand.describe(problem))
    }
}
