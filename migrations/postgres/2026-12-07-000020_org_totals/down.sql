DROP TABLE stats_org_totals;
