import Foundation
import ITSMProtocol

/// The continual improvement process's methods with their params and results: opportunities,
/// nonconformities, objectives, internal audits and management reviews.
public enum ImprovementMethods {
    public static let create = MethodType<CreateOpportunity, Opportunity>("improvement.create")
    public static let get = MethodType<OpportunityKey, OpportunityDetail>("improvement.get")
    public static let list = MethodType<ListOpportunities, OpportunityList>("improvement.list")
    public static let update = MethodType<UpdateOpportunity, Opportunity>("improvement.update")
    public static let transition = MethodType<TransitionOpportunity, Opportunity>("improvement.transition")
    public static let reviewPack = MethodType<ReviewPackParams, JSONValue>("improvement.review_pack")
    public static let stats = MethodType<NoParams, ImprovementStats>("improvement.stats")
    public static let createNonconformity = MethodType<CreateNonconformity, Nonconformity>("nonconformity.create")
    public static let nonconformity = MethodType<NonconformityKey, Nonconformity>("nonconformity.get")
    public static let listNonconformities = MethodType<ListNonconformities, NonconformityList>("nonconformity.list")
    public static let recordCorrection = MethodType<RecordCorrection, Nonconformity>("nonconformity.correct")
    public static let addCorrectiveAction = MethodType<AddCorrectiveAction, Nonconformity>("nonconformity.add_action")
    public static let completeCorrectiveAction = MethodType<CompleteCorrectiveAction, Nonconformity>("nonconformity.complete_action")
    public static let verifyEffectiveness = MethodType<VerifyEffectiveness, Nonconformity>("nonconformity.verify")
    public static let createObjective = MethodType<CreateObjective, Objective>("objective.create")
    public static let objectives = MethodType<NoParams, ObjectiveList>("objective.list")
    public static let measureObjective = MethodType<MeasureObjective, Measurement>("objective.measure")
    public static let objectiveTrend = MethodType<ObjectiveTrendParams, ObjectiveTrend>("objective.trend")
    public static let planInternalAudit = MethodType<PlanInternalAudit, InternalAudit>("internal_audit.plan")
    public static let internalAudit = MethodType<InternalAuditKey, InternalAudit>("internal_audit.get")
    public static let listInternalAudits = MethodType<ListInternalAudits, InternalAuditList>("internal_audit.list")
    public static let auditProgramme = MethodType<AuditProgrammeParams, AuditProgramme>("internal_audit.programme")
    public static let recordAuditCheck = MethodType<RecordAuditCheck, InternalAudit>("internal_audit.check")
    public static let recordAuditFinding = MethodType<RecordAuditFinding, InternalAudit>("internal_audit.find")
    public static let completeInternalAudit = MethodType<CloseInternalAudit, InternalAudit>("internal_audit.complete")
    public static let cancelInternalAudit = MethodType<CloseInternalAudit, InternalAudit>("internal_audit.cancel")
    public static let recordManagementReview = MethodType<RecordManagementReview, ManagementReview>("management_review.record")
    public static let managementReview = MethodType<ManagementReviewKey, ManagementReview>("management_review.get")
    public static let listManagementReviews = MethodType<ListManagementReviews, ManagementReviewList>("management_review.list")
    public static let completeReviewAction = MethodType<CompleteReviewAction, ManagementReview>("management_review.complete_action")
}

/// `improvement.stats`: open opportunities by status, open nonconformities, active objectives.
public struct ImprovementStats: Sendable, Hashable, Codable {
    public var byStatus: [String: Int]
    public var openNonconformities: Int
    public var objectives: Int

    public init(byStatus: [String: Int], openNonconformities: Int, objectives: Int) {
        self.byStatus = byStatus
        self.openNonconformities = openNonconformities
        self.objectives = objectives
    }
}
