DROP INDEX stats_member_years_org;
DROP TABLE stats_stale_orgs;
DROP TABLE stats_digests;
