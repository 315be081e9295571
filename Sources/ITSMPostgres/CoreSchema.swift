/// The `itsm` schema every process shares: the transactional outbox and its deliveries, the
/// subscribers' inbox, API tokens, people and their roles and sessions, and the audit log. The coordinator migrates it before starting plugins.
///
/// A plugin in any language publishes an event by inserting into `itsm.outbox` in the
/// transaction that makes the change; a trigger fans the row out to one `itsm.delivery` row
/// per subscriber in that same transaction and wakes the relay with `NOTIFY itsm_outbox`.
public enum CoreSchema {
    public static let name = "itsm"
    /// The channel the outbox trigger notifies.
    public static let outboxChannel = "itsm_outbox"
    /// Notified when what a token authorizes may have changed (`PrincipalCache`).
    public static let authorizationChannel = "itsm_authorization"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "outbox, deliveries, inbox, tokens", sql: """
            CREATE SCHEMA itsm;

            CREATE TABLE itsm.outbox (
                id bigserial PRIMARY KEY,
                event_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
                type text NOT NULL,
                source text NOT NULL,
                subject text,
                payload jsonb NOT NULL DEFAULT '{}',
                occurred_at timestamptz NOT NULL DEFAULT now()
            );

            -- Which subscriber wants which event type; kept while a plugin is disabled, so
            -- its events wait for it instead of being lost.
            CREATE TABLE itsm.subscription (
                subscriber text NOT NULL,
                event_type text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (subscriber, event_type)
            );

            CREATE TABLE itsm.delivery (
                outbox_id bigint NOT NULL REFERENCES itsm.outbox (id) ON DELETE CASCADE,
                subscriber text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                -- Not before this time: the lease of a claimed row, or a retry's backoff.
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                delivered_at timestamptz,
                last_error text,
                PRIMARY KEY (outbox_id, subscriber)
            );
            CREATE INDEX delivery_due ON itsm.delivery (subscriber, next_attempt_at, outbox_id)
                WHERE delivered_at IS NULL;

            CREATE FUNCTION itsm.fan_out_event() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO itsm.delivery (outbox_id, subscriber)
                SELECT NEW.id, s.subscriber FROM itsm.subscription s WHERE s.event_type = NEW.type;
                PERFORM pg_notify('itsm_outbox', NEW.type);
                RETURN NEW;
            END $$;
            CREATE TRIGGER outbox_fan_out AFTER INSERT ON itsm.outbox
                FOR EACH ROW EXECUTE FUNCTION itsm.fan_out_event();

            -- Events a subscriber has processed, so a redelivery has no second effect.
            CREATE TABLE itsm.inbox (
                subscriber text NOT NULL,
                event_id uuid NOT NULL,
                processed_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (subscriber, event_id)
            );

            -- Bearer tokens, stored as SHA-256 hashes only.
            CREATE TABLE itsm.api_token (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL UNIQUE,
                token_hash text NOT NULL UNIQUE,
                permissions text[] NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz,
                revoked_at timestamptz
            );
            """),
        Migration(version: 2, name: "one bootstrap admin token per installation", sql: """
            -- Several coordinators can share a database, each with its own data directory and
            -- admin token; a lost token file must rotate only that installation's token.
            ALTER TABLE itsm.api_token ADD COLUMN installation text;
            ALTER TABLE itsm.api_token DROP CONSTRAINT api_token_name_key;
            CREATE UNIQUE INDEX api_token_name_per_installation ON itsm.api_token (name, coalesce(installation, ''));
            """),
        Migration(version: 3, name: "job leases", sql: """
            -- Scheduled work (SLA scans, contract milestones, forecasts) runs on one plugin
            -- instance at a time. The holder renews its lease each run; another instance takes
            -- over once it expires. The fence grows with every change of hands, and a job's
            -- writes check it in their own transaction, so an instance that was paused past its
            -- lease cannot act on it.
            CREATE TABLE itsm.job_lease (
                job text PRIMARY KEY,
                holder text NOT NULL,
                fence bigint NOT NULL,
                expires_at timestamptz NOT NULL
            );
            """),
        Migration(version: 4, name: "who issued each token", sql: """
            -- A name belongs to whoever issued it: only they or an administrator revoke it or use it
            -- again. NULL: the installation's own (the bootstrap admin, provisioned host tokens).
            ALTER TABLE itsm.api_token ADD COLUMN issued_by text;
            """),
        Migration(version: 5, name: "the active version of each process", sql: """
            -- Instances of a process may run different versions during a rolling upgrade; only the
            -- active one gets requests and events, and its subscriptions are the recorded ones.
            -- The first instance ever to connect makes its version active; after that only an
            -- explicit upgrade (itsm plugins upgrade) changes it.
            CREATE TABLE itsm.process_version (
                process text PRIMARY KEY,
                version text NOT NULL,
                activated_at timestamptz NOT NULL DEFAULT now(),
                activated_by text NOT NULL,
                previous_version text
            );
            """),
        Migration(version: 6, name: "people, roles, sessions and the audit log", sql: """
            -- People who sign in. A local account keeps an Argon2id hash of its password; a
            -- directory account has none here (its password is checked by the directory).
            CREATE TABLE itsm.account (
                name text PRIMARY KEY,
                display_name text NOT NULL,
                email text,
                password_hash text,
                source text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'directory')),
                disabled boolean NOT NULL DEFAULT false,
                -- Login throttling: consecutive failures, and no attempt is checked before this.
                failed_logins integer NOT NULL DEFAULT 0,
                locked_until timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                last_login_at timestamptz
            );

            -- A role is a set of permission patterns; built-in ones can be changed, not removed.
            CREATE TABLE itsm.role (
                name text PRIMARY KEY,
                description text NOT NULL,
                permissions text[] NOT NULL,
                builtin boolean NOT NULL DEFAULT false
            );
            INSERT INTO itsm.role (name, description, permissions, builtin) VALUES
                ('administrator', 'Everything, including users, roles, tokens and plugins.', '{*}', true),
                ('auditor', 'Reads every record and the audit log; changes nothing.', '{*.read}', true),
                ('agent', 'Works incidents; reads problems, known errors, suppliers and capacity.',
                 '{incident.read,incident.write,problem.read,supplier.read,capacity.read,improvement.read}', true),
                ('group-lead', 'An agent who also manages the incident settings of the desk.',
                 '{incident.*,problem.read,supplier.read,capacity.read,improvement.read}', true),
                ('problem-manager', 'Runs problem management; reads incidents.', '{problem.*,incident.read}', true),
                ('capacity-manager', 'Runs capacity management.', '{capacity.*,incident.read}', true),
                ('supplier-manager', 'Runs supplier management.', '{supplier.*}', true),
                ('process-owner', 'Reads everything; runs continual improvement and the management review.',
                 '{*.read,improvement.*}', true),
                ('requester', 'Reports incidents and follows them.', '{incident.read,incident.write}', true);

            CREATE TABLE itsm.account_role (
                account text NOT NULL REFERENCES itsm.account (name) ON DELETE CASCADE,
                role text NOT NULL REFERENCES itsm.role (name) ON DELETE CASCADE,
                PRIMARY KEY (account, role)
            );

            -- The permission patterns an account holds through its roles; none once disabled.
            -- PL/pgSQL keeps the query's plan for the session: checked on every request, a SQL
            -- function (not inlinable, for its aggregate) would be planned again each time.
            CREATE FUNCTION itsm.account_permissions(account_name text) RETURNS text[]
            LANGUAGE plpgsql STABLE AS $$
            BEGIN
                RETURN (SELECT coalesce(array_agg(DISTINCT p ORDER BY p), '{}')
                        FROM itsm.account a
                        JOIN itsm.account_role ar ON ar.account = a.name
                        JOIN itsm.role r ON r.name = ar.role
                        CROSS JOIN unnest(r.permissions) p
                        WHERE a.name = account_name AND NOT a.disabled);
            END $$;

            -- Signed-in people. Only the SHA-256 of the cookie's secret is kept.
            CREATE TABLE itsm.session (
                secret_hash text PRIMARY KEY,
                account text NOT NULL REFERENCES itsm.account (name) ON DELETE CASCADE,
                client_address text,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_seen_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL
            );
            CREATE INDEX session_account ON itsm.session (account);

            -- A token that belongs to a person never holds more than they do, and stops with
            -- their account. Tokens without an owner are service accounts.
            ALTER TABLE itsm.api_token ADD COLUMN owner text REFERENCES itsm.account (name) ON DELETE CASCADE;

            -- Who did what: every write through the API and every administrative change.
            -- Append-only, and each entry's hash covers the previous entry's hash, so a changed,
            -- removed or inserted entry breaks the chain (itsm audit verify).
            CREATE TABLE itsm.audit_entry (
                seq bigint PRIMARY KEY,
                at timestamptz NOT NULL,
                actor text NOT NULL,
                action text NOT NULL,
                target text,
                outcome text NOT NULL,
                client_address text,
                request_id text,
                details jsonb NOT NULL DEFAULT '{}',
                previous_hash text NOT NULL,
                hash text NOT NULL
            );
            CREATE INDEX audit_entry_at ON itsm.audit_entry (at);

            -- A field as it enters the hash: its length in bytes, a colon and the field, or '-'
            -- for none, so no two different entries hash the same text.
            CREATE FUNCTION itsm.audit_field(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
                SELECT CASE WHEN value IS NULL THEN '-' ELSE octet_length(value) || ':' || value END
            $$;

            -- Appends one entry. The lock makes appends take turns until commit, so each entry
            -- links to the one committed before it.
            CREATE FUNCTION itsm.append_audit(p_actor text, p_action text, p_target text, p_outcome text,
                                              p_client_address text, p_request_id text, p_details jsonb)
            RETURNS bigint LANGUAGE plpgsql AS $$
            DECLARE
                last_seq bigint;
                last_hash text;
                entry_at timestamptz := clock_timestamp();
                entry_text text;
            BEGIN
                PERFORM pg_advisory_xact_lock(7461626, 1);
                SELECT seq, hash INTO last_seq, last_hash FROM itsm.audit_entry ORDER BY seq DESC LIMIT 1;
                last_seq := coalesce(last_seq, 0) + 1;
                last_hash := coalesce(last_hash, repeat('0', 64));
                entry_text := last_hash || E'\\n' || last_seq || E'\\n'
                    || ((extract(epoch FROM entry_at) * 1000000)::bigint) || E'\\n'
                    || itsm.audit_field(p_actor) || E'\\n' || itsm.audit_field(p_action) || E'\\n'
                    || itsm.audit_field(p_target) || E'\\n' || itsm.audit_field(p_outcome) || E'\\n'
                    || itsm.audit_field(p_client_address) || E'\\n' || itsm.audit_field(p_request_id) || E'\\n'
                    || itsm.audit_field(coalesce(p_details, '{}')::text);
                INSERT INTO itsm.audit_entry (seq, at, actor, action, target, outcome, client_address, request_id,
                                              details, previous_hash, hash)
                VALUES (last_seq, entry_at, p_actor, p_action, p_target, p_outcome, p_client_address, p_request_id,
                        coalesce(p_details, '{}'), last_hash, encode(sha256(convert_to(entry_text, 'UTF8')), 'hex'));
                RETURN last_seq;
            END $$;

            CREATE FUNCTION itsm.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
            END $$;
            CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON itsm.audit_entry
                FOR EACH ROW EXECUTE FUNCTION itsm.refuse_audit_change();
            CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON itsm.audit_entry
                FOR EACH STATEMENT EXECUTE FUNCTION itsm.refuse_audit_change();
            """),
        Migration(version: 7, name: "default role grants from plugin manifests", sql: """
            -- A permission a plugin declares goes to its default roles once, the first time any
            -- coordinator sees it; an administrator who takes it away later does not get it back.
            CREATE TABLE itsm.role_default_grant (
                permission text NOT NULL,
                role text NOT NULL,
                granted_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (permission, role)
            );
            """),
        Migration(version: 8, name: "assignment groups with members and leads", sql: """
            -- Groups records are assigned to. Processes read them here: once a group is defined,
            -- a record assigned to it can name as assignee only one of its members. A group
            -- name records use that is not defined here stays free text, as before.
            CREATE TABLE itsm.assignment_group (
                name text PRIMARY KEY,
                description text NOT NULL DEFAULT '',
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE itsm.group_member (
                group_name text NOT NULL REFERENCES itsm.assignment_group (name) ON DELETE CASCADE,
                account text NOT NULL REFERENCES itsm.account (name) ON DELETE CASCADE,
                lead boolean NOT NULL DEFAULT false,
                PRIMARY KEY (group_name, account)
            );
            CREATE INDEX group_member_account ON itsm.group_member (account);
            """),
        Migration(version: 9, name: "audited changes noted before they are made", sql: """
            -- A change through the API is noted here before it is made, and the note is removed
            -- in the statement that appends its outcome to the audit log. A note left behind
            -- belongs to a coordinator that stopped in between; it is appended with the outcome
            -- 'unknown', so a change that was committed is never missing from the log.
            CREATE TABLE itsm.audit_intent (
                id uuid PRIMARY KEY,
                started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                actor text NOT NULL,
                action text NOT NULL,
                target text,
                client_address text,
                request_id text,
                details jsonb NOT NULL DEFAULT '{}'
            );
            CREATE INDEX audit_intent_started_at ON itsm.audit_intent (started_at);
            """),
        Migration(version: 10, name: "a person's manager", sql: """
            -- Whom a person reports to: a request can wait on its requester's manager.
            ALTER TABLE itsm.account ADD COLUMN manager text REFERENCES itsm.account (name) ON DELETE SET NULL
                CHECK (manager <> name);
            """),
        Migration(version: 11, name: "the request behind each event", sql: """
            -- The id of the request whose change published the event (or of the event whose
            -- handling did): a request can be followed through every process it reached.
            ALTER TABLE itsm.outbox ADD COLUMN request_id text;
            """),
        Migration(version: 12, name: "a notice when what a token may do changes", sql: """
            -- Coordinators keep the principals of tokens they have checked, and forget them all
            -- when this notice comes: a token revoked or changed, an account disabled, a role's
            -- permissions or a person's roles changed. Refreshing a token's last use is no notice,
            -- nor a statement that changes no row (row triggers; one notice a transaction).
            CREATE FUNCTION itsm.notify_authorization_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('\(authorizationChannel)', TG_TABLE_NAME);
                RETURN NULL;
            END $$;
            CREATE TRIGGER api_token_authorization_changed
                AFTER UPDATE OF token_hash, permissions, revoked_at, owner OR DELETE ON itsm.api_token
                FOR EACH ROW EXECUTE FUNCTION itsm.notify_authorization_changed();
            CREATE TRIGGER account_authorization_changed AFTER UPDATE OF disabled OR DELETE ON itsm.account
                FOR EACH ROW EXECUTE FUNCTION itsm.notify_authorization_changed();
            CREATE TRIGGER role_authorization_changed AFTER UPDATE OF permissions OR DELETE ON itsm.role
                FOR EACH ROW EXECUTE FUNCTION itsm.notify_authorization_changed();
            CREATE TRIGGER account_role_authorization_changed AFTER INSERT OR UPDATE OR DELETE ON itsm.account_role
                FOR EACH ROW EXECUTE FUNCTION itsm.notify_authorization_changed();
            """),
        Migration(version: 13, name: "the relay woken only for events someone takes", sql: """
            -- An event no plugin subscribes to has no delivery: waking every relay to find none
            -- was a round trip per write for each coordinator.
            CREATE OR REPLACE FUNCTION itsm.fan_out_event() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO itsm.delivery (outbox_id, subscriber)
                SELECT NEW.id, s.subscriber FROM itsm.subscription s WHERE s.event_type = NEW.type;
                IF FOUND THEN
                    PERFORM pg_notify('itsm_outbox', NEW.type);
                END IF;
                RETURN NEW;
            END $$;
            """),
        // Tables that grow without bound are kept a month a partition (UTC): each month has its
        // own small indexes, and months that no longer change can be archived whole.
        // `ensure_month_partitions` is the one way months are made, for the audit log here and
        // for any process's table (incident history).
        Migration(version: 14, name: "month partitions; the audit log partitioned by month", sql: """
            -- No entry is appended while the log changes shape (appends take this lock until commit).
            SELECT pg_advisory_xact_lock(7461626, 1);

            -- Where the months made so far end (UTC): the latest upper bound among the partitions.
            CREATE FUNCTION itsm.month_partitions_end(parent regclass) RETURNS timestamp LANGUAGE sql STABLE AS $$
                SELECT max(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz) AT TIME ZONE 'UTC'
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = parent
            $$;

            -- Gives `partition` the TRUNCATE triggers of the table it belongs to: a statement
            -- trigger on a partitioned table does not fire when one partition is truncated.
            CREATE FUNCTION itsm.guard_against_truncate(parent regclass, partition regclass) RETURNS void LANGUAGE plpgsql AS $$
            DECLARE
                guard record;
            BEGIN
                FOR guard IN SELECT t.tgname, t.tgfoid::regproc AS function FROM pg_trigger t
                             WHERE t.tgrelid = parent AND NOT t.tgisinternal AND t.tgtype & 32 <> 0 LOOP
                    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s()',
                                   guard.tgname, partition, guard.function);
                END LOOP;
            END
            $$;

            -- Makes the month partitions <table>_YYYY_MM of a table partitioned by range on a
            -- timestamptz, from where its months end through the month `through` falls in, holding
            -- the table's lock (writers wait a moment, once a month) so two callers cannot make the
            -- same month. The lock is waited for 100 ms at most: writers queue behind a waiting lock,
            -- so waiting on a long transaction (an import, an export) would stall every write; the
            -- caller tries again later (lock_not_available), with a month to spare. Rows written
            -- ahead of their month wait in <table>_default and move into the month made for them.
            -- Each month gets the table's TRUNCATE triggers.
            CREATE FUNCTION itsm.ensure_month_partitions(parent regclass, through timestamptz) RETURNS void LANGUAGE plpgsql AS $$
            DECLARE
                schema_name text;
                table_name text;
                key text;
                fallback text;
                month timestamp;
                next timestamp;
                partition text;
                waiting boolean;
                patience text := current_setting('lock_timeout');
            BEGIN
                IF itsm.month_partitions_end(parent) > through AT TIME ZONE 'UTC' THEN
                    RETURN;
                END IF;
                PERFORM set_config('lock_timeout', '100ms', true);
                BEGIN
                    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', parent);
                EXCEPTION WHEN lock_not_available THEN
                    PERFORM set_config('lock_timeout', patience, true);
                    -- Another caller (a coordinator starting beside this one) may have just made them.
                    IF itsm.month_partitions_end(parent) > through AT TIME ZONE 'UTC' THEN
                        RETURN;
                    END IF;
                    RAISE;
                END;
                PERFORM set_config('lock_timeout', patience, true);
                SELECT n.nspname, c.relname, a.attname INTO schema_name, table_name, key
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_partitioned_table p ON p.partrelid = c.oid
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
                WHERE c.oid = parent;
                fallback := format('%I.%I', schema_name, table_name || '_default');
                month := itsm.month_partitions_end(parent);
                WHILE month <= through AT TIME ZONE 'UTC' LOOP
                    next := month + interval '1 month';
                    partition := format('%I.%I', schema_name, table_name || '_' || to_char(month, 'YYYY_MM'));
                    EXECUTE format('SELECT EXISTS (SELECT FROM %s WHERE %I >= $1 AND %I < $2)', fallback, key, key)
                        INTO waiting USING month AT TIME ZONE 'UTC', next AT TIME ZONE 'UTC';
                    IF waiting THEN
                        -- A month cannot be made while the default partition holds rows of it:
                        -- they move while the default partition is detached.
                        EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, fallback);
                        EXECUTE format('CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                                       partition, parent, month AT TIME ZONE 'UTC', next AT TIME ZONE 'UTC');
                        EXECUTE format('INSERT INTO %s SELECT * FROM %s WHERE %I >= $1 AND %I < $2', partition, fallback, key, key)
                            USING month AT TIME ZONE 'UTC', next AT TIME ZONE 'UTC';
                        EXECUTE format('DELETE FROM %s WHERE %I >= $1 AND %I < $2', fallback, key, key)
                            USING month AT TIME ZONE 'UTC', next AT TIME ZONE 'UTC';
                        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s DEFAULT', parent, fallback);
                    ELSE
                        EXECUTE format('CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                                       partition, parent, month AT TIME ZONE 'UTC', next AT TIME ZONE 'UTC');
                    END IF;
                    PERFORM itsm.guard_against_truncate(parent, partition::regclass);
                    month := next;
                END LOOP;
            END
            $$;

            -- Turns `parent`, a table written so far, into the partition for everything before
            -- the next month of a new table partitioned by month on `key` (the caller makes that
            -- table as `parent` was, under `parent`'s name, after renaming `parent`): one scan
            -- validates the bound, then the old table's indexes and keys are taken over where the
            -- new table's match them. Adds the default partition and the next month.
            CREATE FUNCTION itsm.attach_as_months_before(parent regclass, old regclass, key text) RETURNS void LANGUAGE plpgsql AS $$
            DECLARE
                boundary timestamptz;
                fallback text;
            BEGIN
                EXECUTE format('SELECT (date_trunc(''month'', greatest(now(), max(%I)) AT TIME ZONE ''UTC'') + interval ''1 month'') AT TIME ZONE ''UTC'' FROM %s',
                               key, old) INTO boundary;
                EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I < %L)',
                               old, (SELECT relname FROM pg_class WHERE oid = old) || '_bound', key, boundary);
                EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (MINVALUE) TO (%L)', parent, old, boundary);
                SELECT format('%I.%I', n.nspname, c.relname || '_default') INTO fallback
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
                EXECUTE format('CREATE TABLE %s PARTITION OF %s DEFAULT', fallback, parent);
                PERFORM itsm.guard_against_truncate(parent, fallback::regclass);
                PERFORM itsm.ensure_month_partitions(parent, now() + interval '1 month');
            END
            $$;

            -- The chain's last entry, kept beside it: with the log in month partitions, finding
            -- the last entry by its number would ask every month's index on every append.
            CREATE TABLE itsm.audit_head (
                single boolean PRIMARY KEY DEFAULT true CHECK (single),
                seq bigint NOT NULL,
                hash text NOT NULL
            );
            INSERT INTO itsm.audit_head (seq, hash)
            SELECT coalesce(max(seq), 0), coalesce((SELECT hash FROM itsm.audit_entry ORDER BY seq DESC LIMIT 1), repeat('0', 64))
            FROM itsm.audit_entry;
            CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON itsm.audit_head
                FOR EACH STATEMENT EXECUTE FUNCTION itsm.refuse_audit_change();

            CREATE OR REPLACE FUNCTION itsm.append_audit(p_actor text, p_action text, p_target text, p_outcome text,
                                                         p_client_address text, p_request_id text, p_details jsonb)
            RETURNS bigint LANGUAGE plpgsql AS $$
            DECLARE
                last_seq bigint;
                last_hash text;
                entry_at timestamptz := clock_timestamp();
                entry_text text;
                entry_hash text;
            BEGIN
                PERFORM pg_advisory_xact_lock(7461626, 1);
                SELECT seq, hash INTO last_seq, last_hash FROM itsm.audit_head;
                last_seq := last_seq + 1;
                entry_text := last_hash || E'\\n' || last_seq || E'\\n'
                    || ((extract(epoch FROM entry_at) * 1000000)::bigint) || E'\\n'
                    || itsm.audit_field(p_actor) || E'\\n' || itsm.audit_field(p_action) || E'\\n'
                    || itsm.audit_field(p_target) || E'\\n' || itsm.audit_field(p_outcome) || E'\\n'
                    || itsm.audit_field(p_client_address) || E'\\n' || itsm.audit_field(p_request_id) || E'\\n'
                    || itsm.audit_field(coalesce(p_details, '{}')::text);
                entry_hash := encode(sha256(convert_to(entry_text, 'UTF8')), 'hex');
                INSERT INTO itsm.audit_entry (seq, at, actor, action, target, outcome, client_address, request_id,
                                              details, previous_hash, hash)
                VALUES (last_seq, entry_at, p_actor, p_action, p_target, p_outcome, p_client_address, p_request_id,
                        coalesce(p_details, '{}'), last_hash, entry_hash);
                UPDATE itsm.audit_head SET seq = last_seq, hash = entry_hash;
                RETURN last_seq;
            END $$;

            ALTER TABLE itsm.audit_entry RENAME TO audit_entry_before_partitioning;
            ALTER INDEX itsm.audit_entry_pkey RENAME TO audit_entry_before_partitioning_pkey;
            ALTER INDEX itsm.audit_entry_at RENAME TO audit_entry_before_partitioning_at;
            DROP TRIGGER audit_entry_append_only ON itsm.audit_entry_before_partitioning;
            CREATE TABLE itsm.audit_entry (LIKE itsm.audit_entry_before_partitioning INCLUDING DEFAULTS) PARTITION BY RANGE (at);
            -- Numbers are unique by the head and the lock appends take; a unique index would
            -- have to include the month.
            CREATE INDEX audit_entry_seq ON itsm.audit_entry (seq);
            CREATE INDEX audit_entry_at ON itsm.audit_entry (at);
            CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON itsm.audit_entry
                FOR EACH ROW EXECUTE FUNCTION itsm.refuse_audit_change();
            CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON itsm.audit_entry
                FOR EACH STATEMENT EXECUTE FUNCTION itsm.refuse_audit_change();
            SELECT itsm.attach_as_months_before('itsm.audit_entry', 'itsm.audit_entry_before_partitioning', 'at');
            """),
    ]
}
