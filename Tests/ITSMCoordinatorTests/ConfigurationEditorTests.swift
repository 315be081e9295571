import ITSMCoordinator
import ITSMProtocol
import Testing

struct ConfigurationEditorTests {
    static let file = """
        # Our processes.
        dataDir: .itsm
        plugins:
          - incident   # the desk
          - problem
          - name: change
            command: [python3, change.py]
            config: {approvers: [cab]}
        heartbeatMs: 5000
        """

    @Test func disablingABuiltInKeepsEveryOtherLineAndComment() throws {
        let edit = try ConfigurationEditor.setEnabled(false, plugin: "incident", in: Self.file)
        #expect(edit.changed)
        #expect(edit.text == Self.file.replacingOccurrences(of: "- incident   #", with: "- {name: incident, enabled: false}   #"))
        let configuration = try Configuration.parse(yaml: edit.text)
        #expect(configuration.enabledPlugins.map(\.name) == ["problem", "change"])
        #expect(configuration.disabledPlugins.contains("incident"))
    }

    @Test func disablingACustomPluginKeepsItsCommandAndEnablingRestoresIt() throws {
        let disabled = try ConfigurationEditor.setEnabled(false, plugin: "change", in: Self.file)
        #expect(disabled.text.contains("    enabled: false\n    command: [python3, change.py]"))
        let off = try Configuration.parse(yaml: disabled.text)
        #expect(off.plugins.first { $0.name == "change" }?.command == ["python3", "change.py"])
        #expect(!off.enabledPlugins.contains { $0.name == "change" })

        let enabled = try ConfigurationEditor.setEnabled(true, plugin: "change", in: disabled.text)
        #expect(enabled.text.contains("    enabled: true\n"))
        #expect(try Configuration.parse(yaml: enabled.text).enabledPlugins.map(\.name) == ["incident", "problem", "change"])
    }

    @Test func enablingAnUnlistedBuiltInAddsItAndADisabledEntryIsSwitchedBack() throws {
        let added = try ConfigurationEditor.setEnabled(true, plugin: "supplier", in: Self.file)
        #expect(added.text.contains("plugins:\n  - supplier\n  - incident   # the desk"))

        let off = try ConfigurationEditor.setEnabled(false, plugin: "problem", in: Self.file)
        let on = try ConfigurationEditor.setEnabled(true, plugin: "problem", in: off.text)
        #expect(on.text.contains("- {name: problem, enabled: true}"))
        #expect(try Configuration.parse(yaml: on.text).enabledPlugins.map(\.name) == ["incident", "problem", "change"])
    }

    @Test func nothingChangesWhenTheFileAlreadySaysSo() throws {
        #expect(try ConfigurationEditor.setEnabled(true, plugin: "problem", in: Self.file).changed == false)
        #expect(try ConfigurationEditor.setEnabled(false, plugin: "capacity", in: Self.file).changed == false)
    }

    @Test func aFileWithoutAPluginListGetsOneStartingFromTheDefault() throws {
        let edit = try ConfigurationEditor.setEnabled(true, plugin: "problem", in: "dataDir: .itsm\n")
        #expect(edit.text == "dataDir: .itsm\nplugins:\n  - incident\n  - problem\n")
        let off = try ConfigurationEditor.setEnabled(false, plugin: "incident", in: "")
        #expect(try Configuration.parse(yaml: off.text).enabledPlugins.isEmpty)
    }

    @Test func aListWrittenInFlowStyleStaysInFlowStyle() throws {
        let added = try ConfigurationEditor.setEnabled(true, plugin: "service", in: "http: 127.0.0.1:0\nplugins: [incident]\n")
        #expect(added.text == "http: 127.0.0.1:0\nplugins: [service, incident]\n")
        let off = try ConfigurationEditor.setEnabled(false, plugin: "incident", in: added.text)
        #expect(try Configuration.parse(yaml: off.text).enabledPlugins.map(\.name) == ["service"])
    }

