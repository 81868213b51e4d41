-- Names compare exactly in the database, as they do in the systems' code. Under the Java
-- schema's default collation (utf8_general_ci) 'authorizatión-control-intra' and
-- 'authorization-control-intra' are the same row, so a name the code judged harmless could be
-- filed under a core service. Every writer lowercases (event types: uppercases) names before
-- storing them, so exact comparison changes no answer for well-formed data; rows that were
-- unique under the case- and accent-insensitive collation stay unique under this one.
ALTER TABLE `system_` MODIFY `system_name` varchar(255) CHARACTER SET utf8 COLLATE utf8_bin NOT NULL;
ALTER TABLE `service_definition` MODIFY `service_definition` varchar(255) CHARACTER SET utf8 COLLATE utf8_bin NOT NULL;
ALTER TABLE `service_interface` MODIFY `interface_name` varchar(255) CHARACTER SET utf8 COLLATE utf8_bin NOT NULL DEFAULT 'HTTP-INSECURE-JSON';
ALTER TABLE `event_type` MODIFY `event_type_name` varchar(255) CHARACTER SET utf8 COLLATE utf8_bin NOT NULL;
