-- Change counter of the Service Registry tables (not in the Java schema; the Java systems ignore
-- it). Triggers created by the Service Registry at startup add 1 to one of the 16 rows on every
-- row written to system_, service_definition, service_interface, service_registry or
-- service_registry_interface_connection, so SUM(generation) changes with every committed write
-- from any writer. Sixteen rows spread concurrent writers over different row locks.
CREATE TABLE IF NOT EXISTS `registry_generation` (
  `id` int(11) PRIMARY KEY,
  `generation` bigint(20) NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

INSERT IGNORE INTO `registry_generation` (`id`) VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9),(10),(11),(12),(13),(14),(15);
