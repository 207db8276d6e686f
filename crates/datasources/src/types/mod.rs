//! The datasource types: their API names, the connector family that serves each, the fields of
//! their options (secret ones marked), and the JSON Schemas of options and queries that
//! `GET /{tenantID}/datasources/types` publishes.
//!
//! PostgreSQL-wire services (`cockroachdb`, `supabase`, `neon`) and `mariadb` are aliases: their
//! own name in the API, their family's options and connector.

mod fields;
mod queries;

pub use fields::{Field, FieldKind};

use serde_json::{Map, Value, json};

/// The Redis commands a query may run. Arguments are bound: each is its own bulk string.
pub const REDIS_COMMANDS: &[&str] = &[
    "GET",
    "SET",
    "DEL",
    "EXISTS",
    "EXPIRE",
    "TTL",
    "MGET",
    "INCR",
    "DECR",
    "HGET",
    "HSET",
    "HDEL",
    "HGETALL",
    "LPUSH",
    "RPUSH",
    "LPOP",
    "RPOP",
    "LRANGE",
    "LLEN",
    "SADD",
    "SREM",
    "SMEMBERS",
    "SISMEMBER",
    "ZADD",
    "ZRANGE",
    "PUBLISH",
    "XADD",
    "XRANGE",
    "XLEN",
];

/// A datasource type, as named in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasourceType {
    /// PostgreSQL.
    Postgresql,
    /// CockroachDB (PostgreSQL wire).
    Cockroachdb,
    /// Supabase (PostgreSQL wire).
    Supabase,
    /// Neon (PostgreSQL wire).
    Neon,
    /// MySQL.
    Mysql,
    /// MariaDB (MySQL wire).
    Mariadb,
    /// A SQLite file under the operator's datasource directory.
    Sqlite,
    /// A REST API.
    Restapi,
    /// A GraphQL endpoint.
    Graphql,
    /// Redis.
    Redis,
    /// RabbitMQ (AMQP 0-9-1).
    Rabbitmq,
    /// An MQTT broker.
    Mqtt,
    /// NATS.
    Nats,
}

/// The connector that serves a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// PostgreSQL wire.
    Postgres,
    /// MySQL wire.
    Mysql,
    /// SQLite file.
    Sqlite,
    /// HTTP with a REST query shape.
    Rest,
    /// HTTP with a GraphQL query shape.
    Graphql,
    /// Redis.
    Redis,
    /// AMQP 0-9-1.
    Amqp,
    /// MQTT.
    Mqtt,
    /// NATS.
    Nats,
}

impl DatasourceType {
    /// Every type, in the order the API lists them.
    pub const ALL: [DatasourceType; 13] = [
        DatasourceType::Postgresql,
        DatasourceType::Cockroachdb,
        DatasourceType::Supabase,
        DatasourceType::Neon,
        DatasourceType::Mysql,
        DatasourceType::Mariadb,
        DatasourceType::Sqlite,
        DatasourceType::Restapi,
        DatasourceType::Graphql,
        DatasourceType::Redis,
        DatasourceType::Rabbitmq,
        DatasourceType::Mqtt,
        DatasourceType::Nats,
    ];

    /// The API name (`postgresql`).
    pub fn as_str(self) -> &'static str {
        match self {
            DatasourceType::Postgresql => "postgresql",
            DatasourceType::Cockroachdb => "cockroachdb",
            DatasourceType::Supabase => "supabase",
            DatasourceType::Neon => "neon",
            DatasourceType::Mysql => "mysql",
            DatasourceType::Mariadb => "mariadb",
            DatasourceType::Sqlite => "sqlite",
            DatasourceType::Restapi => "restapi",
            DatasourceType::Graphql => "graphql",
            DatasourceType::Redis => "redis",
            DatasourceType::Rabbitmq => "rabbitmq",
            DatasourceType::Mqtt => "mqtt",
            DatasourceType::Nats => "nats",
        }
    }

    /// A display name.
    pub fn title(self) -> &'static str {
        match self {
            DatasourceType::Postgresql => "PostgreSQL",
            DatasourceType::Cockroachdb => "CockroachDB",
            DatasourceType::Supabase => "Supabase",
            DatasourceType::Neon => "Neon",
            DatasourceType::Mysql => "MySQL",
            DatasourceType::Mariadb => "MariaDB",
            DatasourceType::Sqlite => "SQLite",
            DatasourceType::Restapi => "REST API",
            DatasourceType::Graphql => "GraphQL",
            DatasourceType::Redis => "Redis",
            DatasourceType::Rabbitmq => "RabbitMQ",
            DatasourceType::Mqtt => "MQTT",
            DatasourceType::Nats => "NATS",
        }
    }

    /// Parses the API name; the error lists the accepted names.
    pub fn parse(text: &str) -> Result<Self, crate::Error> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|t| t.as_str()).collect();
                crate::Error::invalid(
                    "datasourceType",
                    format!("unknown type; one of {}", names.join(", ")),
                )
            })
    }

    /// The connector family.
    pub fn family(self) -> Family {
        match self {
            DatasourceType::Postgresql
            | DatasourceType::Cockroachdb
            | DatasourceType::Supabase
            | DatasourceType::Neon => Family::Postgres,
            DatasourceType::Mysql | DatasourceType::Mariadb => Family::Mysql,
            DatasourceType::Sqlite => Family::Sqlite,
            DatasourceType::Restapi => Family::Rest,
            DatasourceType::Graphql => Family::Graphql,
            DatasourceType::Redis => Family::Redis,
            DatasourceType::Rabbitmq => Family::Amqp,
            DatasourceType::Mqtt => Family::Mqtt,
            DatasourceType::Nats => Family::Nats,
        }
    }

    /// The fields of this type's options.
    pub fn fields(self) -> &'static [Field] {
        fields::of(self.family())
    }

    /// Whether `name` is a secret field of this type.
    pub fn is_secret(self, name: &str) -> bool {
        self.fields().iter().any(|f| f.name == name && f.secret)
    }

    /// The JSON Schema of this type's options; secret fields carry `"x-secret": true` and
    /// `"writeOnly": true`.
    pub fn options_schema(self) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in self.fields() {
            properties.insert(field.name.to_string(), field.schema());
            if field.required {
                required.push(Value::from(field.name));
            }
        }
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": properties,
            "required": required,
        })
    }

    /// The JSON Schema of this type's query options.
    pub fn query_schema(self) -> Value {
        queries::schema(self.family())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for t in DatasourceType::ALL {
            assert_eq!(DatasourceType::parse(t.as_str()).unwrap(), t);
        }
        let error = DatasourceType::parse("oracle").unwrap_err().to_string();
        assert!(
            error.contains("postgresql") && error.contains("nats"),
            "{error}"
        );
    }

    #[test]
    fn every_password_field_is_secret_and_marked_in_the_schema() {
        for t in DatasourceType::ALL {
            for field in t.fields() {
                let looks_secret =
                    ["password", "token", "connectionString", "apiKeyValue"].contains(&field.name);
                assert_eq!(
                    field.secret,
                    looks_secret || field.name == "secretHeaders",
                    "{}.{}",
                    t.as_str(),
                    field.name
                );
            }
            let schema = t.options_schema();
            for (name, property) in schema["properties"].as_object().unwrap() {
                assert_eq!(property.get("x-secret").is_some(), t.is_secret(name));
            }
        }
    }
}
