"""Tables from run records: declarative definitions (paper/tables.yaml) -> one builder -> renderers."""
