DROP TABLE stats_occurrences;
DROP TABLE stats_members;
DROP TABLE stats_member_months;
DROP TABLE stats_member_years;
