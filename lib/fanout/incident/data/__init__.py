"""The raw data: the tables and their files (`raw`), the generator (`generate`), the
validation (`validate`)."""
