import ArgumentParser
import Foundation
import ITSMProtocol

/// `itsm improvement ...`: the improvement register and the management review pack.
struct ImprovementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "improvement",
        abstract: "Continual improvement: the register, the review pack; nonconformities and objectives have their own commands.",
        subcommands: [Create.self, List.self, Show.self, Evaluate.self, Transition.self, ReviewPack.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Propose an improvement.")
        @OptionGroup var connection: APIConnection
        @Option var title: String
        @Option var description: String?
        @Option(help: "manual, audit, management_review or customer_feedback.") var source = "manual"
        @Option(help: "An affected service (repeat).") var service: [String] = []
        @Option var owner: String?
        @Option(help: "YYYY-MM-DD.") var targetDate: String?
        @Option var expectedBenefit: String?

        func run() async throws {
            let item = try await connection.call("improvement.create", [
                "title": .string(title), "description": description.map(JSONValue.string), "source": .string(source),
                "services": .array(service.map(JSONValue.string)), "owner": owner.map(JSONValue.string),
                "targetDate": targetDate.map(JSONValue.string), "expectedBenefit": expectedBenefit.map(JSONValue.string),
            ])
            connection.client.json ? print(compact(item)) : print("\(item["number"]?.stringValue ?? "")  score \(item["score"].map(compact) ?? "")  \(title)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Opportunities, highest score first.")
        @OptionGroup var connection: APIConnection
        @Option(help: "proposed, approved, rejected, in_progress, implemented, benefits_verified or closed.") var status: String?
        @Option var owner: String?

        func run() async throws {
            let list = try await connection.call("improvement.list", ["status": status.map(JSONValue.string), "owner": owner.map(JSONValue.string)])
            guard !connection.client.json else { return print(compact(list)) }
            var rows = [["NUMBER", "SCORE", "PRIORITY", "STATUS", "SOURCE", "OWNER", "TITLE"]]
            for item in list["items"]?.arrayValue ?? [] {
                rows.append([item["number"]?.stringValue ?? "", item["score"].map(compact) ?? "", item["priority"]?.stringValue ?? "",
                             item["status"]?.stringValue ?? "", item["source"]?.stringValue ?? "", item["owner"]?.stringValue ?? "-",
                             item["title"]?.stringValue ?? ""])
            }
            print(table(rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An opportunity with its sources and history.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String

        func run() async throws {
            let detail = try await connection.call("improvement.get", ["number": .string(number)])
            guard !connection.client.json, let item = detail["opportunity"] else { return print(compact(detail)) }
            print("\(item["number"]?.stringValue ?? "")  \(item["status"]?.stringValue ?? "")  score \(item["score"].map(compact) ?? "") (\(item["priority"]?.stringValue ?? ""))")
            print(item["title"]?.stringValue ?? "")
            if let text = item["description"]?.stringValue, !text.isEmpty { print("  \(text)") }
            let sources = detail["sources"]?.arrayValue ?? []
            if !sources.isEmpty {
                print("\nSources")
                for source in sources { print("  \(source["occurredAt"]?.stringValue ?? "")  \(source["eventType"]?.stringValue ?? "")  \(source["summary"]?.stringValue ?? "")") }
            }
            print("\nHistory")
            for entry in detail["history"]?.arrayValue ?? [] {
                print("  \(entry["at"]?.stringValue ?? "")  \(entry["actor"]?.stringValue ?? "")  \(entry["field"]?.stringValue ?? ""): "
                      + "\(entry["oldValue"]?.stringValue ?? "-") → \(entry["newValue"]?.stringValue ?? "-")")
            }
        }
    }

    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Score an opportunity (1-5 each), set owner, dates and benefits.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option var benefit: Int?
        @Option var cost: Int?
        @Option var risk: Int?
        @Option var alignment: Int?
        @Option var owner: String?
        @Option var targetDate: String?
        @Option var expectedBenefit: String?
        @Option var measuredBenefit: String?

        func run() async throws {
            var params: [String: JSONValue?] = [
                "number": .string(number), "owner": owner.map(JSONValue.string), "targetDate": targetDate.map(JSONValue.string),
                "expectedBenefit": expectedBenefit.map(JSONValue.string), "measuredBenefit": measuredBenefit.map(JSONValue.string),
            ]
            if benefit != nil || cost != nil || risk != nil || alignment != nil {
                params["evaluation"] = ["benefit": .int(Int64(benefit ?? 3)), "cost": .int(Int64(cost ?? 3)), "risk": .int(Int64(risk ?? 3)),
                                        "alignment": .int(Int64(alignment ?? 3))]
            }
            let item = try await connection.call("improvement.update", params)
            connection.client.json ? print(compact(item)) : print("\(number): score \(item["score"].map(compact) ?? "") (\(item["priority"]?.stringValue ?? ""))")
        }
    }

    struct Transition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move an opportunity along its lifecycle.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Argument var to: String
        @Option var note: String?

        func run() async throws {
            let item = try await connection.call("improvement.transition", ["number": .string(number), "to": .string(to), "note": note.map(JSONValue.string)])
            connection.client.json ? print(compact(item)) : print("\(number): \(item["status"]?.stringValue ?? "")")
        }
    }

    struct ReviewPack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "review-pack",
            abstract: "The management review pack: objectives vs actuals, improvements, nonconformities, process figures, actions.")
        @OptionGroup var connection: APIConnection
        @Option(help: "ISO 8601 start (default: the start of this month).") var from: String?
        @Option(help: "ISO 8601 end (default: now).") var to: String?
        @Option(help: "markdown (default), html or json.") var format = "markdown"
        @Option(help: "Write it to this file instead of standard output.") var output: String?

        func run() async throws {
            let result = try await connection.call("improvement.review_pack", [
                "from": from.map(JSONValue.string), "to": to.map(JSONValue.string), "format": .string(format),
            ])
            let text = result["document"]?.stringValue ?? compact(result)
            if let output {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
                print("wrote \(output)")
            } else {
                print(text)
            }
        }
    }
}