    @Test func refusesWhatItCannotDoSafely() {
        #expect(throws: CoordinatorError.self) { try ConfigurationEditor.setEnabled(true, plugin: "cmdb", in: Self.file) }
        #expect(throws: CoordinatorError.self) {
            try ConfigurationEditor.setEnabled(true, plugin: "problem", in: "plugins: []\n")
        }
        #expect(throws: CoordinatorError.self) { try ConfigurationEditor.setEnabled(true, plugin: "problem", in: "plugins: [incident\n") }
    }

    static let matrix: JSONValue = [[1, 1, 2], [2, 3, 4], [3, 4, 5]]

    @Test func aListedBuiltInGetsItsFirstSettingAndTheRestOfTheFileStays() throws {
        let edit = try ConfigurationEditor.setConfig("priorityMatrix", to: Self.matrix, plugin: "incident", in: Self.file)
        #expect(edit.changed)
        #expect(edit.text == Self.file.replacingOccurrences(
            of: "- incident   #", with: "- {name: incident, config: {priorityMatrix: [[1, 1, 2], [2, 3, 4], [3, 4, 5]]}}   #"))
        #expect(try Configuration.parse(yaml: edit.text).plugins.first?.config?["priorityMatrix"] == Self.matrix)
        #expect(try ConfigurationEditor.setConfig("priorityMatrix", to: Self.matrix, plugin: "incident", in: edit.text).changed == false)
    }

    @Test func aSettingIsAddedBesideTheOthersAndAValueOverSeveralLinesBecomesOne() throws {
        let added = try ConfigurationEditor.setConfig("window", to: 7, plugin: "change", in: Self.file)
        #expect(try Configuration.parse(yaml: added.text).plugins.last?.config == ["approvers": ["cab"], "window": 7])
        let text: JSONValue = ["subject": "Mail, web: down", "to": ["desk@example.com"]]
        let written = try ConfigurationEditor.setConfig("notice", to: text, plugin: "change", in: Self.file)
        #expect(written.text.contains(#"config: {notice: {"subject": "Mail, web: down", "to": ["desk@example.com"]}, approvers: [cab]}"#), "\(written.text)")
        #expect(try Configuration.parse(yaml: written.text).plugins.last?.config?["notice"] == text)

        let file = """
            plugins:
              - name: incident
                config:
                  majorPriority: 1
                  priorityMatrix:   # rows: impact
                    - [1, 2, 3]
                    - [2, 3, 4]

                    - [3, 4, 5]
                  lifecycle: {reopenDays: 5}
              - name: problem
                enabled: true
            heartbeatMs: 5000
            """
        let edit = try ConfigurationEditor.setConfig("priorityMatrix", to: Self.matrix, plugin: "incident", in: file)
        #expect(edit.text.contains("      majorPriority: 1\n      priorityMatrix: [[1, 1, 2], [2, 3, 4], [3, 4, 5]]\n      lifecycle: {reopenDays: 5}\n"))
        let configuration = try Configuration.parse(yaml: edit.text)
        #expect(configuration.plugins.first?.config?["priorityMatrix"] == Self.matrix)
        #expect(configuration.plugins.first?.config?["majorPriority"] == 1)
        #expect(configuration.heartbeat == .milliseconds(5000))

        let noConfig = try ConfigurationEditor.setConfig("priorityMatrix", to: Self.matrix, plugin: "problem", in: file)
        #expect(noConfig.text.contains("  - name: problem\n    config: {priorityMatrix: [[1, 1, 2], [2, 3, 4], [3, 4, 5]]}\n    enabled: true"))
    }

    @Test func aProcessThatIsNotListedIsRefusedAndAFlowStyleListIsEditedInPlace() throws {
        #expect(throws: CoordinatorError.self) { try ConfigurationEditor.setConfig("x", to: 1, plugin: "supplier", in: Self.file) }
        let flow = try ConfigurationEditor.setConfig("majorPriority", to: 2, plugin: "incident", in: "plugins: [incident, problem]\n")
        #expect(flow.text == "plugins: [{name: incident, config: {majorPriority: 2}}, problem]\n")
        // A setting already written inside {…} is left to a person rather than rewritten.
        #expect(throws: CoordinatorError.self) { try ConfigurationEditor.setConfig("approvers", to: ["x"], plugin: "change", in: Self.file) }
    }
}
