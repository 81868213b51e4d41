DROP TABLE IF EXISTS `system_registry`;
DROP TABLE IF EXISTS `device_registry`;
DROP TABLE IF EXISTS `device`;
