//! The statistics digest organizers get in their group chat, previewed over HTTP: the
//! month just ended and the year so far, as WeCom and DingTalk markdown and as JSON.

use serde_json::json;

use crate::activities::sh;
use crate::stats::the_day;

#[tokio::test]
async fn the_township_digest_of_the_month_just_ended() {
    let d = the_day().await;
    let w = &d.w;
    // Early December: the digest reports November.
    d.app.clock.set(sh(2026, 12, 2, 9, 0));
    let r = w
        .admin
        .get(&format!("/v1/orgs/{}/digest", w.township))
        .await;
    r.expect(200);
    let v = r.json();
    let report = &v["report"];
    assert_eq!(report["period"]["label"], "2026-11", "{v}");
    assert_eq!(report["org_name"], "城关镇党委");
    assert_eq!(report["members"], 8);
    assert_eq!(report["credit"]["earned_centi"], 400, "{report}");
    // By December everyone below the even pace is behind, listed or counted.
    let behind: Vec<&str> = report["behind_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        behind.len() as i64 + report["behind_more"].as_i64().unwrap(),
        report["credit"]["behind"].as_i64().unwrap()
    );
    assert!(behind.contains(&"孙二"), "{behind:?}");
    // Lowest credit first.
    let credits: Vec<i64> = report["behind_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["credit_centi"].as_i64().unwrap())
        .collect();
    assert!(credits.windows(2).all(|p| p[0] <= p[1]), "{credits:?}");
    // The theme party day of branch B.
    assert_eq!(
        report["attendance"][0]["kind"], "theme_party_day",
        "{report}"
    );
    let wecom = v["wecom_markdown"].as_str().unwrap();
    assert!(wecom.len() <= 4096);
    assert_eq!(
        wecom.lines().next().unwrap(),
        "### 城关镇党委 · 2026-11 党建学习简报"
    );
    assert!(wecom.contains("主题党日 1 次"), "{wecom}");
    assert!(wecom.contains("<font color=\"warning\">落后"), "{wecom}");
    assert!(wecom.contains("- 孙二（西河村党支部）"), "{wecom}");
    let ding = &v["dingtalk_markdown"];
    assert_eq!(ding["title"], "城关镇党委 · 2026-11 党建学习简报");
    let text = ding["text"].as_str().unwrap();
    assert!(!text.contains("<font"), "DingTalk has no colours: {text}");
    assert!(text.contains("**落后"), "{text}");
    // The whole message, as a secretary reads it (blank lines between sections left out).
    let shown: Vec<&str> = wecom.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(shown.join("\n"), SNAPSHOT, "{wecom}");

    // Another period on request; a period that does not parse is a 400.
    let q = w
        .admin
        .get(&format!("/v1/orgs/{}/digest?period=2026", w.township))
        .await;
    q.expect(200);
    assert_eq!(q.json()["report"]["period"]["label"], "2026");
    w.admin
        .get(&format!("/v1/orgs/{}/digest?period=november", w.township))
        .await
        .expect_problem(400, "invalid_query");
}

#[tokio::test]
async fn only_the_orgs_organizers_see_its_digest() {
    let d = the_day().await;
    let w = &d.w;
    // A member of the township sees no digest; a branch organizer not the township's.
    let r = w
        .member_a
        .get(&format!("/v1/orgs/{}/digest", w.township))
        .await;
    assert!(matches!(r.status.as_u16(), 403 | 404), "{}", r.status);
    let r = w
        .organizer_b
        .get(&format!("/v1/orgs/{}/digest", w.township))
        .await;
    assert!(matches!(r.status.as_u16(), 403 | 404), "{}", r.status);
    // Her own branch: yes.
    let own = w
        .organizer_b
        .get(&format!("/v1/orgs/{}/digest?period=2026-11", w.branch_b))
        .await;
    own.expect(200);
    assert_eq!(own.json()["report"]["org_id"], json!(w.branch_b));
}

/// The WeCom digest of the township on the day of `the_day`, reported in December.
const SNAPSHOT: &str = "### 城关镇党委 · 2026-11 党建学习简报
> 党员 8 人，本期活跃 4 人
> 2026 年学时：4.0 / 224.0 小时（1.8%）
> 已达标 1 人，进度正常 0 人，<font color=\"warning\">落后 7 人</font>
**本期组织生活**
- 主题党日 1 次：应到 4 人，出席 2 人（66.7%）
<font color=\"warning\">缺少的规定会议</font>
- 东山村党支部：主题党日 缺 1 次
- 东山村党支部：党小组会 缺 1 次
**学时落后的党员**
- 李书记（东山村党支部）：0.0 / 32.0 小时，应达 29.4
- 张委员（东山村党支部）：0.0 / 32.0 小时，应达 29.4
- 钱预备（东山村党支部）：0.0 / 32.0 小时，应达 29.4
- 孙二（西河村党支部）：0.0 / 32.0 小时，应达 29.4
- 王党员（西河村党支部）：1.0 / 32.0 小时，应达 29.4
- 赵组织员（西河村党支部）：1.0 / 32.0 小时，应达 29.4
- 孙一（西河村党支部）：1.5 / 32.0 小时，应达 29.4
**下级组织学时**
- 西河村党支部：4.0 / 128.0 小时（3.1%），落后 4 人
- 东山村党支部：0.0 / 96.0 小时（0.0%），落后 3 人";
