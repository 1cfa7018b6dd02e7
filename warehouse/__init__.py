"""The ground floor: settings, the one connection to the warehouse, schemas, the dbt runner, publish."""
