//! The kv layer behaves the same on memory (SQLite run) and Redis (PostgreSQL run).

use std::time::Duration;

use dangke::config::RateSpec;

use crate::helpers::spawn;

#[tokio::test]
async fn get_set_ttl_counters_and_locks() {
    let app = spawn().await;
    let kv = &app.app_state.kv;
    assert_eq!(kv.get("a").await.unwrap(), None);
    kv.set("a", "1", None).await.unwrap();
    kv.set("b", "2", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(kv.get("a").await.unwrap().as_deref(), Some("1"));
    assert_eq!(
        kv.get_many(&["a".into(), "zz".into(), "b".into()])
            .await
            .unwrap(),
        vec![Some("1".into()), None, Some("2".into())]
    );
    kv.del("a").await.unwrap();
    assert_eq!(kv.get("a").await.unwrap(), None);

    assert_eq!(kv.incr("n", 2, Duration::from_secs(60)).await.unwrap(), 2);
    assert_eq!(kv.incr("n", 3, Duration::from_secs(60)).await.unwrap(), 5);

    assert!(
        kv.set_nx("lock", "me", Duration::from_secs(30))
            .await
            .unwrap()
    );
    assert!(
        !kv.set_nx("lock", "you", Duration::from_secs(30))
            .await
            .unwrap()
    );
    assert!(
        !kv.del_if("lock", "you").await.unwrap(),
        "only the owner releases"
    );
    assert!(kv.del_if("lock", "me").await.unwrap());
    assert!(
        kv.set_nx("lock", "you", Duration::from_secs(30))
            .await
            .unwrap()
    );

    // Real expiry (memory uses the app clock, Redis its own): a 50 ms key goes away.
    kv.set("short", "x", Some(Duration::from_millis(50)))
        .await
        .unwrap();
    app.clock.advance(chrono::Duration::milliseconds(60));
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(kv.get("short").await.unwrap(), None);
}

#[tokio::test]
async fn rate_limit_follows_the_app_clock() {
    let app = spawn().await;
    let kv = &app.app_state.kv;
    let spec = RateSpec {
        limit: 2,
        period: Duration::from_secs(10),
    };
    assert!(kv.rate_limit("k", spec).await.unwrap().allowed);
    let d = kv.rate_limit("k", spec).await.unwrap();
    assert!(d.allowed);
    assert_eq!(d.remaining, 0);
    let d = kv.rate_limit("k", spec).await.unwrap();
    assert!(!d.allowed);
    assert_eq!(d.retry_after, Duration::from_secs(5));
    app.clock.advance(chrono::Duration::seconds(5));
    assert!(kv.rate_limit("k", spec).await.unwrap().allowed);
    assert!(!kv.rate_limit("k", spec).await.unwrap().allowed);
}

#[tokio::test]
async fn publish_reaches_subscribers() {
    let app = spawn().await;
    let kv = &app.app_state.kv;
    let mut a = kv.subscribe("events").await.unwrap();
    let mut b = kv.subscribe("events").await.unwrap();
    // Redis subscriptions are confirmed asynchronously: publish until the first arrives.
    let mut got = None;
    for _ in 0..50 {
        kv.publish("events", "hello").await.unwrap();
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), a.recv()).await {
            got = Some(m);
            break;
        }
    }
    assert_eq!(got.as_deref(), Some("hello"));
    let m = tokio::time::timeout(Duration::from_secs(2), b.recv())
        .await
        .unwrap();
    assert_eq!(m.as_deref(), Some("hello"));
    kv.publish("other", "nope").await.unwrap();
}
