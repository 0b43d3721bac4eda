// The sample client's flow, run by scripts/test in Node against a live `dangke serve
// --demo` (started here, with the loopback WeChat): a member's WeChat login and bind, her
// courses, study recorded offline and synced on reconnect (and replayed without double
// credit), and a check-in with the code her secretary shows.
//
//   node dist/src/flow.js path/to/dangke

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Api, ApiError } from "./api.js";
import { StudyQueue } from "./queue.js";
import { loginWithWechat } from "./session.js";
import { WechatLoopback } from "./wechat-loopback.js";
import { NodeWx } from "./wx.js";

const MEMBER_PHONE = "17356227368"; // 李桂兰, 杏花村第一党小组 (README's demo table)
const SECRETARY_PHONE = "15562046549"; // 苏金凤, secretary of 杏花村党支部
const PASSWORD = "dangke-demo";

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A wall time in Shanghai, as the API's `start_local`. */
function shanghaiLocal(d: Date): string {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 19);
}

async function main(): Promise<void> {
  const bin = process.argv[2];
  if (!bin) throw new Error("usage: flow.js path/to/dangke");
  const wechat = await WechatLoopback.start();
  const dataDir = mkdtempSync(join(tmpdir(), "dangke-ts-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(bin, ["serve", "--demo"], {
    env: {
      ...process.env,
      DANGKE_DATA_DIR: dataDir,
      DANGKE_BIND: `127.0.0.1:${port}`,
      DANGKE_LOG: "error",
      DANGKE_WECHAT_APPID: "wx-sample",
      DANGKE_WECHAT_SECRET: "sample-secret",
      DANGKE_WECHAT_API_BASE: wechat.base,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    for (let i = 0; ; i++) {
      const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      if (i > 150) throw new Error("the server did not become ready");
      await new Promise((r) => setTimeout(r, 200));
    }

    // 1. The member opens the mini-program for the first time: login, then bind.
    let n = 0;
    const wx = new NodeWx(() => `js-${++n}`);
    wechat.logins.set("js-1", "openid-member");
    wechat.phones.set("ph-1", MEMBER_PHONE);
    const api = new Api(wx, base);
    const tokens = await loginWithWechat(api, wx, {
      phoneCode: async () => "ph-1",
      password: PASSWORD,
    });
    const me = await api.call("get", "/v1/me");
    check(me.phone === MEMBER_PHONE && me.wechat_bound, "WeChat login binds the member's account");
    check(tokens.user_id === me.id, "the tokens are hers");
    // The next launch logs in directly.
    wechat.logins.set("js-2", "openid-member");
    const again = await loginWithWechat(api, wx, { phoneCode: async () => "unused" });
    check(again.user_id === me.id, "the second launch logs in without binding");

    // 2. Her courses, and one she can play.
    const courses = await api.call("get", "/v1/me/courses", { query: { limit: 50 } });
    check(courses.items.length > 0, `she has ${courses.items.length} courses`);
    const kinds = new Set(courses.items.map((c) => c.kind));
    check([...kinds].every((k) => k === "online_class" || k === "mini_class"), "course kinds are the spec's values");
    let lesson: { id: number; duration: number } | undefined;
    for (const c of courses.items) {
      const detail = await api.call("get", "/v1/courses/{id}", { path: { id: c.course_id } });
      // The demo has a year of history: take one she has not finished yet.
      const playable = detail.lessons.find(
        (l) => (l.kind === "video" || l.kind === "audio") && (l.duration_s ?? 0) >= 3 && !l.my_state?.complete,
      );
      if (playable) {
        lesson = { id: playable.id, duration: playable.duration_s ?? 0 };
        break;
      }
    }
    if (!lesson) throw new Error("no playable lesson in her courses");
    const before = await api.call("get", "/v1/me/study");

    // 3. She studies in the fields: offline, the queue keeps every span.
    const queue = new StudyQueue(api, wx);
    wx.online = false;
    // Three consecutive spans covering the lesson, played in real time, ending a few
    // minutes ago (demo lessons last 10-45 minutes).
    const span = Math.floor(lesson.duration / 3);
    const start = Date.now() - (lesson.duration + 300) * 1000;
    for (let i = 0; i < 3; i++) {
      queue.add({
        lesson_id: lesson.id,
        kind: "play",
        from_s: i * span,
        to_s: i === 2 ? lesson.duration : (i + 1) * span,
        started_at: new Date(start + i * span * 1000).toISOString(),
        ended_at: new Date(start + (i === 2 ? lesson.duration : (i + 1) * span) * 1000).toISOString(),
      });
    }
    check((await queue.flush()) === null, "offline: the sync waits");
    check(queue.pending().length === 3, "offline: nothing is lost");
    const sent = queue.pending();
    // Back in the village: the queue drains.
    wx.online = true;
    const answers = await queue.flush();
    const results = (answers ?? []).flatMap((a) => a.results);
    check(results.length === 3 && results.every((r) => r.status === "accepted" && !r.replayed), "reconnected: every span is accepted");
    check(queue.pending().length === 0, "the queue is empty");
    const after = await api.call("get", "/v1/me/study");
    // The answer was lost on the way back: the phone sends the same batch again.
    const replay = await api.call("post", "/v1/progress/sync", { body: { events: sent } });
    check(replay.results.every((r) => r.replayed && r.status === "accepted"), "a replayed batch answers as before");
    const afterReplay = await api.call("get", "/v1/me/study");
    check(after.earned_centi > before.earned_centi, `the whole lesson earned credit (${before.earned_centi} -> ${after.earned_centi})`);
    check(afterReplay.earned_centi === after.earned_centi, "a replay credits nothing twice");

    // 4. Theme party day: the secretary opens check-in and shows the code; she checks in.
    const secretary = new Api(wx, base);
    const login = await secretary.call("post", "/v1/auth/login", {
      body: { phone: SECRETARY_PHONE, password: PASSWORD },
    });
    secretary.accessToken = login.access_token;
    const branch = (await secretary.call("get", "/v1/me")).roles.find((r) => r.role === "secretary");
    if (!branch) throw new Error("the secretary has no secretary role");
    const startsAt = new Date(Date.now() + 30 * 60_000);
    const activity = await secretary.call("post", "/v1/orgs/{id}/activities", {
      path: { id: branch.org_id },
      body: {
        kind: "theme_party_day",
        title: "主题党日：学习新修订的条例",
        start_local: shanghaiLocal(startsAt),
        end_local: shanghaiLocal(new Date(startsAt.getTime() + 2 * 3600_000)),
      },
    });
    const occurrence = activity.upcoming[0];
    if (!occurrence) throw new Error("no occurrence");
    await secretary.call("post", "/v1/occurrences/{id}/checkin/open", { path: { id: occurrence.id } });
    const shown = await secretary.call("get", "/v1/occurrences/{id}/checkin/code", { path: { id: occurrence.id } });
    try {
      await api.call("post", "/v1/occurrences/{id}/checkin", { path: { id: occurrence.id }, body: { code: "000000" === shown.code ? "111111" : "000000" } });
      throw new Error("a wrong code was accepted");
    } catch (e) {
      check(e instanceof ApiError && e.problem.code === "checkin_code_invalid", "a wrong code is refused with a stable code");
    }
    const checkedIn = await api.call("post", "/v1/occurrences/{id}/checkin", {
      path: { id: occurrence.id },
      body: { code: shown.code },
    });
    check(checkedIn.status === "present" && !checkedIn.already, "she checks in with the shown code");
    console.log("ts client flow: all checks passed");
  } finally {
    server.kill("SIGTERM");
    wechat.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
