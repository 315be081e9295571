import Foundation
import ITSMProtocol

/// An internal audit (ISO/IEC 20000-1 9.2): planned for some clauses and processes, carried out
/// against a checklist generated from `AuditCriteria`, its findings raising nonconformities or
/// improvement opportunities. planned → in_progress (at the first check or finding) → completed
/// (when every item is checked), or cancelled while not completed.
public struct InternalAudit: Sendable, Hashable, Codable {
    public struct Check: Sendable, Hashable, Codable {
        public var item: Int
        public var clause: String
        public var requirement: String
        /// not_checked, conforms, nonconformity, observation, not_applicable.
        public var result: String
        public var notes: String
        public var checkedBy: String?
        public var checkedAt: Date?

        public init(item: Int, clause: String, requirement: String, result: String, notes: String, checkedBy: String? = nil,
                    checkedAt: Date? = nil) {
            self.item = item
            self.clause = clause
            self.requirement = requirement
            self.result = result
            self.notes = notes
            self.checkedBy = checkedBy
            self.checkedAt = checkedAt
        }
    }

    public struct Finding: Sendable, Hashable, Codable {
        public var id: Int
        public var item: Int?
        public var clause: String
        /// nonconformity, observation or opportunity.
        public var kind: String
        public var title: String
        public var description: String
        /// The nonconformity or opportunity it raised.
        public var raised: String?
        public var createdBy: String
        public var createdAt: Date

        public init(id: Int, item: Int? = nil, clause: String, kind: String, title: String, description: String,
                    raised: String? = nil, createdBy: String, createdAt: Date) {
            self.id = id
            self.item = item
            self.clause = clause
            self.kind = kind
            self.title = title
            self.description = description
            self.raised = raised
            self.createdBy = createdBy
            self.createdAt = createdAt
        }
    }

    public var number: String
    public var title: String
    public var clauses: [String]
    public var processes: [String]
    public var scope: String
    public var criteria: String
    public var auditor: String
    public var plannedOn: String
    public var startedOn: String?
    public var status: String
    public var conclusion: String?
    public var checklist: [Check]
    public var findings: [Finding]
    public var history: [HistoryEntry]?

    public init(number: String, title: String, clauses: [String], processes: [String], scope: String, criteria: String,
                auditor: String, plannedOn: String, startedOn: String? = nil, status: String, conclusion: String? = nil,
                checklist: [Check], findings: [Finding], history: [HistoryEntry]? = nil) {
        self.number = number
        self.title = title
        self.clauses = clauses
        self.processes = processes
        self.scope = scope
        self.criteria = criteria
        self.auditor = auditor
        self.plannedOn = plannedOn
        self.startedOn = startedOn
        self.status = status
        self.conclusion = conclusion
        self.checklist = checklist
        self.findings = findings
        self.history = history
    }
}

public struct PlanInternalAudit: Sendable, Hashable, Codable {
    public var title: String
    /// Clauses of `AuditCriteria`, e.g. ["8.6.1", "10.1"].
    public var clauses: [String]
    public var processes: [String]?
    public var scope: String?
    /// Defaults to the standard's clauses named and the organisation's own policies.
    public var criteria: String?
    public var auditor: String
    public var plannedOn: String
    public init(title: String, clauses: [String], processes: [String]? = nil, scope: String? = nil, criteria: String? = nil,
                auditor: String, plannedOn: String) {
        self.title = title
        self.clauses = clauses
        self.processes = processes
        self.scope = scope
        self.criteria = criteria
        self.auditor = auditor
        self.plannedOn = plannedOn
    }
}

public struct InternalAuditKey: Sendable, Hashable, Codable {
    public var number: String
    public init(number: String) { self.number = number }
}

public struct ListInternalAudits: Sendable, Hashable, Codable {
    /// planned, in_progress, completed or cancelled; all of them when absent.
    public var status: String?
    /// Periods, each `[from, to)`: when audits are planned for, were recorded, last changed, closed.
    public var plannedFrom: Date?
    public var plannedTo: Date?
    public var createdFrom: Date?
    public var createdTo: Date?
    public var updatedFrom: Date?
    public var updatedTo: Date?
    public var closedFrom: Date?
    public var closedTo: Date?
    public init(status: String? = nil, plannedFrom: Date? = nil, plannedTo: Date? = nil) {
        self.status = status
        self.plannedFrom = plannedFrom
        self.plannedTo = plannedTo
    }
}

public struct InternalAuditList: Sendable, Hashable, Codable {
    public var items: [InternalAudit]

    public init(items: [InternalAudit]) {
        self.items = items
    }
}

public struct RecordAuditCheck: Sendable, Hashable, Codable {
    public var number: String
    public var item: Int
    public var result: String
    /// What was seen; required for a nonconformity or an observation.
    public var notes: String?
    public init(number: String, item: Int, result: String, notes: String? = nil) {
        self.number = number
        self.item = item
        self.result = result
        self.notes = notes
    }
}

public struct RecordAuditFinding: Sendable, Hashable, Codable {
    public var number: String
    /// nonconformity (raises one, 10.1), opportunity (raises an improvement, 10.2) or observation.
    public var kind: String
    public var title: String
    public var description: String
    /// The checklist item it comes from; its clause is the finding's.
    public var item: Int?
    /// One of the audit's clauses; required without `item`.
    public var clause: String?
    /// For a nonconformity: minor (default) or major, and who owns its correction.
    public var severity: String?
    public var owner: String?
    public init(number: String, kind: String, title: String, description: String, item: Int? = nil, clause: String? = nil,
                severity: String? = nil, owner: String? = nil) {
        self.number = number
        self.kind = kind
        self.title = title
        self.description = description
        self.item = item
        self.clause = clause
        self.severity = severity
        self.owner = owner
    }
}

public struct CloseInternalAudit: Sendable, Hashable, Codable {
    public var number: String
    /// Completing: the audit's conclusion. Cancelling: why.
    public var conclusion: String
    public init(number: String, conclusion: String) {
        self.number = number
        self.conclusion = conclusion
    }
}

public struct AuditProgrammeParams: Sendable, Hashable, Codable {
    /// The calendar year (UTC); this year when absent.
    public var year: Int?
    public init(year: Int? = nil) { self.year = year }
}

/// The audit programme for a year: each clause with the audits that cover it.
public struct AuditProgramme: Sendable, Hashable, Codable {
    public struct ClauseCoverage: Sendable, Hashable, Codable {
        public var clause: String
        public var title: String
        /// Audits planned for the year (not cancelled) whose scope holds the clause.
        public var audits: [String]
        public var completed: [String]

        public init(clause: String, title: String, audits: [String], completed: [String]) {
            self.clause = clause
            self.title = title
            self.audits = audits
            self.completed = completed
        }
    }

    public var year: Int
    public var audits: [InternalAudit]
    public var clauses: [ClauseCoverage]
    /// Clauses no audit of the year covers: the gaps to plan for.
    public var uncovered: [String]

    public init(year: Int, audits: [InternalAudit], clauses: [ClauseCoverage], uncovered: [String]) {
        self.year = year
        self.audits = audits
        self.clauses = clauses
        self.uncovered = uncovered
    }
}
