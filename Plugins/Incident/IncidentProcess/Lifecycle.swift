import Foundation

/// The lifecycle: new → assigned → in progress ⇄ on hold → resolved → closed, plus reopening a
/// resolved record within a window, and cancelling an open one.
public struct Lifecycle: Sendable, Hashable {
    /// How long after resolution the caller may reopen instead of raising a new incident.
    public var reopenWindow: TimeInterval

    public init(reopenWindow: TimeInterval = 7 * 24 * 3600) {
        self.reopenWindow = reopenWindow
    }

    /// Where a record may go from `status`.
    public func allowedTargets(from status: IncidentStatus) -> [IncidentStatus] {
        switch status {
        case .new: return [.assigned, .inProgress, .onHold, .resolved, .cancelled]
        case .assigned: return [.inProgress, .onHold, .resolved, .cancelled]
        case .inProgress: return [.onHold, .resolved, .cancelled]
        case .onHold: return [.inProgress, .resolved, .cancelled]
        case .resolved: return [.closed, .inProgress]
        case .closed, .cancelled: return []
        }
    }

    /// What a transition needs besides the target.
    public struct Request: Sendable, Hashable {
        public var holdReason: HoldReason?
        public var resolutionCode: String?
        public var resolutionNotes: String?

        public init(holdReason: HoldReason? = nil, resolutionCode: String? = nil, resolutionNotes: String? = nil) {
            self.holdReason = holdReason
            self.resolutionCode = resolutionCode
            self.resolutionNotes = resolutionNotes
        }
    }

    /// Why a transition is refused, in words an agent can act on.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case notAllowed(from: IncidentStatus, to: IncidentStatus, allowed: [IncidentStatus])
        case holdNeedsReason
        case resolveNeedsCodeAndNotes
        case reopenWindowPassed(resolvedAt: Date, window: TimeInterval)

        public var description: String {
            switch self {
            case .notAllowed(let from, let to, let allowed):
                let options = allowed.isEmpty ? "none: \(from.rawValue) is final" : allowed.map(\.rawValue).joined(separator: ", ")
                return "cannot go from \(from.rawValue) to \(to.rawValue); allowed from \(from.rawValue): \(options)"
            case .holdNeedsReason:
                return "putting on hold needs a holdReason: \(HoldReason.allCases.map(\.rawValue).joined(separator: ", "))"
            case .resolveNeedsCodeAndNotes:
                return "resolving needs a resolutionCode and resolutionNotes"
            case .reopenWindowPassed(let resolvedAt, let window):
                return "resolved at \(resolvedAt.formatted(.iso8601)), more than \(Int(window / 3600)) hours ago: raise a new incident instead of reopening"
            }
        }
    }

    /// Checks a transition; throws the refusal that says why not.
    public func check(from status: IncidentStatus, to target: IncidentStatus, request: Request,
                      resolvedAt: Date?, now: Date) throws(Refusal) {
        let allowed = allowedTargets(from: status)
        guard allowed.contains(target) else { throw .notAllowed(from: status, to: target, allowed: allowed) }
        switch target {
        case .onHold:
            guard request.holdReason != nil else { throw .holdNeedsReason }
        case .resolved:
            guard let code = request.resolutionCode, !code.trimmingCharacters(in: .whitespaces).isEmpty,
                  let notes = request.resolutionNotes, !notes.trimmingCharacters(in: .whitespaces).isEmpty
            else { throw .resolveNeedsCodeAndNotes }
        case .inProgress where status == .resolved:
            if let resolvedAt, now.timeIntervalSince(resolvedAt) > reopenWindow {
                throw .reopenWindowPassed(resolvedAt: resolvedAt, window: reopenWindow)
            }
        default:
            break
        }
    }

    /// The event a transition publishes besides `incident.status_changed`.
    public static func event(from status: IncidentStatus, to target: IncidentStatus) -> String? {
        switch (status, target) {
        case (_, .resolved): return "incident.resolved"
        case (_, .closed): return "incident.closed"
        case (.resolved, .inProgress): return "incident.reopened"
        default: return nil
        }
    }
}
