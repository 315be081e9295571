import IncidentProcess
import Testing

@Suite struct PriorityMatrixTests {
    @Test(arguments: [
        (Level.high, Level.high, 1), (.high, .medium, 2), (.medium, .high, 2),
        (.high, .low, 3), (.medium, .medium, 3), (.low, .high, 3),
        (.medium, .low, 4), (.low, .medium, 4), (.low, .low, 5),
    ])
    func itilDefault(impact: Level, urgency: Level, expected: Int) {
        #expect(PriorityMatrix.itil.priority(impact: impact, urgency: urgency).rawValue == expected)
    }

    @Test func customMatrix() throws {
        let strict = try #require(PriorityMatrix(rows: [[1, 1, 2], [1, 2, 3], [2, 3, 4]]))
        #expect(strict.priority(impact: .medium, urgency: .high).description == "P1")
        #expect(strict.priority(impact: .low, urgency: .low).description == "P4")
        #expect(PriorityMatrix(rows: [[1, 2], [3, 4]]) == nil)
        #expect(PriorityMatrix(rows: [[1, 2, 3], [2, 3, 4], [3, 4, 6]]) == nil)
    }
}
