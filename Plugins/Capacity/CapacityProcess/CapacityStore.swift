import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

extension ThresholdDirection {
    /// The daily figure forecasts follow when none is set: the peaks the thresholds are about.
    var defaultForecastOn: ForecastSeries { self == .above ? .max : .min }
}

extension Metric {
    static let columns = """
        r.name AS resource, m.name, m.unit, m.capacity_limit, m.warning, m.critical, m.direction, m.forecast_on, m.owner, m.state,
        m.last_value, m.last_at, r.service
        """

    init(row: PostgresRow) throws {
        let direction = ThresholdDirection(rawValue: try row.decode(String.self, "direction")) ?? .above
        self.init(resource: try row.decode(String.self, "resource"), name: try row.decode(String.self, "name"),
                  unit: try row.decode(String.self, "unit"), limit: try row.decode(Double.self, "capacity_limit"),
                  warning: try row.decode(Double.self, "warning"), critical: try row.decode(Double.self, "critical"),
                  direction: direction,
                  forecastOn: try row.decode(String?.self, "forecast_on").flatMap(ForecastSeries.init(rawValue:)) ?? direction.defaultForecastOn,
                  owner: try row.decode(String?.self, "owner"), state: try row.decode(String.self, "state"),
                  lastValue: try row.decode(Double?.self, "last_value"), lastAt: try row.decode(Date?.self, "last_at"),
                  service: try row.decode(String?.self, "service"))
    }
}

/// Resources, metrics and their samples. Bulk ingestion goes through COPY into a staging table,
/// then one idempotent upsert: a sample for the same resource, metric and time replaces the
/// earlier one, and out-of-order samples land where they belong.
public struct CapacityStore: Sendable {
    public let database: PluginDatabase
    public let settings: CapacitySettings

    public init(database: PluginDatabase, settings: CapacitySettings = CapacitySettings()) {
        self.database = database
        self.settings = settings
    }

    public func define(_ params: DefineResource, actor: String) async throws -> [Metric] {
        let name = params.name.trimmingCharacters(in: .whitespaces)
        guard (1...200).contains(name.count) else { throw ResponseError.invalidParams("name: required, at most 200 characters") }
        guard ["technical", "human"].contains(params.kind ?? "technical") else { throw ResponseError.invalidParams("kind: technical or human") }
        guard !params.metrics.isEmpty else { throw ResponseError.invalidParams("metrics: at least one") }
        for metric in params.metrics {
            guard !metric.name.isEmpty, !metric.unit.isEmpty else { throw ResponseError.invalidParams("metrics: name and unit required") }
            guard [metric.limit, metric.warning, metric.critical].allSatisfy(\.isFinite) else {
                throw ResponseError.invalidParams("metrics.\(metric.name): limit, warning and critical must be finite numbers")
            }
            switch metric.direction ?? .above {
            case .above:
                guard metric.warning <= metric.critical, metric.critical <= metric.limit, metric.limit > 0 else {
                    throw ResponseError.invalidParams("metrics.\(metric.name): need warning <= critical <= limit, limit > 0")
                }
            case .below:
                guard metric.warning >= metric.critical, metric.critical >= metric.limit else {
                    throw ResponseError.invalidParams("metrics.\(metric.name): direction below needs warning >= critical >= limit")
                }
            }
        }
        return try await database.withTransaction { tx in
            let resource = try await tx.query("""
                INSERT INTO capacity.resource (name, kind, service, ci, owner, created_by)
                VALUES (\(name), \(params.kind ?? "technical"), \(params.service), \(params.configurationItem), \(params.owner), \(actor))
                ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, service = excluded.service, ci = excluded.ci, owner = excluded.owner
                RETURNING id
                """).single().decode(UUID.self, "id")
            for metric in params.metrics {
                try await tx.query("""
                    INSERT INTO capacity.metric (resource_id, name, unit, capacity_limit, warning, critical, direction, forecast_on, owner)
                    VALUES (\(resource), \(metric.name), \(metric.unit), \(metric.limit), \(metric.warning), \(metric.critical),
                            \((metric.direction ?? .above).rawValue), \(metric.forecastOn?.rawValue), \(metric.owner))
                    ON CONFLICT (resource_id, name) DO UPDATE SET unit = excluded.unit, capacity_limit = excluded.capacity_limit,
                        warning = excluded.warning, critical = excluded.critical, direction = excluded.direction,
                        forecast_on = excluded.forecast_on, owner = excluded.owner
                    """)
            }
            return try await tx.query("""
                SELECT \(unsafeSQL: Metric.columns) FROM capacity.metric m JOIN capacity.resource r ON r.id = m.resource_id
                WHERE r.id = \(resource) ORDER BY m.name
                """).map(Metric.init(row:))
        }
    }

