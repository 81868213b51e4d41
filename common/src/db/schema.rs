//! Diesel table definitions for the Java schema (see `migrations/`). Only the tables a Rust
//! system reads or writes are declared; the rest are created by the migration for the Java
//! systems and later issues.

diesel::table! {
    cloud (id) {
        id -> BigInt,
        operator -> Varchar,
        name -> Varchar,
        secure -> Integer,
        neighbor -> Integer,
        own_cloud -> Integer,
        authentication_info -> Nullable<Varchar>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    system_ (id) {
        id -> BigInt,
        system_name -> Varchar,
        address -> Varchar,
        address_type -> Nullable<Varchar>,
        port -> Integer,
        authentication_info -> Nullable<Varchar>,
        metadata -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    service_definition (id) {
        id -> BigInt,
        #[sql_name = "service_definition"]
        definition -> Varchar,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    service_interface (id) {
        id -> BigInt,
        interface_name -> Varchar,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    service_registry (id) {
        id -> BigInt,
        service_id -> BigInt,
        system_id -> BigInt,
        service_uri -> Varchar,
        end_of_validity -> Nullable<Timestamp>,
        secure -> Varchar,
        metadata -> Nullable<Text>,
        version -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    service_registry_interface_connection (id) {
        id -> BigInt,
        service_registry_id -> BigInt,
        interface_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    logs (log_id) {
        log_id -> Varchar,
        entry_date -> Nullable<Timestamp>,
        logger -> Nullable<Varchar>,
        log_level -> Nullable<Varchar>,
        system_name -> Nullable<Varchar>,
        message -> Nullable<Text>,
        exception -> Nullable<Text>,
    }
}

diesel::table! {
    authorization_intra_cloud (id) {
        id -> BigInt,
        consumer_system_id -> BigInt,
        provider_system_id -> BigInt,
        service_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    authorization_intra_cloud_interface_connection (id) {
        id -> BigInt,
        authorization_intra_cloud_id -> BigInt,
        interface_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    authorization_inter_cloud (id) {
        id -> BigInt,
        consumer_cloud_id -> BigInt,
        provider_system_id -> BigInt,
        service_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    authorization_inter_cloud_interface_connection (id) {
        id -> BigInt,
        authorization_inter_cloud_id -> BigInt,
        interface_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    foreign_system (id) {
        id -> BigInt,
        provider_cloud_id -> BigInt,
        system_name -> Varchar,
        address -> Varchar,
        port -> Integer,
        authentication_info -> Nullable<Varchar>,
        metadata -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// `provider_system_id` has no foreign key: it is a `system_` id when `foreign_` is 0 and a
    /// `foreign_system` id when it is 1.
    orchestrator_store (id) {
        id -> BigInt,
        consumer_system_id -> BigInt,
        provider_system_id -> BigInt,
        #[sql_name = "foreign_"]
        foreign -> Integer,
        service_id -> BigInt,
        service_interface_id -> BigInt,
        priority -> Integer,
        attribute -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    event_type (id) {
        id -> BigInt,
        event_type_name -> Varchar,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    subscription (id) {
        id -> BigInt,
        system_id -> BigInt,
        event_type_id -> BigInt,
        filter_meta_data -> Nullable<Text>,
        match_meta_data -> Integer,
        only_predefined_publishers -> Integer,
        notify_uri -> Text,
        start_date -> Nullable<Timestamp>,
        end_date -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    subscription_publisher_connection (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        system_id -> BigInt,
        authorized -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(subscription -> event_type (event_type_id));
diesel::table! {
    ca_certificate (id) {
        id -> BigInt,
        common_name -> Varchar,
        serial -> BigInt,
        created_by -> Varchar,
        valid_after -> Timestamp,
        valid_before -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ca_trusted_key (id) {
        id -> BigInt,
        public_key -> Text,
        hash -> Varchar,
        description -> Varchar,
        valid_after -> Timestamp,
        valid_before -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    device (id) {
        id -> BigInt,
        device_name -> Varchar,
        address -> Varchar,
        mac_address -> Varchar,
        authentication_info -> Nullable<Varchar>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    device_registry (id) {
        id -> BigInt,
        device_id -> BigInt,
        end_of_validity -> Nullable<Timestamp>,
        metadata -> Nullable<Text>,
        version -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    system_registry (id) {
        id -> BigInt,
        system_id -> BigInt,
        device_id -> BigInt,
        end_of_validity -> Nullable<Timestamp>,
        metadata -> Nullable<Text>,
        version -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    relay (id) {
        id -> BigInt,
        address -> Varchar,
        port -> Integer,
        authentication_info -> Nullable<Varchar>,
        secure -> Integer,
        exclusive -> Integer,
        #[sql_name = "type"]
        relay_type -> Varchar,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cloud_gatekeeper_relay (id) {
        id -> BigInt,
        cloud_id -> BigInt,
        relay_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cloud_gateway_relay (id) {
        id -> BigInt,
        cloud_id -> BigInt,
        relay_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(cloud_gatekeeper_relay -> relay (relay_id));
diesel::joinable!(cloud_gatekeeper_relay -> cloud (cloud_id));

diesel::joinable!(system_registry -> system_ (system_id));
diesel::joinable!(system_registry -> device (device_id));
diesel::joinable!(subscription -> system_ (system_id));
diesel::joinable!(device_registry -> device (device_id));
diesel::joinable!(subscription_publisher_connection -> subscription (subscription_id));
diesel::joinable!(foreign_system -> cloud (provider_cloud_id));
diesel::joinable!(orchestrator_store -> service_definition (service_id));
diesel::joinable!(orchestrator_store -> service_interface (service_interface_id));
diesel::joinable!(service_registry -> system_ (system_id));
diesel::joinable!(service_registry -> service_definition (service_id));
diesel::joinable!(service_registry_interface_connection -> service_registry (service_registry_id));
diesel::joinable!(service_registry_interface_connection -> service_interface (interface_id));
diesel::joinable!(authorization_intra_cloud -> service_definition (service_id));
diesel::joinable!(authorization_inter_cloud -> cloud (consumer_cloud_id));
diesel::joinable!(authorization_inter_cloud_interface_connection -> authorization_inter_cloud (authorization_inter_cloud_id));
diesel::joinable!(authorization_inter_cloud_interface_connection -> service_interface (interface_id));
diesel::joinable!(authorization_intra_cloud_interface_connection -> authorization_intra_cloud (authorization_intra_cloud_id));
diesel::joinable!(authorization_intra_cloud_interface_connection -> service_interface (interface_id));

diesel::allow_tables_to_appear_in_same_query!(
    cloud,
    system_,
    service_definition,
    service_interface,
    service_registry,
    service_registry_interface_connection,
    logs,
    authorization_intra_cloud,
    authorization_intra_cloud_interface_connection,
    authorization_inter_cloud,
    authorization_inter_cloud_interface_connection,
    foreign_system,
    orchestrator_store,
    event_type,
    subscription,
    subscription_publisher_connection,
    ca_certificate,
    ca_trusted_key,
    device,
    device_registry,
    system_registry,
    relay,
    cloud_gatekeeper_relay,
    cloud_gateway_relay,
);
