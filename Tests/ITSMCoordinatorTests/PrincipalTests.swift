@testable import ITSMCoordinator
import Testing

@Suite struct PrincipalTests {
    @Test func patternsCoverAProcessAnActionEverywhereOrEverything() {
        let auditor = Principal(name: "audrey", kind: .user, permissions: ["*.read"])
        #expect(auditor.allows("incident.read") && auditor.allows("audit.read") && !auditor.allows("incident.write"))
        let agent = Principal(name: "alan", kind: .user, permissions: ["incident.*", "problem.read"])
        #expect(agent.allows("incident.admin") && agent.allows("problem.read") && !agent.allows("problem.write"))
        #expect(Principal(name: "admin", permissions: ["*"]).allows("anything.at_all"))
        #expect(!agent.allows("incidents.read")) // a prefix of the name is not the process
        #expect(!Principal(name: "none", permissions: []).allows("incident.read"))
    }

    @Test func aPersonsTokenHoldsOnlyWhatBothTheTokenAndThePersonHold() {
        let token = Principal(name: "ada", kind: .user, permissions: ["*"], ceiling: ["incident.*"], token: "ada-ci")
        #expect(token.allows("incident.write") && !token.allows("users.write"))
        #expect(!token.isAdministrator)
        #expect(token.holds(pattern: "incident.*") && !token.holds(pattern: "*") && !token.holds(pattern: "*.read"))
        #expect(token.actor == "user:ada")
    }

    @Test func onlyTheSamePatternOrAWiderOneMayBeHandedOn() {
        let exact = Principal(name: "svc", permissions: ["incident.read", "incident.write"])
        #expect(exact.holds(pattern: "incident.read") && !exact.holds(pattern: "incident.*"))
        let reader = Principal(name: "svc", permissions: ["*.read"])
        #expect(reader.holds(pattern: "*.read") && reader.holds(pattern: "problem.read") && !reader.holds(pattern: "problem.*"))
    }

    @Test func malformedPatternsAreNamed() {
        for good in ["*", "incident.*", "*.read", "incident.read", "incident.import.rows"] {
            #expect(Principal.malformation(of: good) == nil, "\(good)")
        }
        for bad in ["", "incident", "*.*", "in*.read", "incident..read", "Incident.read", "incident.*.read"] {
            #expect(Principal.malformation(of: bad) != nil, "\(bad)")
        }
    }
}

@Suite struct DirectoryFilterTests {
    @Test func valuesCannotChangeTheShapeOfASearchFilter() {
        #expect(DirectoryClient.escape("dana") == "dana")
        #expect(DirectoryClient.escape("*") == "\\2a")
        #expect(DirectoryClient.escape("dana)(uid=*") == "dana\\29\\28uid=\\2a")
        #expect(DirectoryClient.escape("a\\b") == "a\\5cb")
        #expect(DirectoryClient.escape("zoë") == "zoë")
    }
}
