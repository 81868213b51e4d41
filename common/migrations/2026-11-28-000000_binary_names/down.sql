ALTER TABLE `system_` MODIFY `system_name` varchar(255) CHARACTER SET utf8 COLLATE utf8_general_ci NOT NULL;
ALTER TABLE `service_definition` MODIFY `service_definition` varchar(255) CHARACTER SET utf8 COLLATE utf8_general_ci NOT NULL;
ALTER TABLE `service_interface` MODIFY `interface_name` varchar(255) CHARACTER SET utf8 COLLATE utf8_general_ci NOT NULL DEFAULT 'HTTP-INSECURE-JSON';
ALTER TABLE `event_type` MODIFY `event_type_name` varchar(255) CHARACTER SET utf8 COLLATE utf8_general_ci NOT NULL;
