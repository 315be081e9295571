import Foundation
import ITSMCoordinator
import ITSMProtocol
import Testing

@Suite struct ConfigurationTests {
    @Test func emptyFileGivesDefaults() throws {
        let configuration = try Configuration.parse(yaml: "")
        #expect(configuration.dataDirectory == ".itsm")
        #expect(configuration.http.description == "127.0.0.1:8080")
        #expect(configuration.databaseURL == nil)
        #expect(configuration.plugins.map(\.name) == ["incident"])
    }

    @Test func readsHTTPLimitsAndNamesAWrongOne() throws {
        let configuration = try Configuration.parse(yaml: """
            httpLimits: {headTimeoutSeconds: 5, bodyTimeoutSeconds: 30, idleTimeoutSeconds: 20, maxConnections: 200, maxBodyBytes: 4194304}
            """)
        #expect(configuration.httpLimits.headTimeout == .seconds(5) && configuration.httpLimits.bodyTimeout == .seconds(30))
        #expect(configuration.httpLimits.idleTimeout == .seconds(20) && configuration.httpLimits.maximumConnections == 200)
        #expect(configuration.httpLimits.maximumBodyBytes == 4 << 20)
        #expect(try Configuration.parse(yaml: "").httpLimits == HTTPLimits())
        #expect(throws: CoordinatorError.self) { try Configuration.parse(yaml: "httpLimits: {headTimeout: 5}") }
        #expect(throws: CoordinatorError.self) { try Configuration.parse(yaml: "httpLimits: {maxConnections: 0}") }
    }

    @Test func readsTheDirectoryAndSessionsAndNamesWhatIsWrong() throws {
        let configuration = try Configuration.parse(yaml: """
            directory:
              url: ldaps://ldap.example.com
              userBase: ou=people,dc=example,dc=com
              userFilter: (sAMAccountName={name})
              groupBase: ou=groups,dc=example,dc=com
              groupRoles: {service-desk: [agent, group-lead]}
              defaultRoles: []
            sessions: {idleMinutes: 15, absoluteHours: 8}
            """)
        let directory = try #require(configuration.directory)
        #expect(directory.userFilter == "(sAMAccountName={name})" && directory.groupRoles == ["service-desk": ["agent", "group-lead"]])
        #expect(directory.defaultRoles.isEmpty && directory.bindDN == nil && directory.groupFilter == "(member={dn})")
        #expect(configuration.sessionIdleTimeout == .seconds(900) && configuration.sessionAbsoluteTimeout == .seconds(8 * 3600))
        for (yaml, message) in [
            ("directory: {userBase: ou=people}", "directory.url: required"),
            ("directory: {url: http://x, userBase: ou=people}", "directory.url: required"),
            ("directory: {url: ldap://x}", "directory.userBase: required"),
            ("directory: {url: ldap://x, userBase: b, userFilter: (uid=*)}", "directory.userFilter: must contain {name}"),
            ("directory: {url: ldap://x, userBase: b, bindDN: cn=x}", "directory.bindPasswordFile: required with bindDN"),
            ("directory: {url: ldap://x, userBase: b, groupRoles: {desk: agent}}", "directory.groupRoles: must be a list"),
            ("directory: {url: ldap://x, userBase: b, base: c}", "directory: unknown key 'base'"),
            ("sessions: {idle: 5}", "sessions: a mapping of idleMinutes, absoluteHours"),
        ] {
            #expect(throws: CoordinatorError.self, "\(yaml)") { try Configuration.parse(yaml: yaml) }
            do { _ = try Configuration.parse(yaml: yaml) } catch { #expect("\(error)".contains(message), "\(yaml): \(error)") }
        }
    }

    @Test func readsInstancesAndRemotePlugins() throws {
        let configuration = try Configuration.parse(yaml: """
            remotePlugins:
              listen: 0.0.0.0:7411
              plaintext: true
              tokenFile: /etc/itsm/plugin-hosts.token
              attachTimeoutSeconds: 30
            plugins:
              - name: incident
                instances: 3
              - name: problem
                remote: true
              - name: change
                remote: true
            """)
        #expect(configuration.remotePluginAddress?.description == "0.0.0.0:7411")
        #expect(configuration.remotePluginTokenFile == "/etc/itsm/plugin-hosts.token")
        #expect(configuration.remotePluginAttachTimeout == .seconds(30))
        #expect(Configuration().remotePluginAttachTimeout == .seconds(10))
        #expect(configuration.plugins.map(\.localInstances) == [3, 0, 0])
        // A remote custom plugin needs no command here: its host runs it.
        #expect(configuration.plugins[2].command == nil)
        #expect(throws: CoordinatorError.self) { try Configuration.parse(yaml: "plugins: [{name: incident, instances: 0}]") }
        #expect(throws: CoordinatorError.self) { try Configuration.parse(yaml: "remotePlugins: {port: 7411}") }
        #expect(throws: CoordinatorError.self) {
            try Configuration.parse(yaml: "remotePlugins: {listen: 0.0.0.0:7411, plaintext: true, attachTimeoutSeconds: 0}")
        }
        #expect(throws: CoordinatorError.self) { try Configuration.parse(yaml: "plugins: [{name: change}]") }
    }

