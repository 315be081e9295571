import Foundation
import ITSMCalendar
import ITSMProtocol

/// The service process's methods with their params and results: the service and request
/// catalogues, requests, customers, agreements, reports and service reviews.
public enum ServiceMethods {
    public static let setService = MethodType<SetService, Service>("service.set")
    public static let service = MethodType<ServiceKey, ServiceDetail>("service.get")
    public static let services = MethodType<ListServices, ServiceList>("service.list")
    public static let setItem = MethodType<SetRequestItem, RequestItem>("request_item.set")
    public static let item = MethodType<RequestItemKey, RequestItem>("request_item.get")
    public static let items = MethodType<ListRequestItems, RequestItemList>("request_item.list")
    public static let raise = MethodType<RaiseRequest, ServiceRequest>("request.raise")
    public static let request = MethodType<RequestKey, ServiceRequest>("request.get")
    public static let requests = MethodType<ListRequests, RequestList>("request.list")
    public static let decide = MethodType<DecideRequest, ServiceRequest>("request.decide")
    public static let completeTask = MethodType<CompleteTask, ServiceRequest>("request.complete_task")
    public static let assignTask = MethodType<AssignTask, ServiceRequest>("request.assign_task")
    public static let cancel = MethodType<CancelRequest, ServiceRequest>("request.cancel")
    public static let setCustomer = MethodType<SetCustomer, Customer>("customer.set")
    public static let customer = MethodType<CustomerKey, CustomerDetail>("customer.get")
    public static let customers = MethodType<ListCustomers, CustomerList>("customer.list")
    public static let setAgreement = MethodType<SetAgreement, Agreement>("agreement.set")
    public static let agreement = MethodType<AgreementKey, Agreement>("agreement.get")
    public static let agreements = MethodType<ListAgreements, AgreementList>("agreement.list")
    public static let report = MethodType<ServiceReportParams, JSONValue>("service.report")
    public static let recordReview = MethodType<RecordServiceReview, ServiceReview>("service_review.record")
    public static let review = MethodType<ServiceReviewKey, ServiceReview>("service_review.get")
    public static let reviews = MethodType<ListServiceReviews, ServiceReviewList>("service_review.list")
    public static let completeReviewAction = MethodType<CompleteReviewAction, ServiceReview>("service_review.complete_action")
}

/// `service.set` params: creates the service, or changes the fields given.
public struct SetService: Sendable, Hashable, Codable {
    public var name: String
    public var description: String?
    public var owner: String?
    public var status: ServiceStatus?
    public var customers: [String]?
    public var configurationItems: [String]?

    public init(name: String, description: String? = nil, owner: String? = nil, status: ServiceStatus? = nil,
                customers: [String]? = nil, configurationItems: [String]? = nil) {
        self.name = name
        self.description = description
        self.owner = owner
        self.status = status
        self.customers = customers
        self.configurationItems = configurationItems
    }
}

public struct ServiceKey: Sendable, Hashable, Codable {
    public var name: String
    public var history: Bool?
    public init(name: String, history: Bool? = nil) {
        self.name = name
        self.history = history
    }
}

public struct ServiceDetail: Sendable, Hashable, Codable {
    public var service: Service
    public var items: [RequestItem]
    public var history: [HistoryEntry]?

    public init(service: Service, items: [RequestItem], history: [HistoryEntry]? = nil) {
        self.service = service
        self.items = items
        self.history = history
    }
}

public struct ListServices: Sendable, Hashable, Codable {
    public var status: ServiceStatus?
    public init(status: ServiceStatus? = nil) { self.status = status }
}

public struct ServiceList: Sendable, Hashable, Codable {
    public var items: [Service]

    public init(items: [Service]) {
        self.items = items
    }
}

/// `request_item.set` params: creates the item, or replaces its definition. Requests already
/// raised keep the definition they were raised with.
public struct SetRequestItem: Sendable, Hashable, Codable {
    /// The item's key: lower-case letters, digits and dashes, e.g. `laptop`.
    public var name: String
    public var service: String
    public var title: String
    public var description: String?
    /// A JSON Schema object of the answers (see `RequestForm`); none: no questions.
    public var form: JSONValue?
    public var approvals: [Approver]?
    public var tasks: [TaskTemplate]
    public var targetMinutes: Int
    /// Business hours of the target; default from the process's config.
    public var calendar: CalendarDefinition?
    public var active: Bool?

