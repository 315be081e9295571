import Foundation
import ITSMProtocol

/// The notification process's methods with their params and results: what it serves, and
/// what other processes and clients send and read.
public enum NotificationMethods {
    public static let setRule = MethodType<SetRule, Rule>("notification.rule_set")
    public static let rule = MethodType<RuleKey, Rule>("notification.rule_get")
    public static let rules = MethodType<NoParams, RuleList>("notification.rule_list")
    public static let list = MethodType<ListDeliveries, DeliveryList>("notification.list")
    public static let get = MethodType<DeliveryKey, Delivery>("notification.get")
    public static let retry = MethodType<DeliveryKey, Delivery>("notification.retry")
    public static let alertmanager = MethodType<AlertmanagerNotification, AlertIntakeResult>("notification.alertmanager")
    public static let mailList = MethodType<ListInbound, InboundList>("notification.mail_list")
}