/// `itsm nonconformity ...`.
struct NonconformityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nonconformity",
        abstract: "Nonconformities: correction, root cause, corrective actions and a check that they worked.",
        subcommands: [Create.self, List.self, Show.self, Correct.self, Action.self, Done.self, Verify.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a nonconformity.")
        @OptionGroup var connection: APIConnection
        @Option var title: String
        @Option(help: "The requirement not met, e.g. 'ISO/IEC 20000-1:2018 8.3.4.1'.") var requirement: String
        @Option var description: String?
        @Option(help: "audit, management_review, incident, complaint or other.") var source: String?
        @Option(help: "minor or major.") var severity: String?
        @Option var owner: String?

        func run() async throws {
            connection.showRecord(try await connection.call("nonconformity.create", [
                "title": .string(title), "requirement": .string(requirement), "description": description.map(JSONValue.string),
                "source": source.map(JSONValue.string), "severity": severity.map(JSONValue.string), "owner": owner.map(JSONValue.string),
            ]))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open nonconformities (--all for closed ones too).")
        @OptionGroup var connection: APIConnection
        @Flag var all = false

        func run() async throws {
            let list = try await connection.call("nonconformity.list", ["all": .bool(all)])
            guard !connection.client.json else { return print(compact(list)) }
            var rows = [["NUMBER", "SEVERITY", "STATUS", "REQUIREMENT", "TITLE"]]
            for item in list["items"]?.arrayValue ?? [] {
                rows.append([item["number"]?.stringValue ?? "", item["severity"]?.stringValue ?? "", item["status"]?.stringValue ?? "",
                             item["requirement"]?.stringValue ?? "", item["title"]?.stringValue ?? ""])
            }
            print(table(rows))
        }
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        func run() async throws { print(compact(try await connection.call("nonconformity.get", ["number": .string(number)]))) }
    }

    struct Correct: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record the correction and the root cause.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option var correction: String
        @Option var rootCause: String?
        func run() async throws {
            connection.showRecord(try await connection.call("nonconformity.correct", [
                "number": .string(number), "correction": .string(correction), "rootCause": rootCause.map(JSONValue.string),
            ]))
        }
    }

    struct Action: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a corrective action.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option var description: String
        @Option var owner: String
        @Option(help: "YYYY-MM-DD.") var due: String
        func run() async throws {
            connection.showRecord(try await connection.call("nonconformity.add_action", [
                "number": .string(number), "description": .string(description), "owner": .string(owner), "dueOn": .string(due),
            ]))
        }
    }

    struct Done: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a corrective action done (by its id).")
        @OptionGroup var connection: APIConnection
        @Argument var id: Int
        func run() async throws { connection.showRecord(try await connection.call("nonconformity.complete_action", ["id": .int(Int64(id))])) }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record whether the actions were effective (closes it if so).")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option(help: "yes or no.") var effective: String
        @Option var notes: String
        func run() async throws {
            connection.showRecord(try await connection.call("nonconformity.verify", [
                "number": .string(number), "effective": .bool(effective == "yes" || effective == "true"), "notes": .string(notes),
            ]))
        }
    }
}

/// `itsm objective ...`.
struct ObjectiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "objective",
        abstract: "Service management objectives, measured from the other processes.",
        subcommands: [Create.self, List.self, Measure.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Define an objective, e.g. --kpi incident.resolution_within_sla_percent:P1 --comparator '>=' --target 95 --period month.")
        @OptionGroup var connection: APIConnection
        @Option var title: String
        @Option(help: "A KPI name, or a JSON spec {method, value, per, scale}.") var kpi: String
        @Option(help: ">= or <=.") var comparator = ">="
        @Option var target: Double
        @Option(help: "week, month, quarter or year.") var period = "month"
        @Option var owner: String?

        func run() async throws {
            let spec = kpi.hasPrefix("{") ? try JSONValue.parse(kpi.utf8) : .string(kpi)
            connection.showRecord(try await connection.call("objective.create", [
                "title": .string(title), "kpi": spec, "comparator": .string(comparator), "target": .double(target),
                "period": .string(period), "owner": owner.map(JSONValue.string),
            ]))
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var connection: APIConnection
        func run() async throws { print(compact(try await connection.call("objective.list", [:]))) }
    }

    struct Measure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measure an objective for the period containing --at (default now).")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option var at: String?
        func run() async throws {
            let result = try await connection.call("objective.measure", ["number": .string(number), "at": at.map(JSONValue.string)])
            guard !connection.client.json else { return print(compact(result)) }
            if result["available"]?.boolValue == true, let value = result["value"], value != .null {
                print("\(number): \(compact(value)) — \(result["met"]?.boolValue == true ? "met" : "not met")")
            } else {
                print("\(number): no value — \(result["note"]?.stringValue ?? "no data")")
            }
        }
    }
}

extension APIConnection {
    func showRecord(_ record: JSONValue) { print(compact(record)) }
}
