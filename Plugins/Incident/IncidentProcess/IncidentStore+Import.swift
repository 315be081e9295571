import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Bulk import: stage rows in batches, then commit them all at once or not at all.
extension IncidentStore {
    public func beginImport(_ params: BeginImport, actor: String) async throws -> ImportReport {
        guard !params.columns.isEmpty, params.columns.count <= 200 else {
            throw ResponseError.invalidParams("columns: the CSV header, 1 to 200 names")
        }
        let options = params.options ?? ImportOptions()
        _ = try ImportReader(options: options, columns: params.columns, matrix: matrix, now: Date()) // checks the mapping now
        let row = try await database.query("""
            INSERT INTO incident.import_batch (columns, options, created_by)
            VALUES (\(params.columns), \(try PostgresJSON(encoding: options)), \(actor)) RETURNING id
            """).single()
        return ImportReport(importId: try row.decode(UUID.self, "id"), status: "staging", staged: 0, imported: 0, rejected: [],
                            rejectedCount: 0, firstNumber: nil, lastNumber: nil)
    }

    public func stageImportRows(_ params: StageImportRows, actor: String) async throws -> ImportReport {
        guard params.rows.count <= 10_000 else { throw ResponseError.invalidParams("rows: at most 10000 per call") }
        guard params.firstRow >= 2 else { throw ResponseError.invalidParams("firstRow: the header is row 1, data starts at 2") }
        return try await database.withTransaction { tx in
            let batch = try await lockedBatch(tx, params.importId, actor: actor)
            let cells = try PostgresJSON(encoding: params.rows)
            do {
                try await tx.query("""
                    INSERT INTO incident.import_row (import_id, row_number, cells)
                    SELECT \(params.importId), \(params.firstRow) + ordinality - 1,
                           ARRAY(SELECT jsonb_array_elements_text(cells))
                    FROM jsonb_array_elements(\(cells)) WITH ORDINALITY AS r(cells, ordinality)
                    """)
            } catch let error as PostgresError where error.sqlState == .uniqueViolation {
                throw ResponseError.business(kind: "incident.import_rows_overlap",
                                             message: "rows from \(params.firstRow) overlap rows already staged")
            }
            let staged = batch + params.rows.count
            try await tx.query("UPDATE incident.import_batch SET staged = \(staged) WHERE id = \(params.importId)")
            return ImportReport(importId: params.importId, status: "staging", staged: staged, imported: 0, rejected: [],
                                rejectedCount: 0, firstNumber: nil, lastNumber: nil)
        }
    }

