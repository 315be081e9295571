import ArgumentParser
import Foundation
import ImprovementProtocol
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
            let params = CreateOpportunity(title: title, description: description, source: try choice(OpportunitySource.self, source, "--source"),
                                           services: service, owner: owner, targetDate: targetDate, expectedBenefit: expectedBenefit)
            connection.show(try await connection.call(ImprovementMethods.create, params)) { "\($0.number)  score \($0.score)  \($0.title)" }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Opportunities, highest score first.")
        @OptionGroup var connection: APIConnection
        @Option(help: "proposed, approved, rejected, in_progress, implemented, benefits_verified or closed.") var status: String?
        @Option var owner: String?

        func run() async throws {
            let params = ListOpportunities(status: try status.map { try choice(OpportunityStatus.self, $0, "--status") }, owner: owner)
            connection.show(try await connection.call(ImprovementMethods.list, params)) { list in
                table([["NUMBER", "SCORE", "PRIORITY", "STATUS", "SOURCE", "OWNER", "TITLE"]] + list.items.map { item in
                    [item.number, "\(item.score)", item.priority, item.status.rawValue, item.source.rawValue, item.owner ?? "-", item.title]
                })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An opportunity with its sources and history.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String

        func run() async throws {
            connection.show(try await connection.call(ImprovementMethods.get, OpportunityKey(number: number))) { detail in
                let item = detail.opportunity
                var lines = ["\(item.number)  \(item.status.rawValue)  score \(item.score) (\(item.priority))", item.title]
                if !item.description.isEmpty { lines.append("  \(item.description)") }
                if !detail.sources.isEmpty {
                    lines += ["", "Sources"] + detail.sources.map { "  \(JSONCoding.string(from: $0.occurredAt))  \($0.eventType)  \($0.summary)" }
                }
                return (lines + ["", "History"] + detail.history.map(historyLine)).joined(separator: "\n")
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
            let scored = benefit != nil || cost != nil || risk != nil || alignment != nil
            let params = UpdateOpportunity(
                number: number, evaluation: scored ? Evaluation(benefit: benefit ?? 3, cost: cost ?? 3, risk: risk ?? 3, alignment: alignment ?? 3) : nil,
                owner: owner, targetDate: targetDate, expectedBenefit: expectedBenefit, measuredBenefit: measuredBenefit)
            connection.show(try await connection.call(ImprovementMethods.update, params)) { "\(number): score \($0.score) (\($0.priority))" }
        }
    }

    struct Transition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move an opportunity along its lifecycle.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Argument var to: String
        @Option var note: String?

        func run() async throws {
            let params = TransitionOpportunity(number: number, to: try choice(OpportunityStatus.self, to, "to"), note: note)
            connection.show(try await connection.call(ImprovementMethods.transition, params)) { "\(number): \($0.status.rawValue)" }
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
            let params = ReviewPackParams(from: try instant(from, "--from"), to: try instant(to, "--to"), format: format)
            let result = try await connection.call(ImprovementMethods.reviewPack, params).value
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
            let params = CreateNonconformity(title: title, requirement: requirement, description: description, source: source,
                                             severity: severity, owner: owner)
            connection.showRecord(try await connection.call(ImprovementMethods.createNonconformity, params))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open nonconformities (--all for closed ones too).")
        @OptionGroup var connection: APIConnection
        @Flag var all = false

        func run() async throws {
            connection.show(try await connection.call(ImprovementMethods.listNonconformities, ListNonconformities(all: all))) { list in
                table([["NUMBER", "SEVERITY", "STATUS", "REQUIREMENT", "TITLE"]] + list.items.map { item in
                    [item.number, item.severity, item.status, item.requirement, item.title]
                })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        func run() async throws { connection.showRecord(try await connection.call(ImprovementMethods.nonconformity, NonconformityKey(number: number))) }
    }

    struct Correct: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record the correction and the root cause.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option var correction: String
        @Option var rootCause: String?
        func run() async throws {
            let params = RecordCorrection(number: number, correction: correction, rootCause: rootCause)
            connection.showRecord(try await connection.call(ImprovementMethods.recordCorrection, params))
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
            let params = AddCorrectiveAction(number: number, description: description, owner: owner, dueOn: due)
            connection.showRecord(try await connection.call(ImprovementMethods.addCorrectiveAction, params))
        }
    }

    struct Done: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a corrective action done (by its id).")
        @OptionGroup var connection: APIConnection
        @Argument var id: Int
        func run() async throws {
            connection.showRecord(try await connection.call(ImprovementMethods.completeCorrectiveAction, CompleteCorrectiveAction(id: id)))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record whether the actions were effective (closes it if so).")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option(help: "yes or no.") var effective: String
        @Option var notes: String
        func run() async throws {
            let params = VerifyEffectiveness(number: number, effective: effective == "yes" || effective == "true", notes: notes)
            connection.showRecord(try await connection.call(ImprovementMethods.verifyEffectiveness, params))
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
            let params = CreateObjective(title: title, kpi: spec, comparator: comparator, target: target,
                                         period: try choice(Period.self, period, "--period"), owner: owner)
            connection.showRecord(try await connection.call(ImprovementMethods.createObjective, params))
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var connection: APIConnection
        func run() async throws { connection.showRecord(try await connection.call(ImprovementMethods.objectives, NoParams())) }
    }

    struct Measure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measure an objective for the period containing --at (default now).")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Option var at: String?
        func run() async throws {
            connection.show(try await connection.call(ImprovementMethods.measureObjective, MeasureObjective(number: number, at: try instant(at, "--at")))) {
                if $0.available, let value = $0.value {
                    "\(number): \(decimal(value)) — \($0.met == true ? "met" : "not met")"
                } else {
                    "\(number): no value — \($0.note ?? "no data")"
                }
            }
        }
    }
}

extension APIConnection {
    /// Prints a record as the API answered it, with or without `--json`.
    func showRecord<Result>(_ answer: (value: Result, json: JSONValue)) { print(compact(answer.json)) }
}
