import Foundation
import ImprovementProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

// How the contract's records are read from this process's tables, and the lists the kit's
// period filter serves.

extension Opportunity {
    static let columns = """
        id, number, title, description, source, services, benefit, cost, risk, alignment, score, priority, owner, status,
        target_date::text AS target_date, expected_benefit, measured_benefit, created_by, created_at, updated_at
        """

    init(row: PostgresRow) throws {
        self.init(
            id: try row.decode(UUID.self, "id"), number: try row.decode(String.self, "number"), title: try row.decode(String.self, "title"),
            description: try row.decode(String.self, "description"),
            source: OpportunitySource(rawValue: try row.decode(String.self, "source")) ?? .manual,
            services: try row.decode([String].self, "services"),
            evaluation: Evaluation(benefit: try row.decode(Int.self, "benefit"), cost: try row.decode(Int.self, "cost"),
                                   risk: try row.decode(Int.self, "risk"), alignment: try row.decode(Int.self, "alignment")),
            score: try row.decode(Int.self, "score"), priority: try row.decode(String.self, "priority"),
            owner: try row.decode(String?.self, "owner"),
            status: OpportunityStatus(rawValue: try row.decode(String.self, "status")) ?? .proposed,
            targetDate: try row.decode(String?.self, "target_date"), expectedBenefit: try row.decode(String.self, "expected_benefit"),
            measuredBenefit: try row.decode(String?.self, "measured_benefit"), createdBy: try row.decode(String.self, "created_by"),
            createdAt: try row.decode(Date.self, "created_at"), updatedAt: try row.decode(Date.self, "updated_at"))
    }
}

extension AgreedAction {
    init(row: PostgresRow) throws {
        self.init(
            id: try row.decode(Int.self, "id"), description: try row.decode(String.self, "description"),
            owner: try row.decode(String.self, "owner"), dueOn: try row.decode(String.self, "due_on"),
            status: try row.decode(String.self, "status"), overdue: try row.decode(Bool.self, "overdue"),
            outcome: try row.decode(String?.self, "outcome"))
    }
}

extension ListInternalAudits: RecordPeriods {}
extension ListManagementReviews: RecordPeriods {}
extension ListNonconformities: RecordPeriods {}
