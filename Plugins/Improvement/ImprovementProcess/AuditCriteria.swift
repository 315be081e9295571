/// The requirements of ISO/IEC 20000-1:2018 the toolkit covers, in our own words, clause by
/// clause: the criteria an internal audit's checklist is generated from. docs/iso20000.md holds
/// the same map with the features and tests that meet each requirement; a test keeps the two equal.
public enum AuditCriteria {
    public struct Clause: Sendable, Hashable, Codable {
        public var clause: String
        public var title: String
        public var requirements: [String]
        public init(clause: String, title: String, requirements: [String]) {
            self.clause = clause
            self.title = title
            self.requirements = requirements
        }
    }

    public static let standard = "ISO/IEC 20000-1:2018"

    public static let clauses: [Clause] = [
        Clause(clause: "7.5", title: "Documented information", requirements: [
            "Records are kept for what the processes do, complete and protected against change",
            "Nothing acknowledged is lost",
            "The records of a period can be produced",
            "Records can be retained and restored",
            "Access to records is controlled",
            "Who changed what is recorded",
            "Administrative changes (users, roles, configuration) are recorded",
        ]),
        Clause(clause: "8.3.3", title: "Service level management", requirements: [
            "Service level targets are defined per service and priority",
            "Performance against the targets is monitored",
            "Changes to targets are controlled",
            "Service levels are agreed with customers and reviewed with them",
        ]),
        Clause(clause: "8.3.4", title: "Supplier management", requirements: [
            "Suppliers and contracts are recorded, with the targets they commit to",
            "Supplier performance is measured against the contract",
            "Contract milestones are not missed",
        ]),
        Clause(clause: "8.4.3", title: "Capacity management", requirements: [
            "Current capacity and its use are measured",
            "Future demand is forecast",
            "Capacity is planned",
            "Shortfalls are acted upon",
            "People are capacity too",
        ]),
        Clause(clause: "8.6.1", title: "Incident management", requirements: [
            "Incidents are recorded and classified",
            "They are prioritised by impact and urgency",
            "They are escalated when needed",
            "They are resolved, and closed only when resolved",
            "Major incidents follow their own procedure",
            "Communication stays with the right audience",
            "The people concerned are told, and what they were told is on record",
            "Events detected by monitoring become incidents",
            "Known errors help resolve incidents",
            "The desk can work through the API and the command line",
        ]),
        Clause(clause: "8.6.2", title: "Service request management", requirements: [
            "Service requests are recorded and fulfilled",
            "Requests come from a catalogue, are approved and fulfilled by tasks",
        ]),
        Clause(clause: "8.6.3", title: "Problem management", requirements: [
            "Problems are identified, including from trends in incidents",
            "Problems are analysed for their root cause",
            "Known errors are recorded with workarounds and reach the desk",
            "Resolution is checked for effectiveness",
        ]),
        Clause(clause: "9.1", title: "Monitoring, measurement, analysis and evaluation", requirements: [
            "What is measured is defined, and measured the same way each time",
            "The figures are correct",
            "The service itself is monitored",
        ]),
        Clause(clause: "9.2", title: "Internal audit", requirements: [
            "Internal audits are planned at intervals so that every clause and process is covered",
            "Each audit has a scope, criteria and an auditor, and is carried out against them",
            "Findings are recorded and followed up",
        ]),
        Clause(clause: "9.3", title: "Management review", requirements: [
            "Management reviews the service management system with the inputs it needs",
            "The review's decisions and actions are recorded and followed up",
        ]),
        Clause(clause: "10.1", title: "Nonconformity and corrective action", requirements: [
            "Nonconformities are recorded and corrected, and the correction's effect is checked",
        ]),
        Clause(clause: "10.2", title: "Continual improvement", requirements: [
            "Opportunities for improvement are identified, including from the processes' own data",
            "They are evaluated, prioritised and followed to a measured benefit",
        ]),
    ]

    public static func clause(_ name: String) -> Clause? { clauses.first { $0.clause == name } }
}
