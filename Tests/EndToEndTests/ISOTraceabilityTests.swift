import Foundation
import Testing

/// docs/iso20000.md names the tests that show each requirement met; they must exist.
@Suite struct ISOTraceabilityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    @Test func everyTestTheClauseMapNamesExists() throws {
        let map = try String(contentsOf: Self.root.appendingPathComponent("docs/iso20000.md"), encoding: .utf8)
        let cited = map.matches(of: /`([A-Z][A-Za-z0-9]*Tests)\.([a-z][A-Za-z0-9]*)`/).map { (String($0.output.1), String($0.output.2)) }
        #expect(cited.count >= 40)
        let sources = try FileManager.default.subpathsOfDirectory(atPath: Self.root.appendingPathComponent("Tests").path)
            .filter { $0.hasSuffix(".swift") }
            .map { try String(contentsOf: Self.root.appendingPathComponent("Tests/" + $0), encoding: .utf8) }
        for (suite, test) in cited {
            let found = sources.contains { $0.contains("struct \(suite)") && $0.contains("func \(test)(") }
            #expect(found, "docs/iso20000.md names \(suite).\(test), which no test file defines")
        }
        // Every clause the processes cover has its section.
        for clause in ["7.5", "8.3.3", "8.3.4", "8.4.3", "8.6.1", "8.6.2", "8.6.3", "9.1", "9.2", "9.3", "10.1", "10.2"] {
            #expect(map.contains("\n## \(clause) "), "no section for clause \(clause)")
        }
    }
}