    @Test func readsAnAgentConfigurationAndSaysWhatIsMissing() throws {
        let agent = try AgentConfiguration.parse(yaml: """
            coordinators: [coord-a:7411, coord-b:7411]
            tokenFile: /etc/itsm/plugin-hosts.token
            database: {url: postgresql://itsm@db/itsm}
            name: host-b
            plaintext: true
            plugins:
              - {name: incident, instances: 2}
              - {name: change, command: [python3, plugin.py]}
            """)
        #expect(agent.coordinators.map(\.description) == ["coord-a:7411", "coord-b:7411"])
        #expect(agent.plugins.map(\.instances) == [2, 1] && agent.databaseURL == "postgresql://itsm@db/itsm" && agent.name == "host-b")
        #expect(agent.coordinatorLookup == .seconds(30) && agent.statusFile == nil)
        let tuned = try AgentConfiguration.parse(yaml: """
            coordinators: itsm-coordinator:7411
            tokenFile: t
            plaintext: true
            coordinatorLookupSeconds: 5
            statusFile: /run/itsm/agent.json
            plugins: [incident]
            """)
        #expect(tuned.coordinatorLookup == .seconds(5) && tuned.statusFile == "/run/itsm/agent.json")
        #expect(throws: CoordinatorError.self) {
            try AgentConfiguration.parse(yaml: "coordinators: c:1\ntokenFile: t\nplaintext: true\ncoordinatorLookupSeconds: 0\nplugins: [incident]")
        }
        #expect(throws: CoordinatorError.self) { try AgentConfiguration.parse(yaml: "tokenFile: t\nplugins: [incident]") }
        #expect(throws: CoordinatorError.self) { try AgentConfiguration.parse(yaml: "coordinators: c:1\nplugins: [incident]") }
        #expect(throws: CoordinatorError.self) { try AgentConfiguration.parse(yaml: "coordinators: c:1\ntokenFile: t\nplugns: []") }
        // No TLS and no explicit plaintext: refused, naming what to set.
        let refusal = #expect(throws: CoordinatorError.self) {
            try AgentConfiguration.parse(yaml: "coordinators: c:1\ntokenFile: t\nplugins: [incident]")
        }
        #expect("\(refusal.map { "\($0)" } ?? "")".contains("tls.ca"))
        let ca = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-config-test-ca.pem").path
        _ = FileManager.default.createFile(atPath: ca, contents: Data("not checked here".utf8))
        defer { try? FileManager.default.removeItem(atPath: ca) }
        let secured = try AgentConfiguration.parse(yaml: "coordinators: c:1\ntokenFile: t\nplugins: [incident]\ntls: {ca: \(ca)}")
        #expect(secured.security == .tls(PluginLinkTLS(trustedCA: ca)))
        #expect(throws: CoordinatorError.self) {
            try AgentConfiguration.parse(yaml: "coordinators: c:1\ntokenFile: t\nplugins: [incident]\ntls: {clientCA: \(ca)}")
        }
    }

    @Test func readsEverySetting() throws {
        let configuration = try Configuration.parse(yaml: """
            dataDir: /var/lib/itsm
            http: 0.0.0.0:9000
            database:
              url: postgresql://itsm@db/itsm
            heartbeatMs: 2000
            failedCooldownSeconds: 45
            plugins:
              - incident
              - name: change
                command: [python3, plugin.py, --verbose]
                config:
                  approvers: [cab, cto]
                  quorum: 2
                env:
                  CHANGE_MODE: strict
            """)
        #expect(configuration.dataDirectory == "/var/lib/itsm")
        #expect(configuration.http.port == 9000)
        #expect(configuration.databaseURL == "postgresql://itsm@db/itsm")
        #expect(configuration.heartbeat == .seconds(2))
        #expect(configuration.failedCooldown == .seconds(45))
        #expect(configuration.plugins.count == 2)
        let change = configuration.plugins[1]
        #expect(change.command == ["python3", "plugin.py", "--verbose"])
        #expect(change.config == ["approvers": ["cab", "cto"], "quorum": 2])
        #expect(change.environment == ["CHANGE_MODE": "strict"])
        #expect(change.resolvedCommand(builtInDirectory: "/opt/itsm/bin") == ["python3", "plugin.py", "--verbose"])
        #expect(configuration.plugins[0].resolvedCommand(builtInDirectory: "/nonexistent") == ["itsm-incident"])
    }

    @Test(arguments: [
        ("htpp: 1.2.3.4:80", "unknown key 'htpp'"),
        ("http: nowhere", "HOST:PORT"),
        ("plugins: [incident, incident]", "listed twice"),
        ("plugins: [payroll]", "not a built-in"),
        ("plugins: [{name: Bad Name, command: [x]}]", "lowercase"),
        ("plugins: [{name: x, command: []}]", "must not be empty"),
        ("plugins: [{name: x, cmd: [y]}]", "unknown key 'cmd'"),
        ("heartbeatMs: 5", ">= 100"),
        ("- just\n- a list", "mapping"),
        ("key: [unclosed", "YAML"),
        ("remotePlugins: {listen: 0.0.0.0:7411}", "needs TLS"),
        ("remotePlugins: {listen: 0.0.0.0:7411, plaintext: true, tls: {certificate: c, key: k}}", "exclude each other"),
        ("remotePlugins: {listen: 0.0.0.0:7411, tls: {certificate: c}}", "certificate and key go together"),
        ("remotePlugins: {listen: 0.0.0.0:7411, tls: {cert: c}}", "remotePlugins.tls.cert: unknown setting"),
        ("remotePlugins: {listen: 0.0.0.0:7411, tls: {certificate: /nonexistent.pem, key: /nonexistent.key}}", "cannot read /nonexistent.pem"),
    ])
    func rejectsMistakesWithAClearMessage(yaml: String, expected: String) {
        #expect {
            _ = try Configuration.parse(yaml: yaml)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }
}
