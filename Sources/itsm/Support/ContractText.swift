import Foundation
import ITSMProtocol

// How the contracts' values read in a terminal, the same for every process's commands.

/// One line of a record's history: when, who, which field, from what to what.
func historyLine(_ entry: HistoryEntry) -> String {
    "  \(JSONCoding.string(from: entry.at))  \(entry.actor)  \(entry.field): \(entry.oldValue ?? "-") → \(entry.newValue ?? "-")"
}

/// A number as JSON writes it: `3` for 3.0, `2.5` for 2.5.
func decimal(_ value: Double) -> String { compact(.double(value)) }
