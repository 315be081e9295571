import Foundation
import ITSMPostgres
import ITSMProtocol

/// Reading records from the database, apart from the records themselves (ProblemProtocol).
extension Problem {
    static let columns = """
        id, number, title, description, services, cis, category, impact, urgency, priority, owner, status, major,
        rca_method, rca_findings, cause_category, fix_change, resolution, detection_rule, created_by, created_at,
        updated_at, resolved_at, closed_at
        """

    init(row: PostgresRow) throws {
        let status = try row.decode(String.self, "status")
        guard let known = ProblemStatus(rawValue: status) else { throw ResponseError.internalError("unknown problem status \(status)") }
        self.init(
            id: try row.decode(UUID.self, "id"),
            number: try row.decode(String.self, "number"),
            title: try row.decode(String.self, "title"),
            description: try row.decode(String.self, "description"),
            services: try row.decode([String].self, "services"),
            configurationItems: try row.decode([String].self, "cis"),
            category: try row.decode(String?.self, "category"),
            impact: try row.decode(Int.self, "impact"),
            urgency: try row.decode(Int.self, "urgency"),
            priority: "P\(try row.decode(Int.self, "priority"))",
            owner: try row.decode(String?.self, "owner"),
            status: known,
            major: try row.decode(Bool.self, "major"),
            rootCause: RootCause(method: try row.decode(String?.self, "rca_method"), findings: try row.decode(String?.self, "rca_findings"),
                                 category: try row.decode(String?.self, "cause_category")),
            fix: try row.decode(String?.self, "fix_change"),
            resolution: try row.decode(String?.self, "resolution"),
            detectionRule: try row.decode(String?.self, "detection_rule"),
            createdBy: try row.decode(String.self, "created_by"),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at"),
            resolvedAt: try row.decode(Date?.self, "resolved_at"),
            closedAt: try row.decode(Date?.self, "closed_at"))
    }
}

extension KnownError {
    static let columns = """
        k.number, p.number AS problem, k.title, k.symptoms, k.root_cause, k.workaround, k.services, k.cis, k.category,
        k.published_by, k.published_at
        """

    init(row: PostgresRow) throws {
        self.init(
            number: try row.decode(String.self, "number"),
            problem: try row.decode(String.self, "problem"),
            title: try row.decode(String.self, "title"),
            symptoms: try row.decode(String.self, "symptoms"),
            rootCause: try row.decode(String.self, "root_cause"),
            workaround: try row.decode(String.self, "workaround"),
            services: try row.decode([String].self, "services"),
            configurationItems: try row.decode([String].self, "cis"),
            category: try row.decode(String?.self, "category"),
            publishedBy: try row.decode(String.self, "published_by"),
            publishedAt: try row.decode(Date.self, "published_at"))
    }
}
