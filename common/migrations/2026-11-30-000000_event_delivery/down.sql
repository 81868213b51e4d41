DROP TABLE IF EXISTS `event_delivery_loss`;
DROP TABLE IF EXISTS `event_delivery_lease`;
DROP TABLE IF EXISTS `event_delivery`;
