import ArgumentParser
import Foundation
import ITSMProtocol
import SupplierProtocol

/// `itsm supplier ...`: supplier management over the HTTP API.
struct SupplierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supplier",
        abstract: "Work with suppliers: contracts and targets, scorecards, reviews, disputes and actions.",
        subcommands: [Create.self, List.self, Show.self, AddContract.self, Scorecard.self, Review.self, Dispute.self, Action.self, Stats.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a supplier.")
        @OptionGroup var connection: APIConnection
        @Option var name: String
        @Option(help: "external, internal or customer.") var kind = "external"
        @Option(help: "The relationship owner on our side.") var owner: String?
        @Option(help: "A supported service (repeat for several).") var service: [String] = []
        @Option(help: "A contact as NAME[,EMAIL[,PHONE]] (repeat for several).") var contact: [String] = []

        func run() async throws {
            let contacts = contact.map { text in
                let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                func part(_ index: Int) -> String? { parts.count > index && !parts[index].isEmpty ? parts[index] : nil }
                return Contact(name: parts[0], email: part(1), phone: part(2))
            }
            let params = CreateSupplier(name: name, kind: try choice(SupplierKind.self, kind, "--kind"), contacts: contacts, services: service,
                                        owner: owner)
            connection.show(try await connection.call(SupplierMethods.create, params)) { "\($0.number)  \($0.name)" }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List suppliers.")
        @OptionGroup var connection: APIConnection
        @Option(help: "active, on_hold or inactive.") var status: String?

        func run() async throws {
            let params = ListSuppliers(status: try status.map { try choice(SupplierStatus.self, $0, "--status") })
            connection.show(try await connection.call(SupplierMethods.list, params)) { list in
                table([["NUMBER", "KIND", "STATUS", "OWNER", "NAME"]] + list.items.map { item in
                    [item.number, item.kind.rawValue, item.status.rawValue, item.owner ?? "-", item.name]
                })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A supplier with contracts, targets, reviews, disputes and actions.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "Number (SUP-000001) or name.") var supplier: String

        func run() async throws {
            print(compact(try await connection.call(SupplierMethods.get, SupplierKey(supplier: supplier, history: true)).json))
        }
    }

    struct AddContract: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-contract",
            abstract: "Add a contract; targets as KIND:PRIORITY:MINUTES, e.g. resolution:P2:480 (business minutes).")
        @OptionGroup var connection: APIConnection
        @Argument var supplier: String
        @Option var reference: String
        @Option(help: "YYYY-MM-DD.") var starts: String
        @Option(help: "YYYY-MM-DD.") var ends: String
        @Option(help: "Days of notice before the end.") var noticeDays: Int?
        @Option(help: "fixed_term, auto_renew or manual.") var renewal: String?
        @Option var value: Double?
        @Option var currency: String?
        @Option var scope: String?
        @Option(help: "A document link (repeat for several).") var document: [String] = []
        @Option(help: "response|resolution:P1..P5|any:MINUTES (repeat for several).") var target: [String] = []

        func run() async throws {
            let targets = try target.map { text in
                let parts = text.split(separator: ":").map(String.init)
                guard parts.count == 3, let minutes = Int(parts[2]) else {
                    throw ValidationError("--target \(text): give KIND:PRIORITY:MINUTES, e.g. resolution:P2:480")
                }
                return Target(kind: try choice(TargetKind.self, parts[0], "--target \(text)"), priority: parts[1] == "any" ? nil : parts[1],
                              minutes: minutes)
            }
            let params = SupplierProtocol.AddContract(supplier: supplier, reference: reference, scope: scope, startsOn: starts, endsOn: ends,
                                     noticeDays: noticeDays, renewal: try renewal.map { try choice(Renewal.self, $0, "--renewal") },
                                     value: value, currency: currency, documents: document, targets: targets)
            connection.show(try await connection.call(SupplierMethods.addContract, params)) { contract in
                "\(contract.reference): \(contract.startsOn) to \(contract.endsOn), notice deadline \(contract.noticeDeadline)"
            }
        }
    }

    struct Scorecard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per supplier: volume, % within target, mean and p90 hours, breaches.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "One supplier (default: all).") var supplier: String?
        @Option(help: "ISO 8601 start (default: 30 days ago).") var from: String?
        @Option(help: "ISO 8601 end (default: now).") var to: String?

        func run() async throws {
            let params = ScorecardParams(supplier: supplier, from: try instant(from, "--from"), to: try instant(to, "--to"))
            connection.show(try await connection.call(SupplierMethods.scorecard, params)) { report in
                func cell(_ value: (some CustomStringConvertible)?) -> String { value.map(\.description) ?? "-" }
                let rows = report.scorecards.map { card in
                    [card.supplier, card.name, cell(card.volume), "\(card.withinTarget)/\(card.scored)", cell(card.withinTargetPercent),
                     cell(card.breaches), cell(card.meanBusinessHours), cell(card.p90BusinessHours), cell(card.open)]
                }
                return (report.note.map { "note: \($0)\n\n" } ?? "")
                    + table([["SUPPLIER", "NAME", "VOLUME", "WITHIN", "%", "BREACHES", "MEAN H", "P90 H", "OPEN"]] + rows)
            }
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a supplier review meeting.")
        @OptionGroup var connection: APIConnection
        @Argument var supplier: String
        @Option(help: "YYYY-MM-DD.") var heldOn: String
        @Option(help: "Who attended (repeat).") var attendee: [String] = []
        @Option var findings: String
        @Option(help: "An action as OWNER,YYYY-MM-DD,DESCRIPTION (repeat).") var action: [String] = []

        func run() async throws {
            let actions = try action.map { text in
                let parts = text.split(separator: ",", maxSplits: 2).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 3 else { throw ValidationError("--action \(text): give OWNER,YYYY-MM-DD,DESCRIPTION") }
                return ActionToTake(description: parts[2], owner: parts[0], dueOn: parts[1])
            }
            let params = RecordReview(supplier: supplier, heldOn: heldOn, attendees: attendee, findings: findings, actions: actions)
            connection.show(try await connection.call(SupplierMethods.recordReview, params)) { "review recorded for \($0.supplier.name)" }
        }
    }

    struct Dispute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a dispute, or --resolve ID with --resolution.")
        @OptionGroup var connection: APIConnection
        @Argument var supplier: String?
        @Option var subject: String?
        @Option var contract: String?
        @Option var amount: Double?
        @Option var currency: String?
        @Option(help: "The dispute to settle.") var resolve: Int?
        @Option var resolution: String?

        func run() async throws {
            let answer: (value: SupplierProtocol.Dispute, json: JSONValue)
            if let resolve {
                guard let resolution else { throw ValidationError("--resolve needs --resolution: how it was settled") }
                answer = try await connection.call(SupplierMethods.resolveDispute, ResolveDispute(id: resolve, resolution: resolution))
            } else {
                guard let supplier, let subject else { throw ValidationError("give the supplier and --subject, or --resolve ID --resolution TEXT") }
                answer = try await connection.call(SupplierMethods.openDispute, OpenDispute(supplier: supplier, contract: contract, subject: subject,
                                                                                            amount: amount, currency: currency))
            }
            connection.show(answer) { "dispute \($0.id) \($0.status)" }
        }
    }

    struct Action: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an agreed action, or --done ID.")
        @OptionGroup var connection: APIConnection
        @Argument var supplier: String?
        @Option var description: String?
        @Option var owner: String?
        @Option(help: "YYYY-MM-DD.") var due: String?
        @Option(help: "The action that is done.") var done: Int?

        func run() async throws {
            let answer: (value: SupplierAction, json: JSONValue)
            if let done {
                answer = try await connection.call(SupplierMethods.completeAction, ActionKey(id: done))
            } else {
                guard let supplier, let description, let owner, let due else {
                    throw ValidationError("give the supplier, --description, --owner and --due, or --done ID")
                }
                answer = try await connection.call(SupplierMethods.addAction, AddAction(supplier: supplier, description: description, owner: owner,
                                                                                        dueOn: due))
            }
            connection.show(answer) { "action \($0.id) \($0.status)" }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Figures for a period (default: the last 30 days).")
        @OptionGroup var connection: APIConnection
        @Option var from: String?
        @Option var to: String?

        func run() async throws {
            let params = SupplierStatsParams(from: try instant(from, "--from"), to: try instant(to, "--to"))
            print(compact(try await connection.call(SupplierMethods.stats, params).json))
        }
    }
}
