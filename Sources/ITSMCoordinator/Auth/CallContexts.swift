import Foundation
import ITSMProtocol
import Synchronization

/// Who each request in flight to a plugin is for. The coordinator hands the plugin an opaque
/// handle in `meta.context`; a call the plugin makes while handling it carries the handle back
/// and runs for that principal, within that principal's permissions. A handle is random, valid
/// only for the plugin it was given to and only until the request is answered, so a plugin
/// cannot borrow another request's caller.
final class CallContexts: Sendable {
    struct Entry: Sendable {
        var plugin: String
        var principal: Principal
        /// Who the request is ultimately for, as records name it: `token:alice`.
        var origin: String
    }

    private let entries = Mutex<[String: Entry]>([:])

    func open(plugin: String, principal: Principal, origin: String) -> String {
        let handle = TokenStore.randomString(bytes: 16)
        entries.withLock { $0[handle] = Entry(plugin: plugin, principal: principal, origin: origin) }
        return handle
    }

    func close(_ handle: String) {
        _ = entries.withLock { $0.removeValue(forKey: handle) }
    }

    /// The entry for `handle`, if it was given to `plugin` and its request is still in flight.
    func entry(_ handle: String?, for plugin: String) -> Entry? {
        guard let handle else { return nil }
        return entries.withLock { $0[handle] }.flatMap { $0.plugin == plugin ? $0 : nil }
    }
}
