DROP TABLE IF EXISTS `ca_trusted_key`;
DROP TABLE IF EXISTS `ca_certificate`;
