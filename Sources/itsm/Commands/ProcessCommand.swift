import ArgumentParser
import Foundation
import ITSMProtocol

/// `itsm <process> <verb> [VALUE…] [--member value…]` for any process the coordinator runs,
/// made from its methods' schemas (`GET /api/v1/methods`): a custom process gets a command line
/// without a change here. `itsm change --help` lists the verbs, `itsm change create --help` the
/// members. Positional values fill the required members in order; `--assignment-group` fills
/// `assignmentGroup`; values take the schema's types; a list member takes its flag repeatedly.
struct ProcessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "itsm")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var client: ClientOptions

    @Argument var process: String
    @Argument var verb: String?
    @Argument(parsing: .allUnrecognized) var values: [String] = []

    /// `--help`, renamed before parsing so the usage comes from the schemas.
    @Flag(name: .customLong("show-usage")) var showUsage = false

    /// Whether `itsm <first>` names no built-in command, so a process of that name is meant; or
    /// names a process's own commands without the verb that follows (`itsm incident
    /// declare-major`), which its schemas then provide.
    static func handles(_ arguments: [String]) -> Bool {
        guard let first = arguments.first, !first.hasPrefix("-"), first != "help" else { return false }
        if let command = ITSM.configuration.subcommands.first(where: { $0._commandName == first }) {
            guard command is any ProcessCommands.Type, let verb = arguments.dropFirst().first, !verb.hasPrefix("-"), verb != "help" else {
                return false
            }
            return !command.configuration.subcommands.contains { $0._commandName == verb }
        }
        return first.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 || $0 == 95 }
    }

    static func run(_ arguments: [String]) async {
        let renamed = arguments.map { $0 == "--help" || $0 == "-h" ? "--show-usage" : $0 }
        do {
            var command = try parseAsRoot(renamed)
            if var asyncCommand = command as? any AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch {
            exit(withError: error)
        }
    }

    func run() async throws {
        let api = try APIClient(options: client, configuration: try global.loadConfiguration())
        let methods: [MethodDescriptor]
        do {
            methods = try await api.send("GET", path: "api/v1/methods").decode([MethodDescriptor].self)
        } catch let error as ResponseError {
            throw report(error)
        }
        // `request-item` names the `request_item.` methods, as verbs are written with dashes too.
        let namespace = process.replacingOccurrences(of: "-", with: "_")
        let own = methods.filter { $0.name.hasPrefix(namespace + ".") }
        guard !own.isEmpty else {
            let known = Set(methods.map { String($0.name.prefix { $0 != "." }) }).sorted()
            throw Self.usageError("'\(process)' is neither a command (itsm --help) nor a process the coordinator runs (\(known.joined(separator: ", ")))")
        }
        guard let verb else {
            print(usage(of: own))
            if showUsage { return }
            throw ExitCode(64)
        }
        let name = namespace + "." + verb.replacingOccurrences(of: "-", with: "_")
        guard let method = own.first(where: { $0.name == name }) else {
            throw Self.usageError("\(process) has no '\(verb)'; its verbs: \(own.map { Self.verb(of: $0) }.joined(separator: ", "))")
        }
        if showUsage {
            print(usage(of: method))
            return
        }
        let params = try Self.params(values, for: method)
        do {
            let result = try await api.send("POST", path: "api/v1/rpc/\(method.name)", body: params)
            print(client.json ? compact(result) : Self.render(result))
        } catch let error as ResponseError {
            throw report(error)
        }
    }

    /// A mistake on the command line: said on stderr, exit status 64, no generic usage text.
    static func usageError(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode(64)
    }

    static func verb(of method: MethodDescriptor) -> String {
        String(method.name.drop { $0 != "." }.dropFirst()).replacingOccurrences(of: "_", with: "-")
    }

    static func flag(_ member: String) -> String {
        "--" + member.reduce(into: "") { flag, character in
            if character.isUppercase { flag += "-" + character.lowercased() } else { flag.append(character) }
        }
    }

    private func usage(of methods: [MethodDescriptor]) -> String {
        var rows = [["VERB", "PERMISSION", "WHAT IT DOES"]]
        for method in methods { rows.append([Self.verb(of: method), method.permission, method.description ?? ""]) }
        return "usage: itsm \(process) <verb> [VALUE…] [--member value…]  (itsm \(process) <verb> --help for its members)\n\n" + table(rows)
    }

    private func usage(of method: MethodDescriptor) -> String {
        let schema = method.params ?? .any
        let required = schema.required ?? []
        var lines = ["usage: itsm \(process) \(Self.verb(of: method))" + required.map { " <\($0)>" }.joined() + " [--member value…]"]
        if let description = method.description { lines.append("\n" + description) }
        lines.append("\nmembers (permission \(method.permission)):")
        var rows: [[String]] = []
        for (name, member) in (schema.properties ?? [:]).sorted(by: { $0.key < $1.key }) {
            rows.append(["  " + Self.flag(name), Self.describe(member), required.contains(name) ? "required" : ""])
        }
        lines.append(rows.isEmpty ? "  none" : table(rows))
        return lines.joined(separator: "\n")
    }

    static func describe(_ schema: JSONSchema) -> String {
        switch schema.type {
        case .string?: schema.enum?.joined(separator: "|") ?? (schema.format.map { "<\($0)>" } ?? "<text>")
        case .integer?: "<whole number>"
        case .number?: "<number>"
        case .boolean?: "[true|false]"
        case .array?: (schema.items.map { describe($0.schema) } ?? "<value>") + " (repeat for more)"
        case .object?, nil: "<JSON>"
        }
    }

    /// The params from the command line: positional values for the required members in order,
    /// then `--member value` pairs, typed by the method's schema.
    static func params(_ values: [String], for method: MethodDescriptor) throws -> JSONValue {
        let schema = method.params ?? .any
        let properties = schema.properties ?? [:]
        let byFlag = Dictionary(uniqueKeysWithValues: properties.keys.map { (flag($0), $0) })
        var params: [String: JSONValue] = [:]
        var positional = (schema.required ?? [])[...]
        var index = 0
        func typed(_ text: String, _ member: String, _ schema: JSONSchema?) throws -> JSONValue {
            switch schema?.type {
            case .object?, nil:
                return (try? JSONValue.parse(text.utf8)) ?? .string(text)
            case .array?:
                return .string(text)
            case let kind?:
                if let value = kind.value(fromText: text) { return value }
                let expected = kind == .integer ? "is not a whole number" : kind == .number ? "is not a number" : "is not true or false"
                throw Self.usageError("\(flag(member)): '\(text)' \(expected)")
            }
        }
        while index < values.count {
            let token = values[index]
            index += 1
            guard token.hasPrefix("--") else {
                guard let member = positional.popFirst() else {
                    throw Self.usageError("'\(token)' is one value too many; give the others as --member value")
                }
                params[member] = try typed(token, member, properties[member])
                continue
            }
            let (given, inline) = token.contains("=")
                ? (String(token.prefix { $0 != "=" }), String(token.drop { $0 != "=" }.dropFirst())) : (token, nil)
            guard let member = byFlag[given] ?? (properties[String(given.dropFirst(2))] != nil ? String(given.dropFirst(2)) : nil) else {
                let known = properties.keys.sorted().map(flag)
                throw Self.usageError("\(given) is not a member of \(method.name); it takes \(known.isEmpty ? "none" : known.joined(separator: ", "))")
            }
            positional.removeAll { $0 == member }
            let memberSchema = properties[member]
            var text = inline
            if text == nil, index < values.count, !values[index].hasPrefix("--") {
                text = values[index]
                index += 1
            }
            if text == nil, memberSchema?.type == .boolean { text = "true" }
            guard let text else { throw Self.usageError("\(given) needs a value: \(describe(memberSchema ?? .any))") }
            if memberSchema?.type == .array {
                var list = params[member]?.arrayValue ?? []
                list.append(try typed(text, member, memberSchema?.items?.schema))
                params[member] = .array(list)
            } else {
                params[member] = try typed(text, member, memberSchema)
            }
        }
        return .object(params)
    }

    /// A list (`items`) as a table of its plain members, a record as `member: value` lines.
    static func render(_ result: JSONValue) -> String {
        if let items = result["items"]?.arrayValue, items.first?.objectValue != nil {
            let columns = JSONValue.tableColumns(of: items)
            var rows = [columns.map { $0.uppercased() }]
            for item in items { rows.append(columns.map { item[$0]?.plainText ?? "" }) }
            return table(rows)
        }
        guard let members = result.objectValue else { return pretty(result) }
        return members.keys.sorted().map { key in "\(key): \(members[key]!.plainText ?? compact(members[key]!))" }.joined(separator: "\n")
    }
}

/// A built-in process's hand-written commands (`itsm incident …`): those that print for people
/// or make several calls. A verb they lack is one of the process's methods, called through
/// `ProcessCommand`, so a method added to a built-in process needs no command here either.
protocol ProcessCommands: AsyncParsableCommand {}

extension IncidentCommand: ProcessCommands {}
extension ProblemCommand: ProcessCommands {}
extension KnownErrorCommand: ProcessCommands {}
extension SupplierCommand: ProcessCommands {}
extension ImprovementCommand: ProcessCommands {}
extension NonconformityCommand: ProcessCommands {}
extension ObjectiveCommand: ProcessCommands {}
extension CapacityCommand: ProcessCommands {}
