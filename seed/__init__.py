"""Reference and demo data for Kuelik: regions, localities, precincts and name lists."""