    public func metrics(service: String? = nil) async throws -> [Metric] {
        try await database.query("""
            SELECT \(unsafeSQL: Metric.columns) FROM capacity.metric m JOIN capacity.resource r ON r.id = m.resource_id
            WHERE \(service)::text IS NULL OR r.service = \(service) ORDER BY r.name, m.name
            """).map(Metric.init(row:))
    }

    // MARK: - Ingestion

    /// At most this many samples a batch; a batch also has to fit in one request body (1 MiB by
    /// default), which at realistic names holds some 10,000 to 15,000.
    public static let maximumBatch = 20_000

    /// Validates, bulk-loads and rolls up a batch; bad samples are reported with their index,
    /// good ones kept. A sample must lie between 1970 and `futureSkewSeconds` from now: one from
    /// the far future would stay the newest forever and freeze its metric's state.
    public func ingest(_ samples: [Sample], now: Date = Date()) async throws -> IngestResult {
        guard samples.count <= Self.maximumBatch else {
            throw ResponseError.invalidParams("samples: at most \(Self.maximumBatch) a batch, got \(samples.count)")
        }
        let known = try await metricIDs()
        var batch = IncomingBatch()
        var rejected: [IngestResult.Rejection] = []
        for (index, sample) in samples.enumerated() {
            guard let id = known[MetricName(resource: sample.resource, metric: sample.metric)] else {
                rejected.append(.init(index: index, reason: "no metric '\(sample.metric)' on resource '\(sample.resource)'"))
                continue
            }
            do {
                batch.add(metric: id, at: try sample.checkedTime(now: now, futureSkew: settings.futureSkewSeconds), value: sample.value)
            } catch {
                rejected.append(.init(index: index, reason: error.reason))
            }
        }
        guard !batch.rows.isEmpty else { return IngestResult(accepted: 0, rejected: rejected, thresholdChanges: []) }
        // Retention may drop a month between this batch making it and holding it (samples
        // older than the retention, imported while it runs): then it is made again.
        var changes: [String]?
        for _ in 1...3 where changes == nil {
            changes = try await store(batch)
        }
        guard let changes else {
            throw ResponseError.unavailable("retention kept dropping the months of this batch's samples; send it again",
                                            kind: "capacity.months_dropped")
        }
        return IngestResult(accepted: batch.rows.count, rejected: rejected, thresholdChanges: changes)
    }

    /// Stores a batch in one transaction: its samples, the rollup buckets they touch, the
    /// thresholds they cross. Nil, storing nothing, if a month it needs was dropped meanwhile.
    private func store(_ batch: IncomingBatch) async throws -> [String]? {
        // The month partitions the samples need, made in a statement of their own: making one
        // locks the whole sample table, which must not last a batch's transaction.
        let days = batch.dayStarts
        try await database.query("SELECT capacity.ensure_sample_months(\(days)::timestamptz[])")
        return try await database.withTransaction { tx in
            // From here retention waits for this batch to commit.
            let held = try await tx.query("SELECT capacity.hold_sample_months(\(days)::timestamptz[]) AS held")
            guard try held.single().decode(Bool.self, "held") else { return nil }
            // Locked in a fixed order, so concurrent batches for the same metrics queue instead
            // of deadlocking; and every metric named is there (the samples have no foreign key).
            // Not FOR UPDATE: a rollup written meanwhile checks its metric's key, and would wait
            // for this batch while this batch waits for its bucket.
            let metrics = batch.metrics
            let locked = try await tx.query("SELECT id FROM capacity.metric WHERE id = ANY(\(metrics)) ORDER BY id FOR NO KEY UPDATE")
            guard locked.count == metrics.count else {
                throw ResponseError.unavailable("a metric of this batch went away while it was ingested; send it again",
                                                kind: "capacity.metric_changed")
            }
            let copied = batch.repeatsASample ? false : try await copyStraightIn(tx, batch)
            if !copied { try await upsert(tx, batch) }
            let buckets = batch.buckets
            try await tx.query("""
                INSERT INTO capacity.rollup_pending (metric_id, granularity, bucket)
                SELECT metric_id, granularity, bucket::timestamptz
                FROM unnest(\(buckets.metrics), \(buckets.granularities), \(buckets.starts)) AS b (metric_id, granularity, bucket)
                ON CONFLICT DO NOTHING
                """)
            return try await evaluateThresholds(tx, newest: batch.newest)
        }
    }

