"""Storage: the engine, the tables, their migrations and the queries per area."""
