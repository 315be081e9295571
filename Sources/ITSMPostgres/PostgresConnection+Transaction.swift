extension PostgresConnection {
    /// Runs `body` inside `BEGIN` ... `COMMIT`, on the connection's thread; any error thrown
    /// rolls the transaction back. `BEGIN` travels with the first statement (one round trip).
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
        try await beginTransaction()
        let result: Result
        do {
            result = try await body(self)
        } catch {
            // A broken connection cannot roll back; the server aborts the transaction anyway.
            _ = try? await endTransaction(committing: false)
            throw error
        }
        try await endTransaction(committing: true)
        return result
    }
}
