//! The RabbitMQ, MQTT and NATS connectors against this machine's brokers: a connection test,
//! a publish received by a subscriber of our own, refusals, and the network policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use datasources::Error;
use datasources::connector::{self, ConnectorEnv, QueryOutput};
use datasources::options::{self, OpenOptions};
use datasources::types::DatasourceType;
use futures_util::StreamExt;
use serde_json::{Value, json};
use support::object;
use uuid::Uuid;

fn opened(t: DatasourceType, sent: Value) -> OpenOptions {
    options::prepare(t, &sent, None).unwrap()
}

async fn publish(options: &OpenOptions, query: Value, inputs: Value) -> Result<Value, Error> {
    let checked = datasources::query::check_options(options.datasource_type, &query)?;
    let resolved = datasources::inputs::resolve(&checked.inputs, &object(inputs))?;
    let env = ConnectorEnv::default();
    match connector::connect(options, &env)
        .await?
        .run(&checked.options, &resolved)
        .await?
    {
        QueryOutput::Document(document) => Ok(document),
        QueryOutput::Sql(rows) => panic!("{rows:?}"),
    }
}

async fn refused(options: &OpenOptions) -> Error {
    match connector::connect(options, &ConnectorEnv::default()).await {
        Err(error) => error,
        Ok(live) => live.test().await.unwrap_err(),
    }
}

#[tokio::test]
async fn nats_publishes_with_headers() {
    if test_support::services::service("NATS", "127.0.0.1:4222").is_none() {
        return;
    }
    let options = opened(
        DatasourceType::Nats,
        json!({"host": "127.0.0.1", "port": 4222}),
    );
    connector::connect(&options, &ConnectorEnv::default())
        .await
        .unwrap()
        .test()
        .await
        .unwrap();
    let subject = format!("jet.test.{}", Uuid::now_v7().simple());
    let listener = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
    let mut inbox = listener.subscribe(subject.clone()).await.unwrap();
    listener.flush().await.unwrap();
    let answer = publish(
        &options,
        json!({"subject": subject, "payload": {"n": "{{inputs.n}}"},
            "headers": [{"key": "x-run", "value": "r{{inputs.n}}"}],
            "inputDefinitions": [{"key": "n", "type": "integer"}]}),
        json!({"n": 3}),
    )
    .await
    .unwrap();
    assert_eq!(answer["published"], true);
    let message = tokio::time::timeout(Duration::from_secs(5), inbox.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&message.payload[..], br#"{"n":3}"#);
    assert_eq!(
        message.headers.unwrap().get("x-run").unwrap().as_str(),
        "r3"
    );
    let wildcard = publish(&options, json!({"subject": "a.*"}), json!({}))
        .await
        .unwrap_err();
    assert!(matches!(wildcard, Error::Invalid { .. }), "{wildcard:?}");
    let closed = opened(
        DatasourceType::Nats,
        json!({"host": "127.0.0.1", "port": 1}),
    );
    assert!(matches!(
        refused(&closed).await,
        Error::Connection(_) | Error::Timeout(_)
    ));
    let metadata = opened(DatasourceType::Nats, json!({"host": "169.254.169.254"}));
    assert!(matches!(refused(&metadata).await, Error::NetworkDenied(_)));
}

#[tokio::test]
async fn mqtt_publishes_with_each_qos() {
    if test_support::services::service("Mosquitto", "127.0.0.1:1883").is_none() {
        return;
    }
    let options = opened(
        DatasourceType::Mqtt,
        json!({"host": "127.0.0.1", "port": 1883}),
    );
    connector::connect(&options, &ConnectorEnv::default())
        .await
        .unwrap()
        .test()
        .await
        .unwrap();
    let topic = format!("jet/test/{}", Uuid::now_v7().simple());
    let mut watcher =
        rumqttc::MqttOptions::new(format!("w{}", Uuid::now_v7().simple()), "127.0.0.1", 1883);
    watcher.set_keep_alive(Duration::from_secs(10));
    let (client, mut events) = rumqttc::AsyncClient::new(watcher, 10);
    client
        .subscribe(topic.clone(), rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            if let rumqttc::Event::Incoming(rumqttc::Incoming::SubAck(_)) = event {
                let _ = sender.send(None);
            }
            if let rumqttc::Event::Incoming(rumqttc::Incoming::Publish(p)) = event {
                let _ = sender.send(Some(p.payload.to_vec()));
            }
        }
    });
    assert_eq!(received.recv().await.unwrap(), None, "subscribed");
    for qos in [0, 1, 2] {
        let answer = publish(
            &options,
            json!({"topic": topic, "payload": "q{{inputs.q}}", "qos": qos,
                "inputDefinitions": [{"key": "q", "type": "integer"}]}),
            json!({"q": qos}),
        )
        .await
        .unwrap();
        assert_eq!(answer["qos"], qos);
        let got = tokio::time::timeout(Duration::from_secs(5), received.recv())
            .await
            .unwrap();
        assert_eq!(got.unwrap().unwrap(), format!("q{qos}").into_bytes());
    }
    let wildcard = publish(&options, json!({"topic": "a/#"}), json!({}))
        .await
        .unwrap_err();
    assert!(matches!(wildcard, Error::Invalid { .. }), "{wildcard:?}");
    let closed = opened(
        DatasourceType::Mqtt,
        json!({"host": "127.0.0.1", "port": 1}),
    );
    assert!(matches!(
        refused(&closed).await,
        Error::Connection(_) | Error::Timeout(_)
    ));
}

#[tokio::test]
async fn rabbitmq_publishes_confirmed_messages() {
    if test_support::services::service("RabbitMQ", "127.0.0.1:5672").is_none() {
        return;
    }
    let options = opened(
        DatasourceType::Rabbitmq,
        json!({"host": "127.0.0.1", "port": 5672, "username": "guest", "password": "guest"}),
    );
    connector::connect(&options, &ConnectorEnv::default())
        .await
        .unwrap()
        .test()
        .await
        .unwrap();
    let queue = format!("jet-test-{}", Uuid::now_v7().simple());
    let conn = lapin::Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        lapin::ConnectionProperties::default(),
    )
    .await
    .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let declare = lapin::options::QueueDeclareOptions {
        auto_delete: true,
        ..Default::default()
    };
    channel
        .queue_declare(
            queue.as_str().into(),
            declare,
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap();
    let answer = publish(
        &options,
        json!({"exchange": "", "routingKey": queue, "body": {"id": "{{inputs.id}}"},
            "inputDefinitions": [{"key": "id"}]}),
        json!({"id": "'; DROP"}),
    )
    .await
    .unwrap();
    assert_eq!(answer["published"], true);
    let got = channel
        .basic_get(
            queue.as_str().into(),
            lapin::options::BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
        .expect("the message is in the queue");
    assert_eq!(got.delivery.data, br#"{"id":"'; DROP"}"#.to_vec());
    let canary = "canary-amqp-Pa55";
    let wrong = opened(
        DatasourceType::Rabbitmq,
        json!({"host": "127.0.0.1", "port": 5672, "username": "guest", "password": canary}),
    );
    let error = refused(&wrong).await;
    assert!(matches!(error, Error::Connection(_)), "{error:?}");
    assert!(!error.to_string().contains(canary), "{error}");
    let metadata = opened(DatasourceType::Rabbitmq, json!({"host": "169.254.169.254"}));
    assert!(matches!(refused(&metadata).await, Error::NetworkDenied(_)));
}