    public init(name: String, service: String, title: String, description: String? = nil, form: JSONValue? = nil,
                approvals: [Approver]? = nil, tasks: [TaskTemplate], targetMinutes: Int, calendar: CalendarDefinition? = nil,
                active: Bool? = nil) {
        self.name = name
        self.service = service
        self.title = title
        self.description = description
        self.form = form
        self.approvals = approvals
        self.tasks = tasks
        self.targetMinutes = targetMinutes
        self.calendar = calendar
        self.active = active
    }
}

public struct RequestItemKey: Sendable, Hashable, Codable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct ListRequestItems: Sendable, Hashable, Codable {
    public var service: String?
    /// Items withdrawn from the catalogue too.
    public var includeInactive: Bool?
    public init(service: String? = nil, includeInactive: Bool? = nil) {
        self.service = service
        self.includeInactive = includeInactive
    }
}

public struct RequestItemList: Sendable, Hashable, Codable {
    public var items: [RequestItem]

    public init(items: [RequestItem]) {
        self.items = items
    }
}

/// `request.raise` params.
public struct RaiseRequest: Sendable, Hashable, Codable {
    public var item: String
    public var answers: JSONValue?
    /// Whom it is for: the person raising it unless the desk raises it for someone.
    public var requester: String?

    public init(item: String, answers: JSONValue? = nil, requester: String? = nil) {
        self.item = item
        self.answers = answers
        self.requester = requester
    }
}

public struct RequestKey: Sendable, Hashable, Codable {
    public var number: String
    public var history: Bool?
    public init(number: String, history: Bool? = nil) {
        self.number = number
        self.history = history
    }
}

public struct ListRequests: Sendable, Hashable, Codable {
    public var status: RequestStatus?
    public var requester: String?
    public var item: String?
    /// Only those waiting on the caller's decision.
    public var awaitingMyApproval: Bool?
    /// Only those with a ready task for one of the caller's groups or assigned to them.
    public var myTasks: Bool?
    public var createdFrom: Date?
    public var createdTo: Date?
    public var updatedFrom: Date?
    public var updatedTo: Date?
    public var limit: Int?
    public var offset: Int?
    /// A `nextCursor` from the page before: the page after it, however deep (instead of `offset`).
    public var after: String?

    public init(status: RequestStatus? = nil, requester: String? = nil, item: String? = nil, awaitingMyApproval: Bool? = nil,
                myTasks: Bool? = nil, limit: Int? = nil, offset: Int? = nil, after: String? = nil) {
        self.status = status
        self.requester = requester
        self.item = item
        self.awaitingMyApproval = awaitingMyApproval
        self.myTasks = myTasks
        self.limit = limit
        self.offset = offset
        self.after = after
    }
}

public struct RequestList: Sendable, Hashable, Codable {
    public var items: [ServiceRequest]
    /// Whether more match after this page.
    public var more: Bool
    /// Pass as `after` for the next page; absent on the last.
    public var nextCursor: String?

    public init(items: [ServiceRequest], more: Bool, nextCursor: String? = nil) {
        self.items = items
        self.more = more
        self.nextCursor = nextCursor
    }
}

/// `request.decide` params: the decision of the level the request waits on.
public struct DecideRequest: Sendable, Hashable, Codable {
    public enum Decision: String, Sendable, Hashable, Codable, CaseIterable {
        case approve, reject
    }

    public var number: String
    public var decision: Decision
    /// Required for a rejection: the requester is told why.
    public var comment: String?

    public init(number: String, decision: Decision, comment: String? = nil) {
        self.number = number
        self.decision = decision
        self.comment = comment
    }
}

/// `request.complete_task` params.
public struct CompleteTask: Sendable, Hashable, Codable {
    public var number: String
    public var task: String
    public var notes: String?

    public init(number: String, task: String, notes: String? = nil) {
        self.number = number
        self.task = task
        self.notes = notes
    }
}

/// `request.assign_task` params.
public struct AssignTask: Sendable, Hashable, Codable {
    public var number: String
    public var task: String
    public var assignee: String

    public init(number: String, task: String, assignee: String) {
        self.number = number
        self.task = task
        self.assignee = assignee
    }
}

public struct CancelRequest: Sendable, Hashable, Codable {
    public var number: String
    public var reason: String

    public init(number: String, reason: String) {
        self.number = number
        self.reason = reason
    }
}