    /// New samples, the usual case, go straight into the sample table with COPY. A sample
    /// stored already (a batch sent again, a late duplicate) makes COPY fail on the primary key:
    /// then nothing of it stays and the batch takes the upsert. False in that case.
    private func copyStraightIn(_ tx: PluginTransaction, _ batch: IncomingBatch) async throws -> Bool {
        try await tx.query("SAVEPOINT straight_in")
        do {
            try await tx.connection.copyIn(unsafeSQL: "COPY capacity.sample (metric_id, at, value) FROM STDIN", rows: batch.rows)
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            try await tx.query("ROLLBACK TO SAVEPOINT straight_in")
            return false
        }
        try await tx.query("RELEASE SAVEPOINT straight_in")
        return true
    }

    /// Samples some of which may be stored already: staged, then inserted or, for a time a metric
    /// has a sample at, replaced; the last of duplicates within the batch wins, as a later batch would.
    private func upsert(_ tx: PluginTransaction, _ batch: IncomingBatch) async throws {
        try await tx.query("CREATE TEMP TABLE incoming (metric_id uuid, at timestamptz, value double precision) ON COMMIT DROP")
        try await tx.connection.copyIn(unsafeSQL: "COPY incoming (metric_id, at, value) FROM STDIN", rows: batch.rows)
        try await tx.query("""
            INSERT INTO capacity.sample (metric_id, at, value)
            SELECT DISTINCT ON (metric_id, at) metric_id, at, value FROM (SELECT *, row_number() OVER () AS n FROM incoming) i
            ORDER BY metric_id, at, n DESC
            ON CONFLICT (metric_id, at) DO UPDATE SET value = excluded.value
            """)
    }

    /// Recomputes the rollup buckets batches have touched since (of one metric, or of all),
    /// from the raw samples, each once. Whoever reads rollups calls this first. Two at once take
    /// turns on the noted buckets; a batch committing meanwhile notes its buckets again.
    public func refreshRollups(metric: UUID? = nil) async throws {
        try await database.query(Self.refreshingRollups(metric: metric))
    }

    private static func refreshingRollups(metric: UUID? = nil) -> PostgresQuery {
        """
            WITH due AS (
                DELETE FROM capacity.rollup_pending WHERE \(metric)::uuid IS NULL OR metric_id = \(metric)
                RETURNING metric_id, granularity, bucket
            )
            INSERT INTO capacity.rollup (metric_id, granularity, bucket, min, avg, max, p95, samples)
            SELECT d.metric_id, d.granularity, d.bucket, min(s.value), avg(s.value), max(s.value),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY s.value), count(*)
            FROM due d JOIN capacity.sample s ON s.metric_id = d.metric_id AND s.at >= d.bucket
                AND s.at < d.bucket + CASE d.granularity WHEN 'hour' THEN interval '1 hour' ELSE interval '1 day' END
            GROUP BY 1, 2, 3
            ON CONFLICT (metric_id, granularity, bucket) DO UPDATE SET min = excluded.min, avg = excluded.avg, max = excluded.max,
                p95 = excluded.p95, samples = excluded.samples
            """
    }

    /// A metric as samples name it.
    struct MetricName: Hashable {
        var resource: String
        var metric: String
    }

    func metricIDs() async throws -> [MetricName: UUID] {
        var ids: [MetricName: UUID] = [:]
        for row in try await database.query("SELECT r.name AS resource, m.name, m.id FROM capacity.metric m JOIN capacity.resource r ON r.id = m.resource_id") {
            ids[MetricName(resource: try row.decode(String.self, "resource"), metric: try row.decode(String.self, "name"))] = try row.decode(UUID.self, "id")
        }
        return ids
    }

    /// Raw samples older than the retention go; rollups stay (brought up to date first), so
    /// storage stays bounded.
    @discardableResult
    public func prune() async throws -> Int {
        try await refreshRollups() // the bulk of it, while batches go on
        let cutoff = Date().addingTimeInterval(-Double(settings.rawRetentionDays) * 86_400)
        return try await database.withTransaction { tx in
            // No batch commits between the last rollups and the drop (a batch holds the table
            // in ROW EXCLUSIVE mode): its samples would be gone before they were rolled up.
            try await tx.query("LOCK TABLE ONLY capacity.sample IN SHARE MODE")
            try await tx.query(Self.refreshingRollups())
            return try await tx.query("SELECT capacity.prune_samples(\(cutoff)) AS removed").single().decode(Int.self, "removed")
        }
    }
}
