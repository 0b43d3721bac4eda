//! A [`Report`] as the messages group robots take: WeCom markdown (at most 4,096 bytes) and
//! DingTalk markdown (title and text, held to the same 4,096 bytes). Too long a message is
//! cut after a whole line, never inside a UTF-8 character, and ends with "……等 N 行未显示"
//! (N lines not shown); a single line longer than the limit is cut on a character boundary.

use super::export::kind_zh;
use serde::Serialize;
use utoipa::ToSchema;

use super::report::Report;

/// The most bytes of a WeCom robot markdown message.
pub const WECOM_MARKDOWN_BYTES: usize = 4096;
/// The most bytes of the DingTalk markdown text we send (DingTalk documents no lower limit).
pub const DINGTALK_MARKDOWN_BYTES: usize = 4096;

/// Which robot a message is for: the markdown dialects differ (WeCom colours text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    WeCom,
    DingTalk,
}

/// Hundredths of a credit hour as hours, one decimal.
fn hours(centi: i64) -> String {
    format!("{:.1}", centi as f64 / 100.0)
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// The title of the report, e.g. "城关镇党委 · 2026-11 党建学习简报".
pub fn title(r: &Report) -> String {
    format!("{} · {} 党建学习简报", r.org_name, r.period.label)
}

fn lines(r: &Report, dialect: Dialect) -> Vec<String> {
    let warn = |s: String| match dialect {
        Dialect::WeCom => format!("<font color=\"warning\">{s}</font>"),
        Dialect::DingTalk => format!("**{s}**"),
    };
    let c = &r.credit;
    let mut out = vec![
        format!("### {}", title(r)),
        format!("> 党员 {} 人，本期活跃 {} 人", r.members, r.active),
        format!(
            "> {} 年学时：{} / {} 小时（{}）",
            c.year,
            hours(c.earned_centi),
            hours(c.quota_centi),
            percent((c.quota_centi > 0).then(|| c.earned_centi as f64 / c.quota_centi as f64))
        ),
        format!(
            "> 已达标 {} 人，进度正常 {} 人，{}",
            c.met,
            c.on_track,
            if c.behind > 0 {
                warn(format!("落后 {} 人", c.behind))
            } else {
                "无人落后".to_string()
            }
        ),
    ];
    if !r.attendance.is_empty() {
        out.push(String::new());
        out.push("**本期组织生活**".into());
        for a in &r.attendance {
            out.push(format!(
                "- {} {} 次：应到 {} 人，出席 {} 人（{}）",
                kind_zh(&a.kind),
                a.occurrences,
                a.invited,
                a.attended(),
                percent(a.rate)
            ));
        }
    }
    if !r.missing_meetings.is_empty() {
        out.push(String::new());
        out.push(warn("缺少的规定会议".into()));
        for m in &r.missing_meetings {
            out.push(format!(
                "- {}：{} 缺 {} 次",
                m.org_name,
                kind_zh(&m.kind),
                m.missing
            ));
        }
        if r.missing_more > 0 {
            out.push(format!("- 另有 {} 次未列出", r.missing_more));
        }
    }
    if !r.behind_members.is_empty() {
        out.push(String::new());
        out.push("**学时落后的党员**".into());
        for m in &r.behind_members {
            out.push(format!(
                "- {}（{}）：{} / {} 小时，应达 {}",
                m.name,
                m.org_name,
                hours(m.credit_centi),
                hours(m.quota_centi),
                hours(m.expected_centi)
            ));
        }
        if r.behind_more > 0 {
            out.push(format!("- 等另外 {} 人", r.behind_more));
        }
    }
    let ranked = |o: &super::report::RankedOrg| {
        format!(
            "- {}：{} / {} 小时（{}），落后 {} 人",
            o.org_name,
            hours(o.earned_centi),
            hours(o.quota_centi),
            percent(o.rate),
            o.behind
        )
    };
    if !r.best.is_empty() {
        out.push(String::new());
        out.push(if r.worst.is_empty() {
            "**下级组织学时**".into()
        } else {
            "**学时最好的下级组织**".into()
        });
        out.extend(r.best.iter().map(ranked));
    }
    if !r.worst.is_empty() {
        out.push(String::new());
        out.push("**学时最差的下级组织**".into());
        out.extend(r.worst.iter().map(ranked));
    }
    out
}

/// The report as a WeCom robot markdown message (`markdown.content`).
pub fn wecom_markdown(r: &Report) -> String {
    fit(&lines(r, Dialect::WeCom), WECOM_MARKDOWN_BYTES)
}

/// The report as a DingTalk robot markdown message: `(title, text)`.
pub fn dingtalk_markdown(r: &Report) -> (String, String) {
    (
        title(r),
        fit(&lines(r, Dialect::DingTalk), DINGTALK_MARKDOWN_BYTES),
    )
}

/// The line that replaces `n` lines cut.
fn more(n: usize) -> String {
    format!("……等 {n} 行未显示")
}

/// `lines` joined by newlines in at most `limit` bytes: whole lines while they fit, then
/// [`more`] for the rest. A line too long on its own is cut on a character boundary.
pub fn fit(lines: &[String], limit: usize) -> String {
    let joined = lines.join("\n");
    if joined.len() <= limit {
        return joined;
    }
    let mut kept: Vec<&str> = Vec::new();
    let mut used = 0;
    for line in lines {
        let add = line.len() + usize::from(!kept.is_empty());
        if used + add > limit {
            break;
        }
        used += add;
        kept.push(line);
    }
    // Make room for the marker, giving back whole lines.
    loop {
        let marker = more(lines.len() - kept.len());
        let need = marker.len() + usize::from(!kept.is_empty());
        if used + need <= limit || kept.is_empty() {
            let mut out = kept.join("\n");
            if !out.is_empty() {
                out.push('\n');
            }
            if out.len() + marker.len() <= limit {
                out.push_str(&marker);
                return out;
            }
            // Not even the marker fits beside the first line: cut the first line instead.
            return cut(&lines.join("\n"), limit);
        }
        if let Some(last) = kept.pop() {
            used -= last.len() + usize::from(!kept.is_empty());
        }
    }
}

/// `s` cut to at most `limit` bytes on a character boundary.
fn cut(s: &str, limit: usize) -> String {
    let mut end = limit.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A DingTalk robot markdown message.
#[derive(Debug, Serialize, ToSchema)]
pub struct DingTalkMarkdown {
    pub title: String,
    pub text: String,
}

/// `GET /v1/orgs/{id}/digest`: the digest pushed to the org's organizers, as each robot
/// receives it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DigestPreview {
    /// The figures (what a webhook receives as JSON).
    pub report: Report,
    /// WeCom robot `markdown.content` (at most 4,096 bytes).
    pub wecom_markdown: String,
    /// DingTalk robot `markdown`.
    pub dingtalk_markdown: DingTalkMarkdown,
}

/// The report with its renderings.
pub fn preview(report: Report) -> DigestPreview {
    let (title, text) = dingtalk_markdown(&report);
    DigestPreview {
        wecom_markdown: wecom_markdown(&report),
        dingtalk_markdown: DingTalkMarkdown { title, text },
        report,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn what_fits_is_joined_whole() {
        assert_eq!(fit(&ls(&["甲", "乙"]), 100), "甲\n乙");
        assert_eq!(fit(&ls(&[]), 10), "");
    }

    #[test]
    fn too_long_keeps_whole_lines_and_counts_the_rest() {
        let lines: Vec<String> = (0..400).map(|i| format!("- 党员{i:03}：落后")).collect();
        let out = fit(&lines, 4096);
        assert!(out.len() <= 4096, "{}", out.len());
        let shown: Vec<&str> = out.lines().collect();
        let last = shown.last().unwrap();
        let n: usize = last
            .trim_start_matches("……等 ")
            .trim_end_matches(" 行未显示")
            .parse()
            .unwrap();
        assert_eq!(shown.len() - 1 + n, 400, "every line shown or counted");
        for (i, line) in shown[..shown.len() - 1].iter().enumerate() {
            assert_eq!(*line, lines[i], "whole lines, in order");
        }
    }

    #[test]
    fn every_limit_gives_valid_text_within_it() {
        let lines = ls(&["第一行很长很长很长很长", "第二行", "第三行也很长很长很长"]);
        for limit in 0..80 {
            let out = fit(&lines, limit);
            assert!(out.len() <= limit, "{limit}: {} bytes", out.len());
            // A `String`, so never inside a UTF-8 character; and nothing invented.
            assert!(
                lines.join("\n").starts_with(&out) || out.ends_with("行未显示"),
                "{limit}: {out}"
            );
        }
    }
}
