-- Org totals (`src/stats/totals.rs`): per org, the statistics inputs of its whole subtree
-- summed into groups (its own members' and occurrences' plus its children's totals), so an
-- org's summary reads its row and its children's instead of every digest below it. `zone` is the zone the dates in them were
-- bucketed in ('' when the subtree mixes zones: such a row is never read). Built by the
-- statistics consumer and by `dangke stats rebuild`; an org without a row is summarized
-- from the digests, and the consumer builds missing rows the first time it merges above
-- them.

CREATE TABLE stats_org_totals (
    org_id BIGINT PRIMARY KEY NOT NULL,
    org_path TEXT NOT NULL,
    zone TEXT NOT NULL,
    data BLOB NOT NULL
);
