import ArgumentParser
import Foundation
import ITSMProtocol

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
            let contacts: [JSONValue] = contact.map { text in
                let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                var members: [String: JSONValue] = ["name": .string(parts[0])]
                if parts.count > 1, !parts[1].isEmpty { members["email"] = .string(parts[1]) }
                if parts.count > 2, !parts[2].isEmpty { members["phone"] = .string(parts[2]) }
                return .object(members)
            }
            let supplier = try await connection.call("supplier.create", [
                "name": .string(name), "kind": .string(kind), "owner": owner.map(JSONValue.string),
                "services": .array(service.map(JSONValue.string)), "contacts": .array(contacts),
            ])
            connection.client.json ? print(compact(supplier)) : print("\(supplier["number"]?.stringValue ?? "")  \(name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List suppliers.")
        @OptionGroup var connection: APIConnection
        @Option(help: "active, on_hold or inactive.") var status: String?

        func run() async throws {
            let list = try await connection.call("supplier.list", ["status": status.map(JSONValue.string)])
            guard !connection.client.json else { return print(compact(list)) }
            var rows = [["NUMBER", "KIND", "STATUS", "OWNER", "NAME"]]
            for item in list["items"]?.arrayValue ?? [] {
                rows.append([item["number"]?.stringValue ?? "", item["kind"]?.stringValue ?? "", item["status"]?.stringValue ?? "",
                             item["owner"]?.stringValue ?? "-", item["name"]?.stringValue ?? ""])
            }
            print(table(rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A supplier with contracts, targets, reviews, disputes and actions.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "Number (SUP-000001) or name.") var supplier: String

        func run() async throws {
            print(compact(try await connection.call("supplier.get", ["supplier": .string(supplier), "history": .bool(true)])))
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
            let targets: [JSONValue] = try target.map { text in
                let parts = text.split(separator: ":").map(String.init)
                guard parts.count == 3, let minutes = Int(parts[2]) else {
                    throw ValidationError("--target \(text): give KIND:PRIORITY:MINUTES, e.g. resolution:P2:480")
                }
                return ["kind": .string(parts[0]), "priority": parts[1] == "any" ? nil : .string(parts[1]), "minutes": .int(Int64(minutes))]
            }
            let contract = try await connection.call("supplier.add_contract", [
                "supplier": .string(supplier), "reference": .string(reference), "startsOn": .string(starts), "endsOn": .string(ends),
                "noticeDays": noticeDays.map { .int(Int64($0)) }, "renewal": renewal.map(JSONValue.string), "value": value.map(JSONValue.double),
                "currency": currency.map(JSONValue.string), "scope": scope.map(JSONValue.string),
                "documents": .array(document.map(JSONValue.string)), "targets": .array(targets),
            ])
            connection.client.json ? print(compact(contract))
                : print("\(reference): \(starts) to \(ends), notice deadline \(contract["noticeDeadline"]?.stringValue ?? "")")
        }
    }

    struct Scorecard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per supplier: volume, % within target, mean and p90 hours, breaches.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "One supplier (default: all).") var supplier: String?
        @Option(help: "ISO 8601 start (default: 30 days ago).") var from: String?
        @Option(help: "ISO 8601 end (default: now).") var to: String?

        func run() async throws {
            let report = try await connection.call("supplier.scorecard", [
                "supplier": supplier.map(JSONValue.string), "from": from.map(JSONValue.string), "to": to.map(JSONValue.string),
            ])
            guard !connection.client.json else { return print(compact(report)) }
            if let note = report["note"]?.stringValue { print("note: \(note)\n") }
            var rows = [["SUPPLIER", "NAME", "VOLUME", "WITHIN", "%", "BREACHES", "MEAN H", "P90 H", "OPEN"]]
            for card in report["scorecards"]?.arrayValue ?? [] {
                func cell(_ name: String) -> String { card[name].map { $0 == .null ? "-" : compact($0) } ?? "-" }
                rows.append([card["supplier"]?.stringValue ?? "", card["name"]?.stringValue ?? "", cell("volume"),
                             "\(cell("withinTarget"))/\(cell("scored"))", cell("withinTargetPercent"), cell("breaches"),
                             cell("meanBusinessHours"), cell("p90BusinessHours"), cell("open")])
            }
            print(table(rows))
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
            let actions: [JSONValue] = try action.map { text in
                let parts = text.split(separator: ",", maxSplits: 2).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 3 else { throw ValidationError("--action \(text): give OWNER,YYYY-MM-DD,DESCRIPTION") }
                return ["owner": .string(parts[0]), "dueOn": .string(parts[1]), "description": .string(parts[2])]
            }
            let detail = try await connection.call("supplier.record_review", [
                "supplier": .string(supplier), "heldOn": .string(heldOn), "attendees": .array(attendee.map(JSONValue.string)),
                "findings": .string(findings), "actions": .array(actions),
            ])
            connection.client.json ? print(compact(detail)) : print("review recorded for \(supplier)")
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
            let result: JSONValue
            if let resolve {
                result = try await connection.call("supplier.resolve_dispute", ["id": .int(Int64(resolve)), "resolution": resolution.map(JSONValue.string)])
            } else {
                guard let supplier, let subject else { throw ValidationError("give the supplier and --subject, or --resolve ID --resolution TEXT") }
                result = try await connection.call("supplier.open_dispute", [
                    "supplier": .string(supplier), "subject": .string(subject), "contract": contract.map(JSONValue.string),
                    "amount": amount.map(JSONValue.double), "currency": currency.map(JSONValue.string),
                ])
            }
            connection.client.json ? print(compact(result)) : print("dispute \(result["id"].map(compact) ?? "") \(result["status"]?.stringValue ?? "")")
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
            let result: JSONValue
            if let done {
                result = try await connection.call("supplier.complete_action", ["id": .int(Int64(done))])
            } else {
                guard let supplier, let description, let owner, let due else {
                    throw ValidationError("give the supplier, --description, --owner and --due, or --done ID")
                }
                result = try await connection.call("supplier.add_action", [
                    "supplier": .string(supplier), "description": .string(description), "owner": .string(owner), "dueOn": .string(due),
                ])
            }
            connection.client.json ? print(compact(result)) : print("action \(result["id"].map(compact) ?? "") \(result["status"]?.stringValue ?? "")")
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Figures for a period (default: the last 30 days).")
        @OptionGroup var connection: APIConnection
        @Option var from: String?
        @Option var to: String?

        func run() async throws {
            print(compact(try await connection.call("supplier.stats", ["from": from.map(JSONValue.string), "to": to.map(JSONValue.string)])))
        }
    }
}
