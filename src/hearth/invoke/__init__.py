"""Running functions: router, pool, execution environments."""
