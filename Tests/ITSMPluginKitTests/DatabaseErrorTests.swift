import ITSMPostgres
@testable import ITSMPluginKit
import ITSMProtocol
import ITSMTesting
import Logging
import Testing

/// Database refusals as callers see them: the field when PostgreSQL names it, never a
/// SQLSTATE, constraint name or the server's message.
@Suite struct DatabaseErrorTests {
    @Test func aRefusedValueIsInvalidParamsAndNamesNoInternals() async throws {
        let pool = try await TestPostgres.makeMigratedPool(label: "dberrors", schema: CoreSchema.name, migrations: CoreSchema.migrations)
        try await pool.query("""
            CREATE TABLE public.item (key text UNIQUE, name text NOT NULL CONSTRAINT item_name_short CHECK (length(name) < 5),
                                      code varchar(2), at timestamptz)
            """)
        try await pool.query("INSERT INTO public.item (key, name) VALUES ('a', 'ok')")
        func refusal(_ sql: String) async -> ResponseError? {
            do {
                try await pool.query(PostgresQuery(unsafeSQL: sql))
                return nil
            } catch let error as PostgresError {
                return ResponseError(databaseError: error, logger: Logger(label: "test"), method: "test.method")
            } catch {
                return nil
            }
        }
        let missing = await refusal("INSERT INTO public.item (key, name) VALUES ('b', NULL)")
        #expect(missing?.code == .invalidParams && missing?.message == "name: a value breaks a rule of the record")
        let rule = await refusal("INSERT INTO public.item (key, name) VALUES ('c', 'far too long')")
        #expect(rule?.code == .invalidParams && rule?.message.contains("item_name_short") == false)
        #expect(await refusal("INSERT INTO public.item (key, name, code) VALUES ('d', 'x', 'abc')")?.message == "a value is too long")
        #expect(await refusal("SELECT '2026-02-30'::date")?.message == "a date or time is out of range")
        let duplicate = await refusal("INSERT INTO public.item (key, name) VALUES ('a', 'x')")
        #expect(duplicate?.kind == "database.conflict" && duplicate?.message.contains("23505") == false)
        let bug = await refusal("SELECT * FROM public.nowhere")
        #expect(bug?.code == .internalError && bug?.message.contains("nowhere") == false)
        for error in [missing, rule, duplicate, bug].compactMap({ $0 }) {
            #expect(!"\(error.data ?? .null)".contains("sqlState") && !"\(error.data ?? .null)".contains("constraint"))
        }
        await pool.close()
    }
}
