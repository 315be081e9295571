import CLDAP
import Dispatch
import Foundation

/// Where people's directory accounts are and how their groups become roles (`directory:` in
/// itsm.yaml). docs/identity.md has examples for OpenLDAP and Active Directory.
public struct DirectorySettings: Sendable, Hashable {
    /// `ldap://host:389` or `ldaps://host:636`.
    public var url: String
    /// Upgrades an `ldap://` connection with StartTLS before any password crosses it.
    public var startTLS = false
    /// The CA that signed the directory's certificate, when it is not in the system's store.
    public var caFile: String?
    /// The account that looks people up; nil: anonymous.
    public var bindDN: String?
    public var bindPassword: String?
    public var userBase: String
    /// `{name}` is replaced by the sign-in name, escaped (RFC 4515).
    public var userFilter = "(uid={name})"
    public var groupBase: String?
    /// `{dn}` is replaced by the person's DN, escaped.
    public var groupFilter = "(member={dn})"
    public var displayNameAttribute = "cn"
    public var emailAttribute = "mail"
    /// Roles by group, the group named by its `cn` or its whole DN.
    public var groupRoles: [String: [String]] = [:]
    /// Roles of a person in none of the mapped groups: anyone in the directory may report.
    public var defaultRoles = ["requester"]
    public var timeout: Duration = .seconds(5)

    public init(url: String, userBase: String) {
        self.url = url
        self.userBase = userBase
    }
}

/// Checks people's passwords against an LDAP directory or Active Directory with OpenLDAP's
/// libldap, the only user of it. Each sign-in is its own connection: look the person up (as
/// the search account), read their groups, then bind as them with the password they gave.
/// libldap blocks, so the calls run on a queue of their own.
public struct DirectoryClient: Sendable {
    public let settings: DirectorySettings
    private static let queue = DispatchQueue(label: "itsm.directory", attributes: .concurrent)

    public init(settings: DirectorySettings) {
        self.settings = settings
    }

    /// A person the directory vouched for.
    public struct Person: Sendable, Hashable {
        public var dn: String
        public var displayName: String?
        public var email: String?
        /// Their groups' DNs.
        public var groups: [String]
        /// What `groupRoles` (or `defaultRoles`) gives them.
        public var roles: [String]
    }

    /// The person if `name` and `password` are right; nil if either is wrong or the name is
    /// not found once. Throws when the directory cannot be reached or refuses the search account.
    public func authenticate(name: String, password: String) async throws -> Person? {
        // An empty password makes a simple bind "unauthenticated" and succeed: never send one.
        guard !password.isEmpty else { return nil }
        let settings = self.settings
        return try await withCheckedThrowingContinuation { continuation in
            Self.queue.async {
                continuation.resume(with: Result { try Self.authenticate(name: name, password: password, settings: settings) })
            }
        }
    }

    private static func authenticate(name: String, password: String, settings: DirectorySettings) throws -> Person? {
        let connection = try Connection(settings: settings)
        defer { connection.close() }
        try connection.bind(dn: settings.bindDN, password: settings.bindPassword, as: "the search account (bindDN)")
        let filter = settings.userFilter.replacingOccurrences(of: "{name}", with: escape(name))
        let found = try connection.search(base: settings.userBase, filter: filter,
                                          attributes: [settings.displayNameAttribute, settings.emailAttribute], limit: 2)
        guard found.count == 1, let entry = found.first else { return nil }
        var groups: [(dn: String, cn: String?)] = []
        if let groupBase = settings.groupBase {
            let groupFilter = settings.groupFilter.replacingOccurrences(of: "{dn}", with: escape(entry.dn))
            groups = try connection.search(base: groupBase, filter: groupFilter, attributes: ["cn"], limit: 1000)
                .map { ($0.dn, $0.attributes["cn"]?.first) }
        }
        guard try connection.check(dn: entry.dn, password: password) else { return nil }
        var roles = Set<String>()
        for (pattern, mapped) in settings.groupRoles {
            if groups.contains(where: { $0.dn.caseInsensitiveCompare(pattern) == .orderedSame || $0.cn?.caseInsensitiveCompare(pattern) == .orderedSame }) {
                roles.formUnion(mapped)
            }
        }
        if roles.isEmpty { roles = Set(settings.defaultRoles) }
        return Person(dn: entry.dn, displayName: entry.attributes[settings.displayNameAttribute]?.first,
                      email: entry.attributes[settings.emailAttribute]?.first, groups: groups.map(\.dn), roles: roles.sorted())
    }

