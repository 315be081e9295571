import CLibPQ

/// A connection string as libpq's environment variables, for the PostgreSQL programs we run
/// (`pg_dump`, `pg_restore`): a password in the string would otherwise show in the process
/// list for as long as they run.
public enum ConnectionEnvironment {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    static let variables = [
        "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER",
        "password": "PGPASSWORD", "passfile": "PGPASSFILE", "service": "PGSERVICE", "options": "PGOPTIONS",
        "application_name": "PGAPPNAME", "connect_timeout": "PGCONNECT_TIMEOUT", "sslmode": "PGSSLMODE",
        "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL",
        "channel_binding": "PGCHANNELBINDING", "gssencmode": "PGGSSENCMODE", "target_session_attrs": "PGTARGETSESSIONATTRS",
        "load_balance_hosts": "PGLOADBALANCEHOSTS", "requiressl": "PGREQUIRESSL", "sslcompression": "PGSSLCOMPRESSION",
        "krbsrvname": "PGKRBSRVNAME", "gsslib": "PGGSSLIB", "client_encoding": "PGCLIENTENCODING",
    ]

    /// The variables for `conninfo` (a keyword string or a `postgresql://` URL), parsed by
    /// libpq itself. Throws on a string libpq refuses, or a setting no variable carries.
    public static func variables(for conninfo: String) throws -> [String: String] {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &message) else {
            let reason = message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "not a connection string"
            message.map { PQfreemem($0) }
            throw Invalid(description: "the database connection string is not valid: \(reason)")
        }
        defer { PQconninfoFree(options) }
        var environment: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                let name = String(cString: keyword)
                guard let variable = variables[name] else {
                    throw Invalid(description: "the connection setting '\(name)' cannot be passed to the PostgreSQL tools")
                }
                environment[variable] = String(cString: value)
            }
            option += 1
        }
        return environment
    }
}
