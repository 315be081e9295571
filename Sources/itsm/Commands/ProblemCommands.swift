import ArgumentParser
import Foundation
import ITSMProtocol
import ProblemProtocol

/// `itsm problem ...`: problem management over the HTTP API.
struct ProblemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "problem",
        abstract: "Work with problems: root causes, linked incidents, proposals from recurring incidents.",
        subcommands: [Create.self, List.self, Show.self, Update.self, Transition.self, RootCause.self, Link.self, Unlink.self,
                      Review.self, Detect.self, Stats.self])

    static func describe(_ problem: Problem) -> String {
        func list(_ names: [String]) -> String? { names.isEmpty ? nil : names.joined(separator: ", ") }
        var lines = ["\(problem.number)  \(problem.priority)  \(problem.status.rawValue)\(problem.major ? "  MAJOR" : "")", problem.title]
        let details: [(String, String?)] = [
            ("Services", list(problem.services)), ("Configuration items", list(problem.configurationItems)), ("Category", problem.category),
            ("Owner", problem.owner), ("Root cause method", problem.rootCause.method), ("Root cause", problem.rootCause.findings),
            ("Fix", problem.fix), ("Resolution", problem.resolution), ("Found by", problem.detectionRule),
            ("Created", JSONCoding.string(from: problem.createdAt)), ("Resolved", problem.resolvedAt.map(JSONCoding.string(from:))),
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
            let params = CreateProblem(title: title, description: description, services: service, configurationItems: ci, category: category,
                                       impact: impact, urgency: urgency, owner: owner)
            connection.show(try await connection.call(ProblemMethods.create, params), ProblemCommand.describe)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List problems, newest first.")
        @OptionGroup var connection: APIConnection
        @Option(help: "proposed, new, under_investigation, known_error, resolved or closed.") var status: String?
        @Option var owner: String?
        @Flag(help: "Only major problems.") var major = false
        @Option(help: "At most this many (1-500).") var limit: Int = 50
        @Option(help: "The page after this one: the cursor a previous page printed.") var after: String?
        @Option(help: "Skip this many problems (costs as many rows as it skips; prefer --after).") var offset: Int?

        func run() async throws {
            var params = ListProblems(status: try status.map { try choice(ProblemStatus.self, $0, "--status") }, owner: owner,
                                      major: major ? true : nil, limit: limit, offset: offset)
            params.after = after
            connection.show(try await connection.call(ProblemMethods.list, params)) { page in
                let rows = page.items.map { item in
                    [item.number, item.priority, item.status.rawValue, item.major ? "yes" : "-", item.owner ?? "-", item.title]
                }
                return pageTable(["NUMBER", "PRI", "STATUS", "MAJOR", "OWNER", "TITLE"], rows, total: page.total,
                                 estimated: page.totalIsEstimate, nextCursor: page.nextCursor)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A problem with its incidents, impact, known error and history.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "The number, e.g. PRB-000001.") var number: String

        func run() async throws {
            connection.show(try await connection.call(ProblemMethods.get, GetProblem(number: number, history: true))) { detail in
                let impact = detail.impact
                var lines = [ProblemCommand.describe(detail.problem), "",
                             "Business impact: \(impact.incidents) incidents (\(impact.open) open), \(decimal(impact.downtimeHours)) hours of disruption, "
                             + "by priority " + impact.byPriority.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")]
                if !detail.incidents.isEmpty {
                    lines += ["", table([["INCIDENT", "PRI", "STATUS", "HOW", "TITLE"]] + detail.incidents.map { incident in
                        [incident.number, incident.priority ?? "-", incident.status, incident.how, incident.title]
                    })]
                }
                if let knownError = detail.knownError {
                    lines += ["", "Known error \(knownError.number)", "  Symptoms:   \(knownError.symptoms)", "  Workaround: \(knownError.workaround)"]
                }
                if let recurrence = detail.recurrence {
                    lines += ["", "After the fix: " + (recurrence.incidents.isEmpty ? "no recurrence" : "recurred: \(recurrence.incidents.joined(separator: ", "))")]
                }
                return (lines + ["", "History"] + (detail.history ?? []).map(historyLine)).joined(separator: "\n")
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
            let params = UpdateProblem(number: number, title: title, description: description, category: category, impact: impact,
                                       urgency: urgency, owner: owner, fix: fix)
            connection.show(try await connection.call(ProblemMethods.update, params), ProblemCommand.describe)
        }
    }

    struct Transition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a problem to another status.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Argument(help: "new, under_investigation, known_error, resolved or closed.") var to: String
        @Option(help: "Why (required to close a problem that was not resolved).") var note: String?

        func run() async throws {
            let params = TransitionProblem(number: number, to: try choice(ProblemStatus.self, to, "to"), note: note)
            connection.show(try await connection.call(ProblemMethods.transition, params), ProblemCommand.describe)
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
            let params = RecordRootCause(number: number, method: method, findings: findings, category: category)
            connection.show(try await connection.call(ProblemMethods.recordRootCause, params), ProblemCommand.describe)
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Link an incident to a problem.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Argument(help: "The incident, e.g. INC-000042.") var incident: String

        func run() async throws {
            connection.show(try await connection.call(ProblemMethods.link, LinkProblemIncident(number: number, incident: incident))) {
                "\(incident) linked to \(number); \($0.impact.incidents) incidents linked"
            }
        }
    }

    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unlink an incident from a problem.")
        @OptionGroup var connection: APIConnection
        @Argument var number: String
        @Argument var incident: String

        func run() async throws {
            connection.show(try await connection.call(ProblemMethods.unlink, LinkProblemIncident(number: number, incident: incident))) { _ in
                "\(incident) unlinked from \(number)"
            }
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
            let params = ReviewProblem(number: number, summary: summary, lessons: lessons, actions: action)
            connection.show(try await connection.call(ProblemMethods.review, params)) { _ in "review of \(number) recorded" }
        }
    }

    struct Detect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Look for recurring incidents within the detection window now.")
        @OptionGroup var connection: APIConnection

        func run() async throws {
            connection.show(try await connection.call(ProblemMethods.detect, NoParams())) { result in
                result.findings.isEmpty ? "no new recurring incidents" : result.findings.map { finding in
                    "\(finding.problem)  \(finding.action)  by \(finding.rule)  \(finding.incidents.joined(separator: ", "))"
                }.joined(separator: "\n")
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Figures for a period (default: the last 30 days).")
        @OptionGroup var connection: APIConnection
        @Option(help: "ISO 8601 start, e.g. 2026-11-01T00:00:00Z.") var from: String?
        @Option(help: "ISO 8601 end.") var to: String?

        func run() async throws {
            let params = ProblemStatsParams(from: try instant(from, "--from"), to: try instant(to, "--to"))
            print(compact(try await connection.call(ProblemMethods.stats, params).json))
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
            let params = SearchKnownErrors(text: text.joined(separator: " "), limit: limit)
            connection.show(try await connection.call(ProblemMethods.searchKnownErrors, params)) { result in
                result.items.isEmpty ? "no known error matches" : result.items.map { item in
                    "\(item.number)  \(item.problem)  score \(item.score.map(decimal) ?? "-")  \(item.title)\n  Workaround: \(item.workaround)"
                }.joined(separator: "\n")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One known error.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "e.g. KE-000001.") var number: String

        func run() async throws {
            connection.show(try await connection.call(ProblemMethods.knownError, KnownErrorKey(number: number))) { item in
                """
                \(item.number)  (\(item.problem))  \(item.title)
                  Symptoms:   \(item.symptoms)
                  Root cause: \(item.rootCause)
                  Workaround: \(item.workaround)
                """
            }
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
            let params = PublishKnownError(problem: problem, symptoms: symptoms, workaround: workaround, title: title, rootCause: rootCause)
            connection.show(try await connection.call(ProblemMethods.publishKnownError, params)) { "\($0.number) published for \(problem)" }
        }
    }
}