    /// Validates every staged row; imports them all in one transaction, or (with
    /// `skipInvalid`) the valid ones; or, if any is invalid, none.
    public func commitImport(_ params: CommitImport, actor: String, now: Date = Date()) async throws -> ImportReport {
        try await database.withTransaction { tx in
            let staged = try await lockedBatch(tx, params.importId, actor: actor)
            let batch = try await tx.query("SELECT columns, options FROM incident.import_batch WHERE id = \(params.importId)").single()
            let options = try batch.decode(PostgresJSON.self, "options").decode(ImportOptions.self)
            let reader = try ImportReader(options: options, columns: try batch.decode([String].self, "columns"), matrix: matrix, now: now)

            var valid: [ImportedRow] = []
            var rejected: [ImportRejection] = []
            var rejectedCount = 0
            var after = 0
            while true { // read the staged rows in pages, in file order
                let page = try await tx.query("""
                    SELECT row_number, cells FROM incident.import_row
                    WHERE import_id = \(params.importId) AND row_number > \(after) ORDER BY row_number LIMIT 5000
                    """)
                guard !page.isEmpty else { break }
                for row in page {
                    after = try row.decode(Int.self, "row_number")
                    switch reader.read(try row.decode([String].self, "cells")) {
                    case .success(let record): valid.append(record)
                    case .failure(let reason):
                        rejectedCount += 1
                        if rejected.count < 1000 { rejected.append(ImportRejection(row: after, reason: reason.text)) }
                    }
                }
            }
            if rejectedCount > 0 && options.skipInvalid != true {
                try await finish(tx, params.importId, status: "rejected", imported: 0, rejected: rejectedCount, now: now)
                return ImportReport(importId: params.importId, status: "rejected", staged: staged, imported: 0, rejected: rejected,
                                    rejectedCount: rejectedCount, firstNumber: nil, lastNumber: nil)
            }
            var numbers: [String] = []
            for start in stride(from: 0, to: valid.count, by: 2000) {
                let chunk = try PostgresJSON(encoding: Array(valid[start..<min(start + 2000, valid.count)]))
                let inserted = try await tx.query("""
                    WITH inserted AS (
                        INSERT INTO incident.incident (number, type, title, description, caller, service, ci, category, subcategory,
                            impact, urgency, priority, status, assignment_group, assignee, created_at, updated_at, resolved_at,
                            closed_at, resolution_code, resolution_notes, external_ref, imported_at, created_by)
                        SELECT incident.next_number(r.type),
                               r.type, r.title, r.description, r.caller, r.service, r.ci, r.category, r.subcategory,
                               r.impact, r.urgency, r.priority, r.status, r.assignment_group, r.assignee, r.created_at,
                               \(now), r.resolved_at, r.closed_at, r.resolution_code, r.resolution_notes, r.external_ref, \(now), \(actor)
                        FROM jsonb_to_recordset(\(chunk)) AS r(type text, title text, description text,
                                 caller text, service text, ci text, category text, subcategory text, impact int, urgency int,
                                 priority int, status text, assignment_group text, assignee text, created_at timestamptz,
                                 resolved_at timestamptz, closed_at timestamptz, resolution_code text, resolution_notes text,
                                 external_ref text)
                        RETURNING id, number, created_at, external_ref
                    ), history AS (
                        INSERT INTO incident.history (incident_id, at, actor, field, old_value, new_value)
                        SELECT id, \(now), \(actor), 'imported', external_ref, number FROM inserted
                    )
                    SELECT number FROM inserted ORDER BY number
                    """)
                numbers += try inserted.map { try $0.decode(String.self, "number") }
            }
            try await finish(tx, params.importId, status: "committed", imported: valid.count, rejected: rejectedCount, now: now)
            try await tx.publish(IncidentEvents.imported, subject: params.importId.uuidString.lowercased(),
                                 data: IncidentsImported(imported: valid.count, rejected: rejectedCount, actor: actor))
            return ImportReport(importId: params.importId, status: "committed", staged: staged, imported: valid.count,
                                rejected: rejected, rejectedCount: rejectedCount, firstNumber: numbers.first, lastNumber: numbers.last)
        }
    }

    /// The batch's staged count, after checking it is still staging and belongs to `actor`.
    private func lockedBatch(_ tx: PluginTransaction, _ id: UUID, actor: String) async throws -> Int {
        guard let batch = try await tx.query("""
            SELECT status, staged, created_by FROM incident.import_batch WHERE id = \(id) FOR UPDATE
            """).first else {
            throw ResponseError.business(kind: "incident.import_not_found", message: "no import \(id.uuidString.lowercased())")
        }
        guard try batch.decode(String.self, "created_by") == actor else {
            throw ResponseError.business(kind: "incident.import_not_found", message: "no import \(id.uuidString.lowercased()) of yours")
        }
        let status = try batch.decode(String.self, "status")
        guard status == "staging" else {
            throw ResponseError.business(kind: "incident.import_finished", message: "the import is already \(status)")
        }
        return try batch.decode(Int.self, "staged")
    }

    private func finish(_ tx: PluginTransaction, _ id: UUID, status: String, imported: Int, rejected: Int, now: Date) async throws {
        try await tx.query("""
            UPDATE incident.import_batch SET status = \(status), imported = \(imported), rejected = \(rejected), finished_at = \(now)
            WHERE id = \(id)
            """)
        try await tx.query("DELETE FROM incident.import_row WHERE import_id = \(id)")
    }
}
