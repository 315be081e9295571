extension PostgresConnection {
    /// Runs `body` inside `BEGIN` ... `COMMIT`, on the connection's thread; any error thrown
    /// rolls the transaction back.
    ///
    /// ```swift
    /// try await connection.withTransaction { tx in
    ///     try await tx.query("UPDATE incident.incident SET status = \(status) WHERE id = \(id)")
    ///     try await tx.query("INSERT INTO incident.history (...) VALUES (...)")
    /// }
    /// ```
    public func withTransaction<Result>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withAffinity { try await transaction(body) }
    }

    private func transaction<Result>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await query("BEGIN")
        let result: Result
        do {
            result = try await body(self)
        } catch {
            // A broken connection cannot roll back; the server aborts the transaction anyway.
            _ = try? await query("ROLLBACK")
            throw error
        }
        try await query("COMMIT")
        return result
    }
}
