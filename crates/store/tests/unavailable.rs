//! A database that goes away yields `StoreError::Unavailable` (the server answers 503), and
//! the pool recovers by itself when it comes back. PostgreSQL is reached through a TCP relay
//! that the test cuts and restores; SQLite is an embedded file with no network to lose.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use probity_store::{Store, StoreError};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Relays `listen` to the PostgreSQL server until dropped; dropping cuts every connection.
struct Relay {
    tasks: JoinSet<()>,
}

async fn relay(listen: SocketAddr, target: (String, u16)) -> Relay {
    let listener = TcpListener::bind(listen).await.expect("bind relay");
    let mut tasks = JoinSet::new();
    tasks.spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                break;
            };
            let target = target.clone();
            conns.spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect((target.0.as_str(), target.1)).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Relay { tasks }
}

impl Relay {
    async fn cut(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_unreachable_is_unavailable_and_recovers_postgres() {
    let (url, schema) = common::fresh_schema().await;
    let (host, port) = common::pg_host_port();
    // A free local port for the relay.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let relayed = url.replacen(&format!("{host}:{port}"), &addr.to_string(), 1);
    assert_ne!(relayed, url, "test URL must name host:port explicitly");

    let r = relay(addr, (host.clone(), port)).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut config = common::config(dir.path(), Some(relayed));
    config.acquire_timeout = Duration::from_secs(2);
    let store = Store::open(config).await.expect("open through relay");
    store.ping().await.expect("reachable");

    r.cut().await;
    let err = store.ping().await.expect_err("database gone");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.is_unavailable());
    let err = store.begin().await.expect_err("database gone");
    assert!(err.is_unavailable(), "{err:?}");

    let r = relay(addr, (host, port)).await;
    let mut ok = false;
    for _ in 0..20 {
        if store.ping().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ok, "the pool reconnects once the database is back");
    let mut tx = store.begin().await.expect("begin after recovery");
    probity_store::audit::head(&mut tx)
        .await
        .expect("query after recovery");
    tx.commit().await.expect("commit");
    store.close().await;
    r.cut().await;

    let base = common::pg_base_url();
    if let Ok(pool) = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
    {
        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&pool)
            .await;
        pool.close().await;
    }
}

#[tokio::test]
async fn unsupported_database_url_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("dir");
    let err = Store::open(common::config(
        dir.path(),
        Some("mysql://db/probity".into()),
    ))
    .await
    .expect_err("refused");
    assert!(matches!(err, StoreError::Config(_)), "{err}");
}
