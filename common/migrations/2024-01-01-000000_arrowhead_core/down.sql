-- The core schema is shared with the Java systems; it is never dropped by a migration.
SELECT 1;
