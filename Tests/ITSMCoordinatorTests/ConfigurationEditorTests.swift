import ITSMCoordinator
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
}
