import ITSMPostgres

/// The `improvement` schema: the improvement register with its sources, nonconformities with
/// corrective actions, and service management objectives with their measurements.
public enum ImprovementSchema {
    public static let name = "improvement"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "register, sources, nonconformities, objectives", sql: """
            CREATE SCHEMA improvement;

            CREATE SEQUENCE improvement.opportunity_number;
            CREATE TABLE improvement.opportunity (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'OFI-' || lpad(nextval('improvement.opportunity_number')::text, 6, '0'),
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
                description text NOT NULL DEFAULT '',
                source text NOT NULL CHECK (source IN ('manual', 'audit', 'management_review', 'customer_feedback', 'event')),
                -- For intake from events: the cluster it stands for (e.g. sla_breaches:email:2026-11).
                intake_key text UNIQUE,
                services text[] NOT NULL DEFAULT '{}',
                benefit smallint NOT NULL DEFAULT 3 CHECK (benefit BETWEEN 1 AND 5),
                cost smallint NOT NULL DEFAULT 3 CHECK (cost BETWEEN 1 AND 5),
                risk smallint NOT NULL DEFAULT 3 CHECK (risk BETWEEN 1 AND 5),
                alignment smallint NOT NULL DEFAULT 3 CHECK (alignment BETWEEN 1 AND 5),
                score smallint NOT NULL,
                priority text NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
                owner text,
                status text NOT NULL DEFAULT 'proposed' CHECK (status IN
                    ('proposed', 'approved', 'rejected', 'in_progress', 'implemented', 'benefits_verified', 'closed')),
                target_date date,
                expected_benefit text NOT NULL DEFAULT '',
                measured_benefit text,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                closed_at timestamptz
            );
            CREATE INDEX opportunity_status ON improvement.opportunity (status, score DESC);

            -- Where an opportunity came from: each source event once.
            CREATE TABLE improvement.source (
                id bigserial PRIMARY KEY,
                opportunity_id uuid REFERENCES improvement.opportunity (id),
                -- Events counted toward a threshold wait here, unlinked, under their key.
                intake_key text,
                event_id uuid NOT NULL UNIQUE,
                event_type text NOT NULL,
                process text NOT NULL,
                reference text,
                summary text NOT NULL,
                occurred_at timestamptz NOT NULL
            );
            CREATE INDEX source_opportunity ON improvement.source (opportunity_id);
            CREATE INDEX source_pending ON improvement.source (intake_key) WHERE opportunity_id IS NULL;

            CREATE TABLE improvement.history (
                id bigserial PRIMARY KEY,
                record text NOT NULL,
                at timestamptz NOT NULL DEFAULT now(),
                actor text NOT NULL,
                field text NOT NULL,
                old_value text,
                new_value text
            );
            CREATE INDEX history_record ON improvement.history (record, id);
            CREATE FUNCTION improvement.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'improvement history is append-only';
            END $$;
            CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON improvement.history
                FOR EACH ROW EXECUTE FUNCTION improvement.refuse_history_change();

            CREATE SEQUENCE improvement.nonconformity_number;
            CREATE TABLE improvement.nonconformity (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'NC-' || lpad(nextval('improvement.nonconformity_number')::text, 6, '0'),
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
                requirement text NOT NULL,
                description text NOT NULL DEFAULT '',
                source text NOT NULL DEFAULT 'audit' CHECK (source IN ('audit', 'management_review', 'incident', 'complaint', 'other')),
                severity text NOT NULL DEFAULT 'minor' CHECK (severity IN ('minor', 'major')),
                detected_on date NOT NULL,
                owner text,
                correction text,
                root_cause text,
                status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'actions_in_progress', 'awaiting_verification', 'closed')),
                effectiveness_checked_on date,
                effective boolean,
                effectiveness_notes text,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                closed_at timestamptz
            );
            CREATE TABLE improvement.corrective_action (
                id bigserial PRIMARY KEY,
                nonconformity_id uuid NOT NULL REFERENCES improvement.nonconformity (id),
                description text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
                owner text NOT NULL,
                due_on date NOT NULL,
                status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
                done_at timestamptz
            );
            CREATE INDEX corrective_action_nc ON improvement.corrective_action (nonconformity_id);

            CREATE SEQUENCE improvement.objective_number;
            CREATE TABLE improvement.objective (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'OBJ-' || lpad(nextval('improvement.objective_number')::text, 4, '0'),
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
                kpi jsonb NOT NULL,
                comparator text NOT NULL CHECK (comparator IN ('>=', '<=')),
                target double precision NOT NULL,
                period text NOT NULL CHECK (period IN ('week', 'month', 'quarter', 'year')),
                owner text,
                active boolean NOT NULL DEFAULT true,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE improvement.measurement (
                objective_id uuid NOT NULL REFERENCES improvement.objective (id),
                period_start timestamptz NOT NULL,
                period_end timestamptz NOT NULL,
                value double precision,
                available boolean NOT NULL,
                note text,
                met boolean,
                measured_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (objective_id, period_start)
            );
            """),
        Migration(version: 2, name: "internal audits and management reviews", sql: """
            -- Internal audits (ISO/IEC 20000-1 9.2): planned by clause and process, carried out
            -- against a checklist, their findings raising nonconformities or opportunities.
            CREATE SEQUENCE improvement.internal_audit_number;
            CREATE TABLE improvement.internal_audit (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'IA-' || lpad(nextval('improvement.internal_audit_number')::text, 6, '0'),
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
                clauses text[] NOT NULL CHECK (cardinality(clauses) > 0),
                processes text[] NOT NULL DEFAULT '{}',
                scope text NOT NULL DEFAULT '',
                criteria text NOT NULL,
                auditor text NOT NULL,
                planned_on date NOT NULL,
                started_on date,
                status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'in_progress', 'completed', 'cancelled')),
                conclusion text,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                closed_at timestamptz
            );
            CREATE INDEX internal_audit_planned ON improvement.internal_audit (planned_on);
            CREATE TABLE improvement.audit_check (
                audit_id uuid NOT NULL REFERENCES improvement.internal_audit (id),
                item integer NOT NULL,
                clause text NOT NULL,
                requirement text NOT NULL,
                result text NOT NULL DEFAULT 'not_checked'
                    CHECK (result IN ('not_checked', 'conforms', 'nonconformity', 'observation', 'not_applicable')),
                notes text NOT NULL DEFAULT '',
                checked_by text,
                checked_at timestamptz,
                PRIMARY KEY (audit_id, item)
            );
            CREATE TABLE improvement.audit_finding (
                id bigserial PRIMARY KEY,
                audit_id uuid NOT NULL REFERENCES improvement.internal_audit (id),
                item integer,
                clause text NOT NULL,
                kind text NOT NULL CHECK (kind IN ('nonconformity', 'observation', 'opportunity')),
                title text NOT NULL,
                description text NOT NULL,
                -- What the finding raised, in the same transaction.
                raised text,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX audit_finding_audit ON improvement.audit_finding (audit_id, id);

            -- Management reviews (9.3): the meeting, the pack as it was presented, decisions,
            -- and actions followed until done.
            CREATE SEQUENCE improvement.management_review_number;
            CREATE TABLE improvement.management_review (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'MR-' || lpad(nextval('improvement.management_review_number')::text, 4, '0'),
                held_on date NOT NULL,
                period_from timestamptz NOT NULL,
                period_to timestamptz NOT NULL CHECK (period_to > period_from),
                chair text NOT NULL,
                attendees text[] NOT NULL CHECK (cardinality(attendees) > 0),
                decisions text[] NOT NULL DEFAULT '{}',
                notes text NOT NULL DEFAULT '',
                pack jsonb NOT NULL,
                pack_html text NOT NULL,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX management_review_held ON improvement.management_review (held_on DESC);
            CREATE TABLE improvement.review_action (
                id bigserial PRIMARY KEY,
                review_id uuid NOT NULL REFERENCES improvement.management_review (id),
                description text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
                owner text NOT NULL,
                due_on date NOT NULL,
                status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
                outcome text,
                done_at timestamptz
            );
            CREATE INDEX review_action_review ON improvement.review_action (review_id, id);
            """),
    ]
}