    /// `value` made safe inside a search filter (RFC 4515): `*`, `(`, `)`, `\` and NUL escaped.
    static func escape(_ value: String) -> String {
        String(decoding: value.utf8.flatMap { byte -> [UInt8] in
            [0x2A, 0x28, 0x29, 0x5C, 0x00].contains(byte) ? Array(String(format: "\\%02x", byte).utf8) : [byte]
        }, as: UTF8.self)
    }

    /// One libldap handle, used from one thread at a time.
    private final class Connection {
        let handle: OpaquePointer
        let settings: DirectorySettings

        init(settings: DirectorySettings) throws {
            self.settings = settings
            var handle: OpaquePointer?
            let status = ldap_initialize(&handle, settings.url)
            guard status == LDAP_SUCCESS, let handle else { throw DirectoryError("the directory URL \(settings.url)", status) }
            self.handle = handle
            var version = LDAP_VERSION3
            ldap_set_option(handle, LDAP_OPT_PROTOCOL_VERSION, &version)
            cldap_set_referrals_off(handle)
            let seconds = Int(settings.timeout.components.seconds)
            var timeout = timeval(tv_sec: seconds, tv_usec: 0)
            ldap_set_option(handle, LDAP_OPT_NETWORK_TIMEOUT, &timeout)
            ldap_set_option(handle, LDAP_OPT_TIMEOUT, &timeout)
            if let caFile = settings.caFile {
                ldap_set_option(handle, LDAP_OPT_X_TLS_CACERTFILE, caFile)
                var hard = LDAP_OPT_X_TLS_HARD
                ldap_set_option(handle, LDAP_OPT_X_TLS_REQUIRE_CERT, &hard)
                var newContext: Int32 = 0
                ldap_set_option(handle, LDAP_OPT_X_TLS_NEWCTX, &newContext)
            }
            if settings.startTLS {
                let status = ldap_start_tls_s(handle, nil, nil)
                guard status == LDAP_SUCCESS else { close(); throw DirectoryError("StartTLS with \(settings.url)", status) }
            }
        }

        /// Binds with the search account (or anonymously); a refusal is an error.
        func bind(dn: String?, password: String?, as who: String) throws {
            guard let dn else { return }
            let password = password ?? ""
            let status = cldap_simple_bind(handle, dn, password, password.utf8.count)
            guard status == LDAP_SUCCESS else { throw DirectoryError("binding as \(who)", status) }
        }

        /// Whether `password` is the one of `dn`.
        func check(dn: String, password: String) throws -> Bool {
            let status = cldap_simple_bind(handle, dn, password, password.utf8.count)
            if status == LDAP_SUCCESS { return true }
            if status == LDAP_INVALID_CREDENTIALS { return false }
            throw DirectoryError("checking the password", status)
        }

        struct Entry {
            var dn: String
            var attributes: [String: [String]]
        }

        func search(base: String, filter: String, attributes: [String], limit: Int32) throws -> [Entry] {
            var cAttributes: [UnsafeMutablePointer<CChar>?] = attributes.map { strdup($0) } + [nil]
            defer { cAttributes.forEach { free($0) } }
            var result: OpaquePointer?
            let seconds = Int(settings.timeout.components.seconds)
            var timeout = timeval(tv_sec: seconds, tv_usec: 0)
            let status = ldap_search_ext_s(handle, base, CLDAP_SCOPE_SUBTREE, filter, &cAttributes, 0, nil, nil, &timeout, limit, &result)
            defer { if let result { ldap_msgfree(result) } }
            guard status == LDAP_SUCCESS || status == LDAP_SIZELIMIT_EXCEEDED else {
                throw DirectoryError("searching \(base) for \(filter)", status)
            }
            var entries: [Entry] = []
            var message = ldap_first_entry(handle, result)
            while let entry = message {
                var values: [String: [String]] = [:]
                for attribute in attributes {
                    guard let found = ldap_get_values_len(handle, entry, attribute) else { continue }
                    defer { ldap_value_free_len(found) }
                    var index = 0
                    while let value = found[index] {
                        let bytes = UnsafeRawBufferPointer(start: value.pointee.bv_val, count: Int(value.pointee.bv_len))
                        values[attribute, default: []].append(String(decoding: bytes, as: UTF8.self))
                        index += 1
                    }
                }
                if let dn = ldap_get_dn(handle, entry) {
                    entries.append(Entry(dn: String(cString: dn), attributes: values))
                    ldap_memfree(dn)
                }
                message = ldap_next_entry(handle, entry)
            }
            return entries
        }

        func close() {
            ldap_unbind_ext_s(handle, nil, nil)
        }
    }
}

/// The directory could not be asked: unreachable, or it refused the search account.
public struct DirectoryError: Error, CustomStringConvertible {
    public var description: String

    init(_ what: String, _ status: Int32) {
        description = "\(what): \(String(cString: ldap_err2string(status)))"
    }
}
