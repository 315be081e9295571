import ITSMProtocol

/// Priority from impact x urgency.
///
/// The default is the ITIL 3x3 matrix: high/high P1; high/medium and medium/high P2;
/// high/low, medium/medium and low/high P3; medium/low and low/medium P4; low/low P5.
public struct PriorityMatrix: Sendable, Hashable {
    /// `rows[impact][urgency]`, both indexed high, medium, low.
    private let rows: [[Priority]]

    public static let itil = PriorityMatrix(uncheckedRows: [
        [1, 2, 3],
        [2, 3, 4],
        [3, 4, 5],
    ])

    /// A matrix from three rows (impact high, medium, low) of three priorities (urgency high,
    /// medium, low), each 1...5; `nil` if the shape or a value is wrong.
    public init?(rows: [[Int]]) {
        guard rows.count == 3, rows.allSatisfy({ $0.count == 3 }) else { return nil }
        let priorities = rows.map { $0.compactMap(Priority.init(rawValue:)) }
        guard priorities.allSatisfy({ $0.count == 3 }) else { return nil }
        self.rows = priorities
    }

    private init(uncheckedRows: [[Int]]) {
        self.rows = uncheckedRows.map { $0.map { Priority(rawValue: $0)! } }
    }

    public func priority(impact: Level, urgency: Level) -> Priority {
        rows[impact.rawValue - 1][urgency.rawValue - 1]
    }

    /// Every cell, impact then urgency, high first: what `incident.priority_matrix` answers.
    public var cells: [PriorityCell] {
        Level.allCases.flatMap { impact in
            Level.allCases.map { urgency in PriorityCell(impact: impact, urgency: urgency, priority: priority(impact: impact, urgency: urgency)) }
        }
    }
}
