/// When a process's copy of another process's record (a projection, kept from events) takes a
/// new version. A version that came by event carries the event's number, which orders a
/// record's changes as they committed: it replaces a row holding an older number. A version from
/// a call's answer carries no number (0 is stored): it only fills or refreshes a row no event
/// has written, by the record's time. `updated_at` alone could not order them: two changes can
/// share a millisecond, or begin in one order and commit in the other.
public enum ProjectionVersion {
    /// The `WHERE` of an `ON CONFLICT … DO UPDATE` on the projection aliased `alias`, whose
    /// columns `sequence` and `time` hold the event number and the record's time. `sameReplaces`:
    /// whether the version already held is written again (harmless for a plain copy) or not (for
    /// a caller that acts only on a newer one).
    public static func newer(alias: String, sequence: String, time: String, sameReplaces: Bool) -> String {
        let order = sameReplaces ? "<=" : "<"
        return """
            CASE WHEN excluded.\(sequence) > 0 THEN \(alias).\(sequence) \(order) excluded.\(sequence)
                 ELSE \(alias).\(sequence) = 0 AND \(alias).\(time) \(order) excluded.\(time) END
            """
    }
}
