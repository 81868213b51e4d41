-- The Event Handler's delivery queue (not in the Java schema; the Java systems ignore it). An
-- accepted event is one row per matching subscription, written in the transaction that accepts
-- it, and deleted once the subscriber has taken it, so a killed instance loses nothing: a
-- restarted one, or another instance of the cloud, finishes the work. Rows go with their
-- subscription or subscriber system (cascade).
CREATE TABLE IF NOT EXISTS `event_delivery` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `subscriber_id` bigint(20) NOT NULL,
  `subscription_id` bigint(20) NOT NULL,
  `body` mediumblob NOT NULL,
  `size` int(11) NOT NULL,
  `attempts` int(11) NOT NULL DEFAULT 0,
  `next_attempt_at` datetime(3) NOT NULL,
  `created_at` datetime(3) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `event_delivery_queue` (`subscriber_id`, `id`, `size`),
  CONSTRAINT `event_delivery_subscription` FOREIGN KEY (`subscription_id`) REFERENCES `subscription` (`id`) ON DELETE CASCADE,
  CONSTRAINT `event_delivery_subscriber` FOREIGN KEY (`subscriber_id`) REFERENCES `system_` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Which instance delivers to a subscriber now: one at a time, so that a subscriber receives its
-- events in order. A lease not renewed by `expires_at` (its holder died) may be taken over.
CREATE TABLE IF NOT EXISTS `event_delivery_lease` (
  `subscriber_id` bigint(20) NOT NULL,
  `owner` varchar(255) NOT NULL,
  `expires_at` datetime(3) NOT NULL,
  PRIMARY KEY (`subscriber_id`),
  CONSTRAINT `event_delivery_lease_subscriber` FOREIGN KEY (`subscriber_id`) REFERENCES `system_` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Events given up per subscriber (queue full: dropped; refused or too old: failed), kept after
-- the subscriber is deleted, for management.
CREATE TABLE IF NOT EXISTS `event_delivery_loss` (
  `subscriber_id` bigint(20) NOT NULL,
  `system_name` varchar(255) NOT NULL,
  `dropped` bigint(20) NOT NULL DEFAULT 0,
  `failed` bigint(20) NOT NULL DEFAULT 0,
  `last_reason` varchar(1024) NOT NULL DEFAULT '',
  `updated_at` datetime(3) NOT NULL,
  PRIMARY KEY (`subscriber_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
